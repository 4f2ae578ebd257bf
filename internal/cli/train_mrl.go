package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/baseline/mrl"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

type mrlFlags struct {
	dir, nesting            string
	dim                     int
	shared, scratch         bool
	trainOnly               bool
	batch, limit            int
	epochs, warmup          float64
	lr, encoderLRMult       float64
	seed                    int64
	hnswM, hnswEfC, hnswEfS int
}

func trainMRL(ctx context.Context, args []string) error {
	var f mrlFlags
	fs := newFlags("train-mrl", "--model MODEL [flags]")
	fs.StringVar(&f.dir, "model", "", "model directory (tokenizer trained, IDs assigned)")
	fs.IntVar(&f.dim, "dim", mrl.DefaultDim, "embedding width D")
	fs.StringVar(&f.nesting, "nesting", "", "comma-separated nested prefix sizes the loss classifies from, ending at --dim (default 8,16,32,…,D)")
	fs.BoolVar(&f.shared, "shared", false, "MRL-E: one classifier whose first m rows serve the m-dim prefix (default: one classifier per prefix, MRL)")
	fs.BoolVar(&f.scratch, "from-scratch", false, "initialize the encoder randomly instead of from the tokenizer's")
	fs.Float64Var(&f.epochs, "epochs", 3, "training epochs")
	fs.IntVar(&f.batch, "batch", 128, "images per step")
	fs.IntVar(&f.limit, "limit", 0, "train on the first N training images (0 = all)")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate of the head")
	fs.Float64Var(&f.encoderLRMult, "encoder-lr-mult", -1, "encoder learning rate as a fraction of the head's (default 0.1 from the tokenizer, 1 with --from-scratch)")
	fs.Float64Var(&f.warmup, "warmup-epochs", 0.5, "linear warm-up epochs before the cosine decay")
	fs.Int64Var(&f.seed, "seed", 1, "random seed")
	fs.BoolVar(&f.trainOnly, "train-only", false, "train only; embed the gallery with 'irgen embed --method mrl --shard i/N' workers, then run train-mrl again for the graph")
	def := mrl.DefaultHNSWConfig()
	fs.IntVar(&f.hnswM, "hnsw-m", def.M, "HNSW neighbours per node (seed: HNSW32)")
	fs.IntVar(&f.hnswEfC, "hnsw-ef-construction", def.EfConstruction, "HNSW candidate list size while building")
	fs.IntVar(&f.hnswEfS, "hnsw-ef-search", def.EfSearch, "HNSW candidate list size while searching (at least K)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	_, err := runMRL(ctx, f)
	return err
}

// runMRL trains (or resumes) the MRL model of f.dir, then brings its
// gallery embeddings and HNSW graph up to date. It returns the training
// seconds.
func runMRL(ctx context.Context, f mrlFlags) (float64, error) {
	b, e, err := openModel(f.dir)
	if err != nil {
		return 0, err
	}
	g, err := assigned(e, f.dir)
	if err != nil {
		return 0, err
	}
	m, mc, hc, err := f.setup(e)
	if err != nil {
		return 0, err
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return 0, err
	}
	if f.limit > 0 {
		ds.Train = dataset.Limit(ds.Train, f.limit)
	}
	// Map the gallery to the data set's gallery split before training, so
	// that a gallery the data set cannot reproduce fails early.
	idx, err := splitPositions(ds, g.Keys)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(stderr, "irgen: %s on %d training images\n", f.describe(m.Config), ds.Train.Len())
	start := time.Now()
	secs, err := mrl.Train(ctx, m, f.dir, mc, dataset.NewLoader(ds.Train, e.Transform, config.Workers()))
	if err != nil {
		return secs, err
	}
	if b, err = recordFresh(f.dir, nil, mrl.ConfigFile, mrl.WeightsFile, mrl.StateFile); err != nil {
		return secs, err
	}
	reportTrained("mrl", secs, start)
	if f.trainOnly {
		return secs, nil
	}
	emb, b, err := mrlEmbeddings(ctx, b, m, dataset.NewLoader(ds.Gallery, e.Transform, config.Workers()), g.Keys, idx)
	if err != nil {
		return secs, err
	}
	return secs, mrlHNSW(ctx, b, emb, hc)
}

// setup makes the MRL model, training and HNSW settings of the flags, for
// the tokenizer of e; its errors are usage errors.
func (f mrlFlags) setup(e *engine.Engine) (*mrl.Model, mrl.TrainConfig, hnsw.Config, error) {
	var mc mrl.TrainConfig
	hc := mrl.DefaultHNSWConfig()
	nesting := mrl.NestingDims(f.dim)
	if f.nesting != "" {
		var err error
		if nesting, err = intList(f.nesting); err != nil {
			return nil, mc, hc, err
		}
	}
	tc := e.Tokenizer.Config
	cfg := mrl.Config{Encoder: tc.Encoder, Dim: f.dim, Classes: tc.Classes, Nesting: nesting, Shared: f.shared}
	var from *model.Store
	if !f.scratch {
		from = e.Tokenizer.Vars
	}
	m, err := mrl.New(e.Tokenizer.Backend, cfg, from, f.seed)
	if err != nil {
		return nil, mc, hc, fmt.Errorf("%w: %v", errUsage, err)
	}
	mc = mrl.DefaultTrainConfig()
	mc.Budget = train.Budget{Epochs: f.epochs}
	mc.Batch, mc.LR, mc.WarmupEpochs, mc.Seed = f.batch, f.lr, f.warmup, f.seed
	switch {
	case f.encoderLRMult >= 0:
		mc.EncoderLRMult = f.encoderLRMult
	case f.scratch:
		mc.EncoderLRMult = 1
	}
	mc.Out = stderr
	if err := mc.Validate(); err != nil {
		return nil, mc, hc, fmt.Errorf("%w: %v", errUsage, err)
	}
	hc.M, hc.EfConstruction, hc.EfSearch = f.hnswM, f.hnswEfC, f.hnswEfS
	if _, err := hnsw.New(cfg.Dim, hc); err != nil {
		return nil, mc, hc, fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.limit < 0 {
		return nil, mc, hc, fmt.Errorf("%w: --limit %d must not be negative", errUsage, f.limit)
	}
	return m, mc, hc, nil
}

// describe names the model the flags train: "MRL-E, D=128 nesting [8 16
// …], from the tokenizer's encoder".
func (f mrlFlags) describe(c mrl.Config) string {
	encoderFrom := "the tokenizer's encoder"
	if f.scratch {
		encoderFrom = "a random encoder"
	}
	variant := "MRL"
	if f.shared {
		variant = "MRL-E"
	}
	return fmt.Sprintf("%s, D=%d nesting %v, from %s", variant, c.Dim, c.Nesting, encoderFrom)
}

// splitPositions returns the position in the data set's gallery split of
// each gallery key.
func splitPositions(ds *dataset.Dataset, keys []string) ([]int, error) {
	pos := make(map[string]int, ds.Gallery.Len())
	for i := range ds.Gallery.Len() {
		pos[ds.Gallery.Key(i)] = i
	}
	idx := make([]int, len(keys))
	for i, k := range keys {
		p, ok := pos[k]
		if !ok {
			return nil, fmt.Errorf("gallery image %q is not in the gallery split of %s; train-mrl embeds only data set images", k, ds.Name)
		}
		idx[i] = p
	}
	return idx, nil
}

// mrlEmbeddings returns the gallery embeddings of m, computing and
// recording them (the images idx of src) unless the bundle holds them
// already, and the bundle as last saved.
func mrlEmbeddings(ctx context.Context, b *store.Bundle, m *mrl.Model, src *dataset.Loader, keys []string, idx []int) (*mrl.Embeddings, *store.Bundle, error) {
	weights := b.Manifest().Files[mrl.WeightsFile].SHA256
	if emb, fresh := currentEmbeddings(b, keys, weights); fresh {
		return emb, b, nil
	}
	start := time.Now()
	p := train.NewProgress(stderr, "mrl embed", len(idx), 0, "img")
	data, err := mrl.EmbedImages(ctx, m, src, idx, func(done int) { p.Update(done, "") })
	if err != nil {
		return nil, b, err
	}
	p.Done(len(idx), "")
	emb := &mrl.Embeddings{N: len(idx), Dim: m.Config.Dim, Keys: store.KeysDigest(keys), Model: weights, Data: data}
	if b, err = writeFresh(b.Dir(), mrl.EmbeddingsFile, func(w io.Writer) error {
		_, err := emb.WriteTo(w)
		return err
	}, nil); err != nil {
		return nil, b, err
	}
	fmt.Fprintf(stderr, "irgen: embedded %d gallery images in %s\n", emb.N, time.Since(start).Round(time.Second))
	return emb, b, nil
}

// mrlHNSW builds and records the HNSW graph of emb with hc unless the
// bundle holds that graph already.
func mrlHNSW(ctx context.Context, b *store.Bundle, emb *mrl.Embeddings, hc hnsw.Config) error {
	info := mrl.HNSWInfo{M: hc.M, EfConstruction: hc.EfConstruction, EfSearch: hc.EfSearch, Embeddings: b.Manifest().Files[mrl.EmbeddingsFile].SHA256}
	var have mrl.HNSWInfo
	if _, ok := b.Manifest().Files[mrl.HNSWFile]; ok && b.Config(mrl.ConfigHNSW, &have) == nil && have == info {
		fmt.Fprintf(stderr, "irgen: embeddings and HNSW graph are up to date\n")
		return nil
	}
	start := time.Now()
	p := train.NewProgress(stderr, "mrl hnsw", emb.N, 0, "img")
	ix, err := mrl.BuildHNSW(ctx, emb, hc, func(done int) { p.Update(done, "") })
	if err != nil {
		return err
	}
	p.Done(emb.N, "")
	if _, err := writeFresh(b.Dir(), mrl.HNSWFile, ix.Save, func(b *store.Bundle) error { return b.SetConfig(mrl.ConfigHNSW, info) }); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: HNSW (M=%d, efConstruction=%d) over %d embeddings built in %s\n", hc.M, hc.EfConstruction, emb.N,
		time.Since(start).Round(time.Second))
	return nil
}

// currentEmbeddings returns the bundle's embeddings when they are recorded
// and were computed by weights for the gallery keys.
func currentEmbeddings(b *store.Bundle, keys []string, weights string) (*mrl.Embeddings, bool) {
	if _, ok := b.Manifest().Files[mrl.EmbeddingsFile]; !ok || b.Verify(mrl.EmbeddingsFile) != nil {
		return nil, false
	}
	emb, err := mrl.ReadEmbeddings(b.Path(mrl.EmbeddingsFile))
	if err != nil || emb.Model != weights || !emb.Covers(keys) {
		return nil, false
	}
	return emb, true
}

// recordFresh re-reads the manifest (another command may have recorded
// files since this one loaded it), records files, applies set and saves.
func recordFresh(dir string, set func(*store.Bundle) error, files ...string) (*store.Bundle, error) {
	b, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := b.Record(f); err != nil {
			return nil, err
		}
	}
	if set != nil {
		if err := set(b); err != nil {
			return nil, err
		}
	}
	return b, b.Save()
}

// writeFresh atomically writes the bundle file rel with write and records
// it in a freshly read manifest, as recordFresh.
func writeFresh(dir, rel string, write func(io.Writer) error, set func(*store.Bundle) error) (*store.Bundle, error) {
	b, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := b.WriteFile(rel, write); err != nil {
		return nil, err
	}
	if set != nil {
		if err := set(b); err != nil {
			return nil, err
		}
	}
	return b, b.Save()
}
