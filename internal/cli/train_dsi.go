package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/irgen/irgen/internal/batch"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/dsi"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

func init() {
	register("train-dsi", "Train ViT-DSI (seed 002): index the gallery into a ViT encoder-decoder, then fine-tune it for retrieval; methods dsi, dsi-zeroshot", trainDSI)
}

type dsiFlags struct {
	dir                    string
	scheme, init           string
	branch, leaf           int
	dim, depth, heads, mlp int
	indexEpochs, retEpochs int
	batch                  int
	lr, encoderLRMult      float64
	warmup, smoothing      float64
	indexAugment, retAug   bool
	iaSample, beam         int
	seed                   int64
}

func trainDSI(ctx context.Context, args []string) error {
	var f dsiFlags
	fs := newFlags("train-dsi", "--model MODEL [flags]")
	fs.StringVar(&f.dir, "model", "", "model directory (tokenizer trained, gallery assigned)")
	fs.StringVar(&f.scheme, "ids", "kmeans", "numeric IDs: random (dense random), label (dense, clustered by class) or kmeans (dense, clustered by hierarchical k-means over the tokenizer features)")
	fs.IntVar(&f.branch, "branch", 10, "clusters per level of the hierarchical k-means")
	fs.IntVar(&f.leaf, "leaf", 100, "largest cluster the hierarchical k-means does not split")
	fs.StringVar(&f.init, "init", "tokenizer", "start the ViT encoder from the tokenizer's (tokenizer) or from random weights (scratch, as the seed)")
	fs.IntVar(&f.dim, "dim", 128, "decoder width (seed: 128)")
	fs.IntVar(&f.depth, "depth", 2, "decoder blocks (seed: 6)")
	fs.IntVar(&f.heads, "heads", 4, "decoder attention heads (seed: 4)")
	fs.IntVar(&f.mlp, "mlp", 256, "decoder MLP width (seed: 256)")
	fs.IntVar(&f.indexEpochs, "index-epochs", 10, "indexing-phase epochs over the gallery (seed: 700-1000 on 512-2048 images, to ≥ 0.98 training accuracy)")
	fs.IntVar(&f.retEpochs, "retrieval-epochs", 3, "retrieval-phase epochs over the training images (0: zero-shot only; seed: 75)")
	fs.IntVar(&f.batch, "batch", 32, "images per step (seed: 32)")
	fs.Float64Var(&f.lr, "lr", 5e-4, "peak learning rate (seed: 5e-4)")
	fs.Float64Var(&f.encoderLRMult, "encoder-lr-mult", 1, "encoder learning rate as a fraction of the decoder's")
	fs.Float64Var(&f.warmup, "warmup-epochs", 1, "warm-up epochs of each phase")
	fs.Float64Var(&f.smoothing, "smoothing", 0, "label smoothing")
	fs.BoolVar(&f.indexAugment, "index-augment", false, "random crops and flips in the indexing phase (off: memorize the images as they are)")
	fs.BoolVar(&f.retAug, "retrieval-augment", true, "random crops and flips in the retrieval phase")
	fs.IntVar(&f.iaSample, "ia-sample", 1000, "gallery images the indexing accuracy is measured on after each phase (0: all)")
	fs.IntVar(&f.beam, "beam", 5, "beam width of the indexing-accuracy measurement (at least 5)")
	fs.Int64Var(&f.seed, "seed", 1, "random seed (IDs, initialization, batches)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return runDSI(ctx, f)
}

func runDSI(ctx context.Context, f dsiFlags) error {
	scheme, err := dsi.ParseScheme(f.scheme)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.init != "tokenizer" && f.init != "scratch" {
		return fmt.Errorf("%w: --init %q, want tokenizer or scratch", errUsage, f.init)
	}
	if f.indexEpochs < 1 || f.retEpochs < 0 {
		return fmt.Errorf("%w: --index-epochs %d and --retrieval-epochs %d; want ≥ 1 and ≥ 0", errUsage, f.indexEpochs, f.retEpochs)
	}
	b, err := loadBundle(f.dir)
	if err != nil {
		return err
	}
	e, err := openEngine(b)
	if err != nil {
		return err
	}
	g := e.Gallery()
	if g == nil {
		return fmt.Errorf("%s has no gallery yet; run 'irgen assign --model %s'", f.dir, f.dir)
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return err
	}
	if ds.Gallery.Len() != g.Len() {
		return fmt.Errorf("the data has %d gallery images, the model's gallery %d; rerun 'irgen assign --model %s'", ds.Gallery.Len(), g.Len(), f.dir)
	}
	ac := dsi.DefaultAssignConfig()
	ac.Scheme, ac.Seed, ac.Branch, ac.Leaf, ac.Workers = scheme, uint64(f.seed), f.branch, f.leaf, config.Workers()
	ids, err := dsiIDs(b, ac, g.Labels, g.Features, g.Dim, g.Keys)
	if err != nil {
		return err
	}
	tr, err := ids.Trie()
	if err != nil {
		return err
	}

	cfg := dsi.DefaultConfig(ids.Digits)
	cfg.Dim, cfg.Depth, cfg.Heads, cfg.MLPDim, cfg.Smoothing = f.dim, f.depth, f.heads, f.mlp, f.smoothing
	from := e.Tokenizer.Vars
	if f.init == "scratch" {
		from = nil
	}
	backend := e.Tokenizer.Backend
	m, err := decoder.New(backend, cfg, e.Tokenizer.Config.Encoder, from, f.seed)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	tc := decoder.DefaultTrainConfig()
	tc.Budget = train.Budget{Epochs: float64(f.indexEpochs)}
	tc.Batch, tc.LR, tc.EncoderLRMult, tc.WarmupEpochs, tc.Seed, tc.Out = f.batch, f.lr, f.encoderLRMult, f.warmup, f.seed, stderr
	noAug := e.Transform
	noAug.ScaleMin, noAug.ScaleMax, noAug.Flip = 1, 1, false
	indexTF := noAug
	if f.indexAugment {
		indexTF = e.Transform
	}
	workers := config.Workers()
	fmt.Fprintf(stderr, "irgen: ViT-DSI: %d gallery images → %s IDs of %d digits; indexing phase, %d epochs\n", g.Len(), ids.Scheme, ids.Digits, f.indexEpochs)
	start := time.Now()
	zs, secs, err := dsi.TrainIndex(ctx, m, b.Path(dsi.IndexDir), tc, batch.New(ds.Gallery, indexTF, workers), ids)
	if err != nil {
		return err
	}
	evalSrc := batch.New(ds.Gallery, e.Transform, workers)
	sample := dsi.Sample(g.Len(), f.iaSample, uint64(f.seed))
	acc, err := dsi.IndexingAccuracy(zs, ids, tr, evalSrc, sample, f.beam)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: ViT-DSI indexing phase trained in %s; zero-shot %v\n", fmtSecs(secs), acc)
	total := secs
	if f.retEpochs > 0 {
		queries, labels := ds.Train, make([]int32, ds.Train.Len())
		for i := range labels {
			labels[i] = int32(ds.Train.Label(i))
		}
		if _, err := dsi.RetrievalPairs(labels, g.Labels, ids); err != nil {
			// Disjoint train and gallery classes (SOP): the queries are
			// the gallery images themselves, each → another of its class.
			fmt.Fprintf(stderr, "irgen: training classes missing from the gallery; the retrieval phase pairs gallery images with each other\n")
			queries, labels = ds.Gallery, g.Labels
		}
		rc := tc
		rc.Budget = train.Budget{Epochs: float64(f.retEpochs)}
		retTF := noAug
		if f.retAug {
			retTF = e.Transform
		}
		fmt.Fprintf(stderr, "irgen: ViT-DSI retrieval phase: %d queries → IDs of same-class gallery images, %d epochs\n", queries.Len(), f.retEpochs)
		ft, rsecs, err := dsi.TrainRetrieval(ctx, backend, b.Path(dsi.IndexDir), b.Path(dsi.RetrievalDir), rc,
			batch.New(queries, retTF, workers), labels, g.Labels, ids)
		if err != nil {
			return err
		}
		if acc, err = dsi.IndexingAccuracy(ft, ids, tr, evalSrc, sample, f.beam); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "irgen: ViT-DSI retrieval phase trained in %s; fine-tuned %v\n", fmtSecs(rsecs), acc)
		total += rsecs
	}
	if err := recordOwn(f.dir, dsi.Dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: ViT-DSI trained in %s (this run %s); evaluate with 'irgen eval --model %s --method %s,%s --k 1,10,100 --map-k 10'\n",
		fmtSecs(total), time.Since(start).Round(time.Second), f.dir, dsi.ZeroShot, dsi.FineTuned)
	return nil
}

