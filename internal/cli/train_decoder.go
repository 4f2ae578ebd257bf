package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

type decoderFlags struct {
	dir                        string
	dim, depth, heads, mlp     int
	steps, minSteps, maxSteps  int
	batch, validEvery, patient int
	epochs, val                float64
	lr, encoderLRMult          float64
	smoothing, warmup          float64
	seed                       int64
	fresh, rerank              bool
}

func (f *decoderFlags) define(fs flagDefiner) {
	b := decoder.DefaultBudget()
	fs.IntVar(&f.dim, "dec-dim", 128, "decoder width (paper: 768)")
	fs.IntVar(&f.depth, "dec-depth", 2, "decoder blocks (paper: 12)")
	fs.IntVar(&f.heads, "dec-heads", 4, "decoder attention heads")
	fs.IntVar(&f.mlp, "dec-mlp", 256, "decoder MLP width")
	fs.Float64Var(&f.epochs, "dec-epochs", b.Epochs, "decoder budget in epochs, bounded by --dec-min-steps and --dec-max-steps")
	fs.IntVar(&f.minSteps, "dec-min-steps", b.MinSteps, "fewest decoder optimizer steps (small collections)")
	fs.IntVar(&f.maxSteps, "dec-max-steps", b.MaxSteps, "most decoder optimizer steps (0 = no bound)")
	fs.IntVar(&f.steps, "dec-steps", 0, "decoder optimizer steps, overriding the budget rule (0 = from the collection size)")
	fs.IntVar(&f.batch, "dec-batch", 128, "decoder images per step")
	fs.Float64Var(&f.lr, "dec-lr", 5e-4, "decoder peak learning rate")
	fs.Float64Var(&f.encoderLRMult, "dec-encoder-lr-mult", 0, "encoder learning rate as a fraction of the decoder's: 0 keeps the tokenizer's encoder (no gradient through it: steps about 1.8× faster, and a served query is encoded once); IRGen: 0.01")
	fs.Float64Var(&f.smoothing, "smoothing", 0.1, "label smoothing")
	fs.Float64Var(&f.warmup, "dec-warmup-epochs", 0.5, "decoder warm-up epochs")
	fs.Float64Var(&f.val, "dec-val", defaultVal, "share of the training images held out to validate the decoder and choose the ranking (0 = none), at most 1,000 images")
	fs.IntVar(&f.validEvery, "dec-valid-every", 200, "decoder steps between validations")
	fs.IntVar(&f.patient, "dec-patience", 4, "stop after this many validations without a better score (0 = train the whole budget)")
	fs.Int64Var(&f.seed, "dec-seed", 1, "decoder random seed")
}

func trainDecoder(ctx context.Context, args []string) error {
	var f decoderFlags
	fs := newFlags("train-decoder", "--model MODEL [flags]")
	fs.StringVar(&f.dir, "model", "", "model directory (tokenizer trained, IDs assigned)")
	fs.BoolVar(&f.fresh, "fresh", false, "retrain the decoder from the start, replacing a finished or different run")
	fs.BoolVar(&f.rerank, "rerank", false, "choose the irgen ranking weight again on the validation images (a finished decoder is kept)")
	f.define(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	_, err := runDecoder(ctx, f)
	return err
}

func (f *decoderFlags) trainConfig() decoder.TrainConfig {
	dc := decoder.DefaultTrainConfig()
	dc.Budget = train.Budget{Epochs: f.epochs, MinSteps: f.minSteps, MaxSteps: f.maxSteps, Steps: f.steps}
	dc.Batch, dc.LR, dc.EncoderLRMult, dc.WarmupEpochs, dc.Seed = f.batch, f.lr, f.encoderLRMult, f.warmup, f.seed
	dc.ValidEvery, dc.Patience = f.validEvery, f.patient
	dc.Out = stderr
	return dc
}

func runDecoder(ctx context.Context, f decoderFlags) (float64, error) {
	b, err := loadBundle(f.dir)
	if err != nil {
		return 0, err
	}
	if f.fresh {
		if err := forgetDecoder(b); err != nil {
			return 0, err
		}
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
	trainIdx, valIdx, err := holdOut(ds.Train, f.val, f.seed)
	if err != nil {
		return 0, err
	}
	trainSplit := dataset.Sub(ds.Train, trainIdx)
	pairs, err := trainPairs(ctx, e, ds, trainSplit, g)
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
	dc := f.trainConfig()
	dc.Batch = fitBatch(dc.Batch, trainSplit.Len(), "decoder")
	steps, err := dc.Budget.For(trainSplit.Len(), dc.Batch)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUsage, err)
	}
	v := newValidation(e, ds, valIdx)
	if v.usable() {
		e.Decoder = m
		dc.Validate = v.decoderScore
	}
	fmt.Fprintf(stderr, "irgen: decoder %d×%d on %d training images → IDs of %d gallery images, %d steps, %s\n",
		cfg.Depth, cfg.Dim, trainSplit.Len(), g.Len(), steps, v)
	loader := dataset.NewLoader(trainSplit, e.Transform, config.Workers())
	retrained := !decoder.Trained(f.dir)
	start := time.Now()
	secs, err := decoder.Train(ctx, m, f.dir, dc, loader, pairs)
	if err != nil {
		return secs, err
	}
	if v.usable() {
		if err := b.Config(engine.ConfigRerank, new(engine.Rerank)); err != nil || retrained || f.rerank {
			e.Decoder = m
			r, err := v.chooseRerank(ctx)
			if err != nil {
				return secs, err
			}
			if err := b.SetConfig(engine.ConfigRerank, r); err != nil {
				return secs, err
			}
		}
	}
	if err := record(b, decoder.ConfigFile, decoder.WeightsFile, decoder.StateFile); err != nil {
		return secs, err
	}
	reportTrained("decoder", secs, start)
	return secs, nil
}

// forgetDecoder removes the decoder and the ranking chosen with it from
// the model, so that it is trained anew.
func forgetDecoder(b *store.Bundle) error {
	b.Forget([]string{decoder.ConfigFile, decoder.WeightsFile, decoder.StateFile}, engine.ConfigRerank)
	if err := b.Save(); err != nil {
		return err
	}
	return decoder.Remove(b.Dir())
}

// trainPairs pairs every training image with the IDs of the gallery images
// of its class. When a training class has no gallery image (disjoint
// train/test classes, as in SOP), the targets are the IDs of the training
// images themselves, computed with the tokenizer.
func trainPairs(ctx context.Context, e *engine.Engine, ds *dataset.Dataset, trainSplit dataset.Split, g *gallery.Gallery) (*decoder.Pairs, error) {
	labels := dataset.Labels(trainSplit)
	pairs, err := decoder.NewPairs(labels, g.Labels, g.Codes, g.M)
	if err == nil {
		return pairs, nil
	}
	fmt.Fprintf(stderr, "irgen: training classes missing from the gallery; targets are the training images' own IDs\n")
	own := *ds
	own.Gallery = trainSplit
	tg, err := encodeGallery(ctx, e.Tokenizer, &own, e.Transform)
	if err != nil {
		return nil, err
	}
	if tg.Codes, err = e.Codes(tg.Features); err != nil {
		return nil, err
	}
	return decoder.NewPairs(labels, tg.Labels, tg.Codes, tg.M)
}
