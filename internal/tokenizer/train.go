package tokenizer

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/rq"
	"github.com/irgen/irgen/internal/train"
)

// StateFile records how far training got, for resuming.
const StateFile = "tokenizer.state.json"

// BestFile holds the weights with the best validation score while
// training runs; they replace WeightsFile when training ends.
const BestFile = "tokenizer.best.ckpt"

// TrainConfig holds the optimization settings.
type TrainConfig struct {
	// Budget is the number of optimizer steps, from the collection size.
	Budget train.Budget `json:"budget"`
	Batch  int          `json:"batch"`
	LR     float64      `json:"lr"` // peak rate of the head (FC, classifier, codebooks)
	// EncoderLRMult scales the encoder's rate: IRGen uses 0.01 on a
	// pretrained CLIP encoder; a randomly initialized one needs 1.
	EncoderLRMult float64 `json:"encoder_lr_mult"`
	WarmupEpochs  float64 `json:"warmup_epochs"`
	// QuantizeAfter is the number of epochs trained with the classification
	// loss alone before the codebooks are initialized by k-means on the
	// features and the quantization losses switched on. 0 initializes them
	// from the starting encoder (a pretrained one).
	QuantizeAfter int   `json:"quantize_after"`
	KMeansSample  int   `json:"kmeans_sample"` // images whose features seed the codebooks
	Seed          int64 `json:"seed"`
	Workers       int   `json:"-"`

	// Validate scores the tokenizer's features on held-out images every
	// ValidEvery steps once the codebooks exist; training keeps the best
	// weights and stops after Patience checks without improvement. Nil
	// trains the whole budget.
	Validate   func(m *Model) (score float64, status string, err error) `json:"-"`
	ValidEvery int                                                      `json:"valid_every"`
	Patience   int                                                      `json:"patience"`

	SaveEvery time.Duration `json:"-"`
	Out       io.Writer     `json:"-"`
}

// DefaultBudget gives 20 epochs (the Fashion-MNIST setting, 9,360 steps of
// 60,000 images) but at least 1,000 steps, so that a 5,000-image folder
// trains about 28 epochs.
func DefaultBudget() train.Budget {
	return train.Budget{Epochs: 20, MinSteps: 1000}
}

// DefaultTrainConfig returns settings for a randomly initialized encoder.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Budget: DefaultBudget(), Batch: 128, LR: 1e-3, EncoderLRMult: 1, WarmupEpochs: 1,
		QuantizeAfter: 1, KMeansSample: 20000, Seed: 1, Workers: 2, ValidEvery: 500, Patience: 3,
		SaveEvery: 5 * time.Minute, Out: os.Stderr}
}

// BatchSeed implements train.Config.
func (tc TrainConfig) BatchSeed() (int, int64) { return tc.Batch, tc.Seed }

// Trained reports whether the tokenizer in dir finished training.
func Trained(dir string) bool { return train.Finished(filepath.Join(dir, StateFile)) }

// Seconds returns the training time recorded in dir, summed over resumed
// runs (0 when there is none).
func Seconds(dir string) float64 { return train.Seconds(filepath.Join(dir, StateFile)) }

// Remove deletes the tokenizer's files from dir, so that the next Train
// starts afresh.
func Remove(dir string) error {
	return train.Remove(dir, StateFile, WeightsFile, ConfigFile, BestFile)
}

// Steps returns the optimizer steps of training on n images, or an error
// that says why the settings cannot train (before any work starts).
func (tc TrainConfig) Steps(n int) (int, error) {
	steps, err := tc.Budget.For(n, tc.Batch)
	if err != nil {
		return 0, fmt.Errorf("tokenizer: %w", err)
	}
	if spe := n / tc.Batch; tc.QuantizeAfter*spe >= steps {
		return 0, fmt.Errorf("tokenizer: %d steps end before the codebooks are made after %d epochs of %d steps; train longer or lower --quantize-after",
			steps, tc.QuantizeAfter, spe)
	}
	return steps, nil
}

// Train trains m on the images of src, saving into dir. If dir holds an
// unfinished run it is resumed from its last checkpoint; a finished one
// is kept as it is. It returns the training time in seconds, summed over
// resumed runs.
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *dataset.Loader) (float64, error) {
	steps, err := tc.Steps(src.Len())
	if err != nil {
		return 0, err
	}
	run := &train.Run[TrainConfig]{Name: "tokenizer", Dir: dir, StateFile: StateFile, BestFile: BestFile,
		Fresh: "add --fresh to retrain it", KeepFinished: true, Out: tc.Out,
		Save: func() error { return m.Save(dir) },
		Resume: func() error {
			loaded, err := Load(m.Backend, dir)
			if err != nil {
				return fmt.Errorf("tokenizer: resume: %w", err)
			}
			m.Vars, m.Config = loaded.Vars, loaded.Config
			return nil
		},
		SaveWeights: m.saveWeights,
		LoadWeights: m.loadWeights,
	}
	if finished, err := run.Start(tc, steps); err != nil || finished {
		return run.State.Seconds, err
	}
	t, err := newTrainer(m, tc, src, run.State)
	if err != nil {
		return 0, err
	}
	defer t.input.Wait()
	loop := &train.Loop{Batch: tc.Batch, SaveEvery: tc.SaveEvery, Setup: t.setup, Step: t.step, InputWait: t.input.Waited,
		ValidEvery: tc.ValidEvery, Patience: tc.Patience}
	if tc.Validate != nil {
		loop.Validate = t.validate
	}
	return run.Train(ctx, loop)
}