// dsiIDs returns the IDs saved in the model, or assigns and saves them.
// Saved IDs made with other settings or for another gallery are refused.
func dsiIDs(b *store.Bundle, ac dsi.AssignConfig, labels []int32, features []float32, dim int, keys []string) (*dsi.IDs, error) {
	digest := dsi.KeysDigest(keys)
	ids, err := dsi.LoadIDs(b.Dir())
	switch {
	case err == nil:
		if ids.Scheme != ac.Scheme || ids.Gallery != digest {
			return nil, fmt.Errorf("%s holds ViT-DSI IDs by scheme %s for %d images; to change them delete %s",
				b.Dir(), ids.Scheme, ids.Len(), b.Path(dsi.Dir))
		}
		return ids, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if ids, err = dsi.Assign(ac, labels, features, dim); err != nil {
		return nil, err
	}
	ids.Gallery = digest
	if err := os.MkdirAll(b.Path(dsi.Dir), 0o755); err != nil {
		return nil, err
	}
	err = store.WriteFileAtomic(b.Path(dsi.IDsFile), func(w io.Writer) error {
		_, err := ids.WriteTo(w)
		return err
	})
	return ids, err
}

// recordOwn records files a stage wrote in the model's manifest as it is
// on disk now: another command may have saved it since this one loaded
// it, and its entries are kept.
func recordOwn(dir string, files ...string) error {
	b, err := store.Open(dir)
	if err != nil {
		return err
	}
	return record(b, files...)
}

func fmtSecs(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Second)
}

// dsiMethods lists ViT-DSI's methods, zero-shot first.
var dsiMethods = []engine.Method{dsi.ZeroShot, dsi.FineTuned}
