package decoder

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/train"
)

// StateFile records how far decoder training got, for resuming.
const StateFile = "decoder.state.json"

// BestFile holds the weights with the best validation score while
// training runs; they replace WeightsFile when training ends.
const BestFile = "decoder.best.ckpt"

// TrainConfig holds the decoder's optimization settings.
type TrainConfig struct {
	// Budget is the number of optimizer steps, from the collection size.
	Budget train.Budget `json:"budget"`
	Batch  int          `json:"batch"`
	LR     float64      `json:"lr"` // peak rate of the decoder
	// EncoderLRMult scales the encoder's rate; IRGen uses 0.01. At 0
	// (the default) the encoder stays the tokenizer's: steps compute no
	// gradient through it, and a served query is encoded once for both
	// the decoder and the ranking (engine.OnePass).
	EncoderLRMult float64 `json:"encoder_lr_mult"`
	WarmupEpochs  float64 `json:"warmup_epochs"`
	Seed          int64   `json:"seed"`

	// Validate scores the decoder on held-out images every ValidEvery
	// steps; training keeps the best weights and stops after Patience
	// checks without improvement. Nil trains the whole budget.
	Validate   func() (score float64, status string, err error) `json:"-"`
	ValidEvery int                                              `json:"valid_every"`
	Patience   int                                              `json:"patience"`
	// Target, when positive, stops training once validation scores at
	// least Target.
	Target float64 `json:"target,omitempty"`

	SaveEvery time.Duration `json:"-"`
	Out       io.Writer     `json:"-"`
	// Name prefixes progress lines (default "decoder").
	Name string `json:"-"`
}

// DefaultBudget gives a collection at least 1,200 steps (a 5,000-image
// folder trains about 30 epochs), ten epochs when that is more, and at most
// 3,000 (about 6 epochs of 60,000 images, 15 minutes on 2 cores).
func DefaultBudget() train.Budget {
	return train.Budget{Epochs: 10, MinSteps: 1200, MaxSteps: 3000}
}

// DefaultTrainConfig returns CPU-sized settings.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Budget: DefaultBudget(), Batch: 128, LR: 5e-4, EncoderLRMult: 0, WarmupEpochs: 0.5, Seed: 1,
		ValidEvery: 200, Patience: 4, SaveEvery: 5 * time.Minute, Out: os.Stderr}
}

// Pairs gives the training pairs: for training image i (a position in the
// loader's split) with label Labels[i], a target is drawn uniformly among
// the IDs of the images of the same label.
type Pairs struct {
	Labels []int32 // label of each training image
	// ByLabel lists, per label, the IDs (M tokens each, flattened) targets
	// are drawn from.
	ByLabel map[int32][]int32
	M       int
}

// NewPairs groups the IDs codes (n × M) of images with labels by label.
func NewPairs(trainLabels, labels, codes []int32, m int) (*Pairs, error) {
	if len(codes) != len(labels)*m {
		return nil, fmt.Errorf("decoder: %d codes for %d images of %d tokens", len(codes), len(labels), m)
	}
	p := &Pairs{Labels: trainLabels, ByLabel: map[int32][]int32{}, M: m}
	for i, l := range labels {
		p.ByLabel[l] = append(p.ByLabel[l], codes[i*m:(i+1)*m]...)
	}
	for i, l := range trainLabels {
		if len(p.ByLabel[l]) == 0 {
			return nil, fmt.Errorf("decoder: training image %d has label %d, which no target image has", i, l)
		}
	}
	return p, nil
}

func (p *Pairs) target(i int, rng *rand.Rand, dst []int32) {
	ids := p.ByLabel[p.Labels[i]]
	k := rng.IntN(len(ids) / p.M)
	copy(dst, ids[k*p.M:(k+1)*p.M])
}

// BatchSeed implements train.Config.
func (tc TrainConfig) BatchSeed() (int, int64) { return tc.Batch, tc.Seed }

// Trained reports whether the decoder in dir finished training.
func Trained(dir string) bool { return train.Finished(filepath.Join(dir, StateFile)) }

// Seconds returns the training time recorded in dir, summed over resumed
// runs (0 when there is none).
func Seconds(dir string) float64 { return train.Seconds(filepath.Join(dir, StateFile)) }

// freezeEncoder keeps the encoder as the tokenizer trained it: its
// variables are not trained, so the step computes no gradient through it.
func (m *Model) freezeEncoder() {
	for v := range m.Vars.IterVariables() {
		if strings.HasPrefix(v.Path(), EncoderScope+"/") {
			v.SetTrainable(false)
		}
	}
}

// Remove deletes the decoder's files from dir, so that the next Train
// starts afresh.
func Remove(dir string) error {
	return train.Remove(dir, StateFile, WeightsFile, ConfigFile, BestFile)
}

// Train trains m on pairs from src, saving into dir and resuming an
// unfinished run found there. It returns the training seconds.
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *dataset.Loader, pairs *Pairs) (float64, error) {
	steps, err := tc.Budget.For(src.Len(), tc.Batch)
	if err != nil {
		return 0, fmt.Errorf("decoder: %w", err)
	}
	name := tc.Name
	if name == "" {
		name = "decoder"
	}
	run := &train.Run[TrainConfig]{Name: name, Dir: dir, StateFile: StateFile, BestFile: BestFile,
		Fresh: "add --fresh to retrain it", Out: tc.Out,
		Save:        func() error { return m.Save(dir) },
		Resume:      func() error { return m.loadWeights(filepath.Join(dir, WeightsFile)) },
		SaveWeights: m.saveWeights,
		LoadWeights: m.loadWeights,
	}
	if finished, err := run.Start(tc, steps); err != nil || finished {
		return run.State.Seconds, err
	}
	step, input, err := newStep(m, tc, src, pairs, run.State.Steps)
	if err != nil {
		return 0, err
	}
	defer input.Wait()
	return run.Train(ctx, &train.Loop{Batch: tc.Batch, SaveEvery: tc.SaveEvery, Step: step, InputWait: input.Waited,
		Validate: tc.Validate, ValidEvery: tc.ValidEvery, Patience: tc.Patience, Target: tc.Target})
}

