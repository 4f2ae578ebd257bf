package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/irgen/irgen/internal/baseline/dsi"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
	"github.com/irgen/irgen/internal/trie"
)

type dsiFlags struct {
	dir                    string
	scheme, init           string
	branch, leaf           int
	dim, depth, heads, mlp int
	indexEpochs, retEpochs int
	indexMaxSteps          int
	indexTarget, retVal    float64
	validEpochs, patience  int
	retPatience            int
	batch                  int
	lr, encoderLRMult      float64
	warmup, smoothing      float64
	dropout                float64
	indexAugment, retAug   bool
	fresh                  string
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
	fs.IntVar(&f.indexEpochs, "index-epochs", 1000, "most indexing-phase epochs over the gallery (seed: 700-1000 on 512-2048 images, to ≥ 0.98 training accuracy)")
	fs.IntVar(&f.indexMaxSteps, "index-max-steps", 40000, "most indexing-phase steps (0: no bound)")
	fs.Float64Var(&f.indexTarget, "index-target", 0.99, "stop indexing once Indexing Accuracy@1 on the --ia-sample images reaches this (0: train every epoch)")
	fs.IntVar(&f.validEpochs, "valid-epochs", 10, "epochs between indexing-accuracy checks of the indexing phase (the retrieval phase checks its held-out P@10 every epoch)")
	fs.IntVar(&f.patience, "patience", 5, "indexing-accuracy checks without a better score after which the indexing phase stops (0: never)")
	fs.IntVar(&f.retPatience, "retrieval-patience", 5, "epochs without a better held-out P@10 after which the retrieval phase stops (0: train every epoch, as the seed)")
	fs.IntVar(&f.retEpochs, "retrieval-epochs", 3, "most retrieval-phase epochs over the training images (0: zero-shot only; seed: 75)")
	fs.Float64Var(&f.retVal, "retrieval-val", 1.0/9, "fraction of the retrieval queries held out to validate the retrieval phase (seed: 0.1 of its 0.9)")
	fs.Float64Var(&f.dropout, "dropout", 0.1, "dropout of the decoder's attention and MLP branches and of the encoder tokens it reads, in training (seed: 0.1)")
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
	fs.StringVar(&f.fresh, "fresh", "", "retrain: retrieval (the retrieval phase) or all (IDs and both phases), replacing what is there")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return runDSI(ctx, f)
}

func runDSI(ctx context.Context, f dsiFlags) error {
	scheme, err := checkDSIFlags(f)
	if err != nil {
		return err
	}
	if err := forgetDSI(f.dir, f.fresh); err != nil {
		return err
	}
	r, err := openDSI(f)
	if err != nil {
		return err
	}
	if err := r.assignIDs(scheme); err != nil {
		return err
	}
	m, err := r.newModel()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: ViT-DSI: %d gallery images → %s IDs of %d digits; indexing phase, %d epochs\n", r.g.Len(), r.ids.Scheme, r.ids.Digits, f.indexEpochs)
	start := time.Now()
	total, err := r.indexPhase(ctx, m)
	if err != nil {
		return err
	}
	if f.retEpochs > 0 {
		rsecs, err := r.retrievalPhase(ctx)
		if err != nil {
			return err
		}
		total += rsecs
	}
	if err := recordOwn(f.dir, dsi.Dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: ViT-DSI trained in %s (this run %s); evaluate with 'irgen eval --model %s --method %s,%s --k 1,10,100 --map-k 10'\n",
		fmtSecs(total), time.Since(start).Round(time.Second), f.dir, dsi.ZeroShot, dsi.FineTuned)
	return nil
}

