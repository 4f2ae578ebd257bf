package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/irgen/irgen/internal/baseline/irt"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

type irtFlags struct {
	dir, feature string
	trainOnly    bool
	tc           irt.TrainConfig
}

func trainIRT(ctx context.Context, args []string) error {
	f := irtFlags{tc: irt.DefaultTrainConfig()}
	fs := newFlags("train-irt", "--model MODEL [flags]")
	fs.StringVar(&f.dir, "model", "", "model directory (tokenizer trained, gallery assigned)")
	fs.StringVar(&f.feature, "feature", "cls", "embedding: cls (the class token, as IRT) or head (the tokenizer's projection of it: then irt-o = knn)")
	fs.IntVar(&f.tc.Budget.Steps, "max-iter", f.tc.Budget.Steps, "training steps (0: no fine-tuning, irt = irt-o)")
	fs.IntVar(&f.tc.Batch, "batch", f.tc.Batch, "images per step")
	fs.Float64Var(&f.tc.LR, "lr", f.tc.LR, "learning rate (constant)")
	fs.Float64Var(&f.tc.WeightDecay, "weight-decay", f.tc.WeightDecay, "AdamW weight decay")
	fs.Float64Var(&f.tc.Margin, "margin", f.tc.Margin, "β: negative pairs with a cosine above it are penalized")
	fs.Float64Var(&f.tc.Lambda, "lambda-reg", f.tc.Lambda, "λ: weight of the differential-entropy regularizer (0: IRT_L)")
	fs.Float64Var(&f.tc.MemoryRatio, "memory-ratio", f.tc.MemoryRatio, "cross-batch memory size as a fraction of the training images (0: none)")
	fs.Float64Var(&f.tc.Momentum, "encoder-momentum", 0, "momentum of the key encoder filling the memory (0: none; the seed uses 0.999 on In-shop)")
	fs.Int64Var(&f.tc.Seed, "seed", f.tc.Seed, "random seed (batches, augmentation)")
	fs.BoolVar(&f.trainOnly, "train-only", false, "train only; embed the gallery with 'irgen embed --method irt (irt-o) --shard i/N' workers")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return runIRT(ctx, f)
}

func runIRT(ctx context.Context, f irtFlags) error {
	if err := f.tc.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	b, e, err := openModel(f.dir)
	if err != nil {
		return err
	}
	g, err := assigned(e, f.dir)
	if err != nil {
		return err
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return err
	}
	if ds.Gallery.Len() != g.Len() {
		return fmt.Errorf("the data has %d gallery images, the model's gallery %d; rerun 'irgen assign --model %s'", ds.Gallery.Len(), g.Len(), f.dir)
	}
	tok := e.Tokenizer
	cfg := irt.Config{Encoder: tok.Config.Encoder, Feature: irt.Feature(f.feature), FeatureDim: tok.Config.FeatureDim}
	if cfg.Feature == irt.ClassToken {
		cfg.FeatureDim = 0
	}
	dir := b.Path(irt.Dir)
	if prev, err := irt.LoadConfig(dir); err == nil && prev.Feature != cfg.Feature {
		return fmt.Errorf("%s holds an IRT model of feature %s; delete it or pass --feature %s", dir, prev.Feature, prev.Feature)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	m, err := irt.New(tok.Backend, cfg, tok.Vars, f.tc.Seed)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	tc := f.tc
	tc.Out = stderr
	steps, err := tc.Steps(ds.Train.Len())
	if err != nil {
		return err
	}
	workers := config.Workers()
	fmt.Fprintf(stderr, "irgen: IRT: %s embedding of %d values, %d steps of %d on %d training images (memory %d, λ %g, β %g)\n",
		cfg.Feature, cfg.Dim(), steps, tc.Batch, ds.Train.Len(), tc.MemorySize(ds.Train.Len()), tc.Lambda, tc.Margin)
	start := time.Now()
	secs, err := irt.Train(ctx, m, dir, tc, dataset.NewLoader(ds.Train, e.Transform, workers))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: IRT trained in %s\n", fmtSecs(secs))
	if !f.trainOnly {
		if err := writeIRTEmbeddings(ctx, b, e, m, ds.Gallery); err != nil {
			return err
		}
	}
	if err := recordOwn(f.dir, irt.Dir); err != nil {
		return err
	}
	next := fmt.Sprintf("evaluate with 'irgen eval --model %s --method knn,%s,%s'", f.dir, irt.OffTheShelf, irt.FineTuned)
	if f.trainOnly {
		next = "embed the gallery with 'irgen embed --method irt' (and irt-o) workers"
	}
	fmt.Fprintf(stderr, "irgen: IRT done in %s; %s\n", time.Since(start).Round(time.Second), next)
	return nil
}

// writeIRTEmbeddings embeds the gallery images (split) with the trained
// model m and with the starting (tokenizer) encoder, for IRT_O, and
// writes both files.
func writeIRTEmbeddings(ctx context.Context, b *store.Bundle, e *engine.Engine, m *irt.Model, split dataset.Split) error {
	g, tok, cfg := e.Gallery(), e.Tokenizer, m.Config
	digest := store.KeysDigest(g.Keys)
	feats, err := embedGallery(ctx, "irt", m.NewEmbedder(), split, e.Transform)
	if err != nil {
		return err
	}
	if err := writeEmbeddings(b.Path(irt.GalleryFile), &irt.Embeddings{Dim: cfg.Dim(), Data: feats, Gallery: digest}); err != nil {
		return err
	}
	// IRT_O: the starting (tokenizer) encoder. With the head feature its
	// gallery embeddings are the tokenizer features assign computed.
	off := g.Features
	if cfg.Feature != irt.Head {
		em := &irt.Embedder{Backend: tok.Backend, Vars: tok.Vars, Config: cfg, Batch: tok.Batch}
		if off, err = embedGallery(ctx, "irt-o", em, split, e.Transform); err != nil {
			return err
		}
	}
	return writeEmbeddings(b.Path(irt.OffTheShelfFile), &irt.Embeddings{Dim: cfg.Dim(), Data: off, Gallery: digest})
}

// embedGallery embeds every image of split (eval transform).
func embedGallery(ctx context.Context, name string, em *irt.Embedder, split dataset.Split, tf transformT) ([]float32, error) {
	n := split.Len()
	loader := dataset.NewLoader(split, tf, config.Workers())
	p := train.NewProgress(stderr, name+" gallery", n, 0, "img")
	out := make([]float32, 0, n*em.Config.Dim())
	err := loader.Chunks(ctx, n, 1024, func(lo, k int, buf []float32) error {
		f, err := em.Embed(buf, k)
		if err != nil {
			return err
		}
		out = append(out, f...)
		p.Update(lo+k, "")
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.Done(n, "")
	return out, nil
}

func writeEmbeddings(path string, e *irt.Embeddings) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := e.WriteTo(w)
		return err
	})
}
