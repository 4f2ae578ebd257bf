package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/irgen/irgen/internal/batch"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
)

func init() {
	register("train-decoder", "Train the autoregressive ID decoder on same-class pairs (x1 → ID of x2)", trainDecoder)
}

type decoderFlags struct {
	dir                    string
	dim, depth, heads, mlp int
	epochs, batch          int
	lr, encoderLRMult      float64
	smoothing, warmup      float64
	seed                   int64
}

func (f *decoderFlags) define(fs flagDefiner) {
	fs.IntVar(&f.dim, "dec-dim", 128, "decoder width (paper: 768)")
	fs.IntVar(&f.depth, "dec-depth", 2, "decoder blocks (paper: 12)")
	fs.IntVar(&f.heads, "dec-heads", 4, "decoder attention heads")
	fs.IntVar(&f.mlp, "dec-mlp", 256, "decoder MLP width")
	fs.IntVar(&f.epochs, "dec-epochs", 3, "decoder training epochs")
	fs.IntVar(&f.batch, "dec-batch", 128, "decoder images per step")
	fs.Float64Var(&f.lr, "dec-lr", 5e-4, "decoder peak learning rate")
	fs.Float64Var(&f.encoderLRMult, "dec-encoder-lr-mult", 0.01, "encoder learning rate as a fraction of the decoder's (IRGen: 0.01)")
	fs.Float64Var(&f.smoothing, "smoothing", 0.1, "label smoothing")
	fs.Float64Var(&f.warmup, "dec-warmup-epochs", 0.5, "decoder warm-up epochs")
	fs.Int64Var(&f.seed, "dec-seed", 1, "decoder random seed")
}

func trainDecoder(ctx context.Context, args []string) error {
	var f decoderFlags
	fs := newFlags("train-decoder", "--model MODEL [flags]")
	fs.StringVar(&f.dir, "model", "", "model directory (tokenizer trained, IDs assigned)")
	f.define(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	_, err := runDecoder(ctx, f)
	return err
}

func runDecoder(ctx context.Context, f decoderFlags) (float64, error) {
	b, err := loadBundle(f.dir)
	if err != nil {
		return 0, err
	}
	e, err := openEngine(b)
	if err != nil {
		return 0, err
	}
	g := e.Gallery()
	if g == nil {
		return 0, fmt.Errorf("%s has no IDs yet; run 'irgen assign --model %s'", f.dir, f.dir)
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return 0, err
	}
	pairs, err := trainPairs(ctx, e, ds, g)
	if err != nil {
		return 0, err
	}
	tc := e.Tokenizer.Config
	cfg := decoder.DefaultConfig(tc.M, tc.L)
	cfg.Dim, cfg.Depth, cfg.Heads, cfg.MLPDim, cfg.Smoothing = f.dim, f.depth, f.heads, f.mlp, f.smoothing
	m, err := decoder.New(e.Tokenizer.Backend, cfg, tc.Encoder, e.Tokenizer.Vars, f.seed)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	dc := decoder.DefaultTrainConfig()
	dc.Epochs, dc.Batch, dc.LR, dc.EncoderLRMult, dc.WarmupEpochs, dc.Seed = f.epochs, f.batch, f.lr, f.encoderLRMult, f.warmup, f.seed
	dc.Out = stderr
	fmt.Fprintf(stderr, "irgen: decoder %d×%d on %d training images → IDs of %d gallery images\n", cfg.Depth, cfg.Dim, ds.Train.Len(), g.Len())
	loader := batch.New(ds.Train, e.Transform, config.Workers())
	start := time.Now()
	secs, err := decoder.Train(ctx, m, f.dir, dc, loader, pairs)
	if err != nil {
		return secs, err
	}
	if err := record(b, decoder.ConfigFile, decoder.WeightsFile, decoder.StateFile); err != nil {
		return secs, err
	}
	fmt.Fprintf(stderr, "irgen: decoder trained in %s (this run %s)\n", time.Duration(secs*float64(time.Second)).Round(time.Second),
		time.Since(start).Round(time.Second))
	return secs, nil
}

// trainPairs pairs every training image with the IDs of the gallery images
// of its class. When a training class has no gallery image (disjoint
// train/test classes, as in SOP), the targets are the IDs of the training
// images themselves, computed with the tokenizer.
func trainPairs(ctx context.Context, e *engine.Engine, ds *dataset.Dataset, g *gallery.Gallery) (*decoder.Pairs, error) {
	labels := make([]int32, ds.Train.Len())
	for i := range labels {
		labels[i] = int32(ds.Train.Label(i))
	}
	pairs, err := decoder.NewPairs(labels, g.Labels, g.Codes, g.M)
	if err == nil {
		return pairs, nil
	}
	fmt.Fprintf(stderr, "irgen: training classes missing from the gallery; targets are the training images' own IDs\n")
	own := *ds
	own.Gallery = ds.Train
	tg, err := encodeGallery(ctx, e.Tokenizer, &own, e.Transform)
	if err != nil {
		return nil, err
	}
	if tg.Codes, err = e.Codes(tg.Features); err != nil {
		return nil, err
	}
	return decoder.NewPairs(labels, tg.Labels, tg.Codes, tg.M)
}