// checkDSIFlags returns the ID scheme of f, or a usage error if f is
// invalid.
func checkDSIFlags(f dsiFlags) (dsi.Scheme, error) {
	scheme, err := dsi.ParseScheme(f.scheme)
	if err != nil {
		return scheme, fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.fresh != "" && f.fresh != "retrieval" && f.fresh != "all" {
		return scheme, fmt.Errorf("%w: --fresh %q, want retrieval or all", errUsage, f.fresh)
	}
	if f.init != "tokenizer" && f.init != "scratch" {
		return scheme, fmt.Errorf("%w: --init %q, want tokenizer or scratch", errUsage, f.init)
	}
	if f.indexEpochs < 1 || f.retEpochs < 0 || f.indexMaxSteps < 0 {
		return scheme, fmt.Errorf("%w: --index-epochs %d, --retrieval-epochs %d and --index-max-steps %d; want ≥ 1, ≥ 0 and ≥ 0", errUsage, f.indexEpochs, f.retEpochs, f.indexMaxSteps)
	}
	if f.validEpochs < 1 || f.patience < 0 || f.retPatience < 0 {
		return scheme, fmt.Errorf("%w: --valid-epochs %d, --patience %d and --retrieval-patience %d; want ≥ 1, ≥ 0 and ≥ 0", errUsage, f.validEpochs, f.patience, f.retPatience)
	}
	if f.indexTarget < 0 || f.indexTarget > 1 || f.retVal < 0 || f.retVal >= 1 {
		return scheme, fmt.Errorf("%w: --index-target %g wanted in [0,1] and --retrieval-val %g in [0,1)", errUsage, f.indexTarget, f.retVal)
	}
	return scheme, nil
}

// dsiRun is one train-dsi run: the model it trains in, the gallery and
// data it trains on, and the IDs the gallery is indexed under.
type dsiRun struct {
	f       dsiFlags
	b       *store.Bundle
	e       *engine.Engine
	g       *gallery.Gallery
	ds      *dataset.Dataset
	ids     *dsi.IDs
	tr      *trie.Trie // of ids
	workers int        // image loaders
	// indexPhase sets these: the indexing accuracy is measured on the
	// gallery images sample of evalSrc after each phase.
	evalSrc *dataset.Loader
	sample  []int
}

// openDSI opens the model of f with its gallery and data, which must
// hold the same gallery images.
func openDSI(f dsiFlags) (*dsiRun, error) {
	b, e, err := openModel(f.dir)
	if err != nil {
		return nil, err
	}
	g, err := assigned(e, f.dir)
	if err != nil {
		return nil, err
	}
	ds, _, err := reopenData(b)
	if err != nil {
		return nil, err
	}
	if ds.Gallery.Len() != g.Len() {
		return nil, fmt.Errorf("the data has %d gallery images, the model's gallery %d; rerun 'irgen assign --model %s'", ds.Gallery.Len(), g.Len(), f.dir)
	}
	return &dsiRun{f: f, b: b, e: e, g: g, ds: ds, workers: config.Workers()}, nil
}

// assignIDs loads or assigns the gallery's IDs by scheme and builds their
// prefix tree.
func (r *dsiRun) assignIDs(scheme dsi.Scheme) error {
	ac := dsi.DefaultAssignConfig()
	ac.Scheme, ac.Seed, ac.Branch, ac.Leaf, ac.Workers = scheme, uint64(r.f.seed), r.f.branch, r.f.leaf, config.Workers()
	ids, err := dsiIDs(r.b, ac, r.g.Labels, r.g.Features, r.g.Dim, r.g.Keys)
	if err != nil {
		return err
	}
	tr, err := ids.Trie()
	if err != nil {
		return err
	}
	r.ids, r.tr = ids, tr
	return nil
}

// newModel returns the untrained encoder-decoder, its encoder from the
// tokenizer's weights or random ones as --init says.
func (r *dsiRun) newModel() (*decoder.Model, error) {
	cfg := dsi.DefaultConfig(r.ids.Digits)
	cfg.Dim, cfg.Depth, cfg.Heads, cfg.MLPDim, cfg.Smoothing, cfg.Dropout = r.f.dim, r.f.depth, r.f.heads, r.f.mlp, r.f.smoothing, r.f.dropout
	from := r.e.Tokenizer.Vars
	if r.f.init == "scratch" {
		from = nil
	}
	m, err := decoder.New(r.e.Tokenizer.Backend, cfg, r.e.Tokenizer.Config.Encoder, from, r.f.seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return m, nil
}

// trainConfig returns the training settings of a phase of at most epochs
// over n images, validated every --valid-epochs epochs (every epoch
// when every is 1) by validate.
func (r *dsiRun) trainConfig(epochs, n, every int, validate func() (float64, string, error)) decoder.TrainConfig {
	tc := decoder.DefaultTrainConfig()
	tc.Budget = train.Budget{Epochs: float64(epochs)}
	tc.Batch, tc.LR, tc.EncoderLRMult, tc.WarmupEpochs, tc.Seed, tc.Out = r.f.batch, r.f.lr, r.f.encoderLRMult, r.f.warmup, r.f.seed, stderr
	tc.Validate, tc.Patience = validate, r.f.patience
	tc.ValidEvery = max(1, every*n/max(r.f.batch, 1))
	return tc
}

// transform returns the model's image transform, without random crops
// and flips unless augment.
func (r *dsiRun) transform(augment bool) imageproc.Transform {
	if augment {
		return r.e.Transform
	}
	noAug := r.e.Transform
	noAug.ScaleMin, noAug.ScaleMax, noAug.Flip = 1, 1, false
	return noAug
}

// indexPhase trains m to map gallery images to their IDs until their
// indexing accuracy reaches --index-target, reports the zero-shot
// indexing accuracy and returns the training seconds.
func (r *dsiRun) indexPhase(ctx context.Context, m *decoder.Model) (float64, error) {
	src := dataset.NewLoader(r.ds.Gallery, r.transform(r.f.indexAugment), r.workers)
	r.evalSrc = dataset.NewLoader(r.ds.Gallery, r.e.Transform, r.workers)
	r.sample = dsi.Sample(r.g.Len(), r.f.iaSample, uint64(r.f.seed))
	tc := r.trainConfig(r.f.indexEpochs, r.g.Len(), r.f.validEpochs, dsi.IndexScore(m, r.ids, r.tr, r.evalSrc, r.sample, r.f.beam))
	tc.Budget.MaxSteps, tc.Target, tc.Name = r.f.indexMaxSteps, r.f.indexTarget, "dsi indexing"
	zs, secs, err := dsi.TrainIndex(ctx, m, r.b.Path(dsi.IndexDir), tc, src, r.ids)
	if err != nil {
		return 0, err
	}
	return r.reportPhase("indexing", "zero-shot", zs, secs)
}

// retrievalPhase, after indexPhase, fine-tunes the indexed model to map
// queries to the IDs of same-class gallery images, keeping the weights of
// the best held-out precision, reports the fine-tuned indexing accuracy
// and returns the training seconds.
func (r *dsiRun) retrievalPhase(ctx context.Context) (float64, error) {
	queries, labels := r.retrievalQueries()
	trainIdx, valIdx := dsi.HoldOut(queries.Len(), r.f.retVal, uint64(r.f.seed))
	fmt.Fprintf(stderr, "irgen: ViT-DSI retrieval phase: %d queries → IDs of same-class gallery images, %d held out, at most %d epochs\n",
		len(trainIdx), len(valIdx), r.f.retEpochs)
	m, err := dsi.LoadIndexed(r.e.Tokenizer.Backend, r.b.Path(dsi.IndexDir))
	if err != nil {
		return 0, err
	}
	var validate func() (float64, string, error)
	if len(valIdx) > 0 {
		val := dataset.NewLoader(dataset.Sub(queries, valIdx), r.e.Transform, r.workers)
		validate = dsi.RetrievalScore(m, r.tr, r.g.Labels, val, pick(labels, valIdx))
	}
	tc := r.trainConfig(r.f.retEpochs, len(trainIdx), 1, validate)
	tc.Name, tc.Patience = "dsi retrieval", r.f.retPatience
	src := dataset.NewLoader(dataset.Sub(queries, trainIdx), r.transform(r.f.retAug), r.workers)
	ft, secs, err := dsi.TrainRetrieval(ctx, m, r.b.Path(dsi.RetrievalDir), tc, src, pick(labels, trainIdx), r.g.Labels, r.ids)
	if err != nil {
		return 0, err
	}
	return r.reportPhase("retrieval", "fine-tuned", ft, secs)
}

// reportPhase measures the indexing accuracy of m, which the named phase
// trained in secs, reports it as that of the model called what and
// returns secs.
func (r *dsiRun) reportPhase(phase, what string, m *decoder.Model, secs float64) (float64, error) {
	acc, err := dsi.IndexingAccuracy(m, r.ids, r.tr, r.evalSrc, r.sample, r.f.beam)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(stderr, "irgen: ViT-DSI %s phase trained in %s; %s %v\n", phase, fmtSecs(secs), what, acc)
	return secs, nil
}

// pick returns xs at positions idx.
func pick[T any](xs []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}

// retrievalQueries returns the retrieval phase's queries and their
// labels: the training images that are not gallery images (seed 002's
// retrieval set) when there are any, else all training images, or the
// gallery images themselves when training classes are missing from the
// gallery.
func (r *dsiRun) retrievalQueries() (dataset.Split, []int32) {
	train := r.ds.Train
	if own := notIn(train, r.ds.Gallery); len(own) > 0 && len(own) < train.Len() {
		train = dataset.Sub(train, own)
	}
	labels := dataset.Labels(train)
	if _, err := dsi.RetrievalPairs(labels, r.g.Labels, r.ids); err != nil {
		// Disjoint train and gallery classes (SOP): the queries are
		// the gallery images themselves, each → another of its class.
		fmt.Fprintf(stderr, "irgen: training classes missing from the gallery; the retrieval phase pairs gallery images with each other\n")
		return r.ds.Gallery, r.g.Labels
	}
	return train, labels
}

// notIn returns the positions of the images of s whose keys are not in t.
func notIn(s, t dataset.Split) []int {
	keys := make(map[string]bool, t.Len())
	for i := range t.Len() {
		keys[t.Key(i)] = true
	}
	var out []int
	for i := range s.Len() {
		if !keys[s.Key(i)] {
			out = append(out, i)
		}
	}
	return out
}

// dsiMethods lists ViT-DSI's methods, zero-shot first.
var dsiMethods = []engine.Method{dsi.ZeroShot, dsi.FineTuned}