// newStep compiles the training step of a run of steps steps: the images
// of a batch of src and, as targets, IDs drawn from pairs, loaded a step
// ahead by input (wait for a load still in flight when the run ends).
func newStep(m *Model, tc TrainConfig, src *dataset.Loader, pairs *Pairs, steps int) (step func(i int) (string, error), input *train.Ahead[stepInput], err error) {
	batches := &train.Batches{Seed: tc.Seed, N: src.Len(), Size: tc.Batch}
	ec := m.Encoder
	exec, err := newStepExec(m, stepOptimizer(m, tc, steps, batches.PerEpoch()))
	if err != nil {
		return nil, nil, err
	}
	noise := newStepNoise(m, tc.Batch)
	input = train.NewAhead(newStepInput(m, tc.Batch), newStepInput(m, tc.Batch), steps, func(i int, in *stepInput) error {
		_, idx := batches.At(i)
		if err := src.Fill(idx, tc.Seed<<32+int64(i), in.images, nil); err != nil {
			return err
		}
		in.rng = rand.New(rand.NewPCG(uint64(tc.Seed)+7, uint64(i)))
		for k, ix := range idx {
			pairs.target(ix, in.rng, in.codes[k*m.Config.M:(k+1)*m.Config.M])
		}
		return nil
	})
	return func(i int) (string, error) {
		in, err := input.Get(i)
		if err != nil {
			return "", err
		}
		args := []any{tensors.FromFlatDataAndDimensions(in.images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
			tensors.FromFlatDataAndDimensions(in.codes, tc.Batch, m.Config.M)}
		v, err := train.Exec(exec, append(args, noise.draw(in.rng)...)...)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("epoch %d loss %.3f token-acc %.3f lr %.2g", i/batches.PerEpoch()+1, v[0], v[1], v[2]), nil
	}, input, nil
}

// stepOptimizer returns the optimizer of a run of steps steps of perEpoch
// a epoch; with an encoder rate of 0 it freezes m's encoder.
func stepOptimizer(m *Model, tc TrainConfig, steps, perEpoch int) nn.AdamW {
	opt := nn.DefaultAdamW(steps, int(tc.WarmupEpochs*float64(perEpoch)))
	opt.LR, opt.WarmupLR, opt.ClipNorm = tc.LR, tc.LR/1000, 1
	opt.Multipliers = map[string]float64{EncoderScope: tc.EncoderLRMult}
	if tc.EncoderLRMult == 0 {
		m.freezeEncoder()
	}
	return opt
}

// stepInput is the input of a training step: the images of its batch,
// their target IDs, and the step's generator after drawing the targets
// (it draws the dropout noise next).
type stepInput struct {
	images []float32
	codes  []int32
	rng    *rand.Rand
}

func newStepInput(m *Model, batch int) stepInput {
	ec := m.Encoder
	return stepInput{images: make([]float32, batch*ec.ImageSize*ec.ImageSize*ec.Channels), codes: make([]int32, batch*m.Config.M)}
}

// newStepExec compiles the training step: images and codes in, and the
// dropout noise when the decoder drops; loss, token accuracy and rate out.
func newStepExec(m *Model, opt nn.AdamW) (*model.Exec, error) {
	ec := m.Encoder
	step := func(scope *model.Scope, images, codes *Node, d *Dropout) []*Node {
		memory := encoder.Forward(scope.Store().Scope(EncoderScope), ec, images)
		loss, acc := Loss(scope, m.Config, memory, codes, d)
		lr := opt.Update(scope, loss)
		return []*Node{loss, acc, lr}
	}
	if m.Config.Dropout <= 0 {
		return model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images, codes *Node) []*Node {
			return step(scope, images, codes, nil)
		})
	}
	return model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images, codes, branches, memory *Node) []*Node {
		return step(scope, images, codes, &Dropout{Rate: m.Config.Dropout, Branches: branches, Memory: memory})
	})
}

// stepNoise holds the buffers of a training step's dropout noise; it draws
// nothing when the decoder does not drop.
type stepNoise struct {
	branches, memory       []float32
	branchDims, memoryDims []int
}

func newStepNoise(m *Model, batch int) *stepNoise {
	if m.Config.Dropout <= 0 {
		return &stepNoise{}
	}
	b, mem := m.Config.noiseDims(batch, m.Encoder.Tokens(), m.Encoder.Dim)
	return &stepNoise{branches: make([]float32, shapes.Make(0, b...).Size()), memory: make([]float32, shapes.Make(0, mem...).Size()), branchDims: b, memoryDims: mem}
}

// draw fills the buffers from rng and returns them as step inputs.
func (n *stepNoise) draw(rng *rand.Rand) []any {
	if n.branches == nil {
		return nil
	}
	uniform(rng, n.branches)
	uniform(rng, n.memory)
	return []any{tensors.FromFlatDataAndDimensions(n.branches, n.branchDims...),
		tensors.FromFlatDataAndDimensions(n.memory, n.memoryDims...)}
}