// trainer is the tokenizer's training step: classification alone until
// the codebooks are made, then with the quantization losses.
type trainer struct {
	m              *Model
	tc             TrainConfig
	src            *dataset.Loader
	batches        *train.Batches
	classify, full *model.Exec
	codebooksReady bool
	input          *train.Ahead[batch]
}

// batch is the input of a step.
type batch struct {
	images []float32
	labels []int32
}

func newTrainer(m *Model, tc TrainConfig, src *dataset.Loader, st train.State[TrainConfig]) (*trainer, error) {
	t := &trainer{m: m, tc: tc, src: src, batches: &train.Batches{Seed: tc.Seed, N: src.Len(), Size: tc.Batch}}
	spe := t.batches.PerEpoch()
	// The codebooks are made before the first step of epoch QuantizeAfter:
	// a run that did it is past it.
	t.codebooksReady = st.Done > tc.QuantizeAfter*spe
	opt := stepOptimizer(tc, st.Steps, spe)
	var err error
	if t.classify, err = newStepExec(m, opt, false); err != nil {
		return nil, err
	}
	if t.full, err = newStepExec(m, opt, true); err != nil {
		return nil, err
	}
	ec := m.Config.Encoder
	newBatch := func() batch {
		return batch{make([]float32, tc.Batch*ec.ImageSize*ec.ImageSize*ec.Channels), make([]int32, tc.Batch)}
	}
	t.input = train.NewAhead(newBatch(), newBatch(), st.Steps, func(i int, b *batch) error {
		_, idx := t.batches.At(i)
		return src.Fill(idx, tc.Seed<<32+int64(i), b.images, b.labels)
	})
	return t, nil
}

// stepOptimizer returns the optimizer of a run of steps steps of
// perEpoch a epoch.
func stepOptimizer(tc TrainConfig, steps, perEpoch int) nn.AdamW {
	opt := nn.DefaultAdamW(steps, int(tc.WarmupEpochs*float64(perEpoch)))
	opt.LR = tc.LR
	opt.WarmupLR = tc.LR / 1000
	opt.ClipNorm = 1
	opt.Multipliers = map[string]float64{EncoderScope: tc.EncoderLRMult}
	return opt
}

// newStepExec compiles a training step: classification alone, or with
// the quantization losses (quantize); it takes images and labels and
// returns the losses, the accuracy and the learning rate.
func newStepExec(m *Model, opt nn.AdamW, quantize bool) (*model.Exec, error) {
	return model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images, labels *Node) []*Node {
		scope.Store().SetTraining(images.Graph(), true) // see nn.Activation.Apply
		l := Loss(scope, m.Config, images, labels, quantize)
		lr := opt.Update(scope, l.Total)
		return []*Node{l.Total, l.Classify, l.Reconstruct, l.Commit, l.Accuracy, lr}
	})
}

// setup makes the codebooks before the first step of epoch QuantizeAfter.
func (t *trainer) setup(i int) error {
	if t.codebooksReady || i/t.batches.PerEpoch() < t.tc.QuantizeAfter {
		return nil
	}
	if err := initCodebooks(t.m, t.src, t.tc); err != nil {
		return err
	}
	t.codebooksReady = true
	return nil
}

// step runs step i.
func (t *trainer) step(i int) (string, error) {
	tc, ec := t.tc, t.m.Config.Encoder
	b, err := t.input.Get(i)
	if err != nil {
		return "", err
	}
	epoch := i / t.batches.PerEpoch()
	exec := t.classify
	if t.codebooksReady {
		exec = t.full
	}
	v, err := train.Exec(exec, tensors.FromFlatDataAndDimensions(b.images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
		tensors.FromFlatDataAndDimensions(b.labels, tc.Batch))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("epoch %d loss %.3f cls %.3f rec %.3f vq %.4f acc %.3f lr %.2g",
		epoch+1, v[0], v[1], v[2], v[3], v[4], v[5]), nil
}

// validate scores the model once its codebooks exist.
func (t *trainer) validate() (float64, string, error) {
	if !t.codebooksReady {
		return 0, "", train.ErrNotReady
	}
	return t.tc.Validate(t.m)
}

// initCodebooks fits the residual quantizer on the current features of up
// to KMeansSample training images and copies it into the codebooks.
func initCodebooks(m *Model, src *dataset.Loader, tc TrainConfig) error {
	start := time.Now()
	defer func() {
		fmt.Fprintf(tc.Out, "tokenizer: codebooks made in %s\n", time.Since(start).Round(time.Second/10))
	}()
	n := min(tc.KMeansSample, src.Len())
	idx := rand.New(rand.NewPCG(uint64(tc.Seed), 1<<40)).Perm(src.Len())[:n]
	feats, err := Encode(m, src, idx)
	if err != nil {
		return err
	}
	fmt.Fprintf(tc.Out, "tokenizer: k-means codebooks (M=%d, L=%d) on %d features\n", m.Config.M, m.Config.L, n)
	q, err := rq.Fit(feats, m.Config.FeatureDim, rq.Config{M: m.Config.M, L: m.Config.L, Iters: 20, Seed: uint64(tc.Seed), Workers: tc.Workers})
	if err != nil {
		return fmt.Errorf("tokenizer: codebook init: %w", err)
	}
	return m.SetCodebooks(q)
}

// Encode returns the features of the images idx of src (eval transform).
func Encode(m *Model, src *dataset.Loader, idx []int) ([]float32, error) {
	return src.Encode(context.Background(), idx, m.Batch*8, m.Features, nil)
}
