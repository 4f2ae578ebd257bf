package mrl

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/train"
)

// TrainConfig holds the optimization settings.
type TrainConfig struct {
	// Budget is the number of optimizer steps, from the collection size.
	Budget train.Budget `json:"budget"`
	Batch  int          `json:"batch"`
	LR     float64      `json:"lr"` // peak rate of the head (projection and classifiers)
	// EncoderLRMult scales the encoder's rate: below 1 when it starts from
	// the trained tokenizer, 1 from scratch.
	EncoderLRMult float64 `json:"encoder_lr_mult"`
	WarmupEpochs  float64 `json:"warmup_epochs"`
	Seed          int64   `json:"seed"`

	SaveEvery time.Duration `json:"-"`
	Out       io.Writer     `json:"-"`
}

// DefaultTrainConfig returns CPU-sized settings for an encoder that starts
// from the trained tokenizer: 3 epochs.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Budget: train.Budget{Epochs: 3}, Batch: 128, LR: 1e-3, EncoderLRMult: 0.1, WarmupEpochs: 0.5, Seed: 1,
		SaveEvery: 5 * time.Minute, Out: os.Stderr}
}

// Validate checks the settings.
func (tc TrainConfig) Validate() error {
	b := tc.Budget
	switch {
	case (b.Epochs <= 0 && b.Steps <= 0) || b.Epochs < 0 || b.Steps < 0 || tc.Batch <= 0:
		return fmt.Errorf("mrl: %g epochs (%d steps) of batch %d, want positive", b.Epochs, b.Steps, tc.Batch)
	case !(tc.LR > 0) || tc.EncoderLRMult < 0 || tc.WarmupEpochs < 0:
		return fmt.Errorf("mrl: learning rate %g, encoder multiplier %g, warm-up %g epochs: want a positive rate and non-negative others",
			tc.LR, tc.EncoderLRMult, tc.WarmupEpochs)
	}
	return nil
}

// BatchSeed implements train.Config.
func (tc TrainConfig) BatchSeed() (int, int64) { return tc.Batch, tc.Seed }

// Train trains m with the Matryoshka loss on the images of src, saving
// into dir. If dir holds an unfinished run with the same settings it is
// resumed from its last checkpoint; a finished one is loaded into m. It
// returns the training time in seconds, summed over resumed runs.
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *dataset.Loader) (float64, error) {
	if err := tc.Validate(); err != nil {
		return 0, err
	}
	steps, err := tc.Budget.For(src.Len(), tc.Batch)
	if err != nil {
		return 0, fmt.Errorf("mrl: %w", err)
	}
	run := &train.Run[TrainConfig]{Name: "mrl", Dir: dir, StateFile: StateFile, Out: tc.Out,
		Fresh:  fmt.Sprintf("delete %s to start over", StateFile),
		Save:   func() error { return m.Save(dir) },
		Resume: func() error { return m.resume(dir) },
	}
	if finished, err := run.Start(tc, steps); err != nil || finished {
		return run.State.Seconds, err
	}
	step, err := newStep(m, tc, src, steps)
	if err != nil {
		return 0, err
	}
	return run.Train(ctx, &train.Loop{Batch: tc.Batch, SaveEvery: tc.SaveEvery, Step: step})
}

// resume loads the model saved in dir into m, which must be of the same
// shape.
func (m *Model) resume(dir string) error {
	loaded, err := Load(m.Backend, dir)
	if err != nil {
		return fmt.Errorf("mrl: resume: %w", err)
	}
	if !sameShape(loaded.Config, m.Config) {
		return fmt.Errorf("mrl: %s holds a model of dim %d, nesting %v, shared %v; delete %s to start over",
			dir, loaded.Config.Dim, loaded.Config.Nesting, loaded.Config.Shared, StateFile)
	}
	m.Vars, m.Config = loaded.Vars, loaded.Config
	return nil
}

// newStep compiles the training step of a run of steps steps on batches
// of src.
func newStep(m *Model, tc TrainConfig, src *dataset.Loader, steps int) (func(i int) (string, error), error) {
	batches := &train.Batches{Seed: tc.Seed, N: src.Len(), Size: tc.Batch}
	spe := batches.PerEpoch()
	opt := nn.DefaultAdamW(steps, int(tc.WarmupEpochs*float64(spe)))
	opt.LR, opt.WarmupLR, opt.ClipNorm = tc.LR, tc.LR/1000, 1
	opt.Multipliers = map[string]float64{EncoderScope: tc.EncoderLRMult}
	c := m.Config
	exec, err := model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images, labels *Node) []*Node {
		scope.Store().SetTraining(images.Graph(), true) // see nn.Activation.Apply
		l := Loss(scope, c, Embed(scope, c, images), labels)
		lr := opt.Update(scope, l.Total)
		return append([]*Node{l.Total, l.AccuracyMin, l.AccuracyFull, lr}, l.PerDim...)
	})
	if err != nil {
		return nil, err
	}
	ec := c.Encoder
	images := make([]float32, tc.Batch*ec.ImageSize*ec.ImageSize*ec.Channels)
	labels := make([]int32, tc.Batch)
	epochs := (steps + spe - 1) / spe
	return func(i int) (string, error) {
		epoch, idx := batches.At(i)
		if err := src.Fill(idx, tc.Seed<<32+int64(i), images, labels); err != nil {
			return "", err
		}
		for _, l := range labels {
			if l < 0 || int(l) >= c.Classes {
				return "", fmt.Errorf("mrl: label %d outside [0, %d)", l, c.Classes)
			}
		}
		v, err := train.Exec(exec, tensors.FromFlatDataAndDimensions(images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
			tensors.FromFlatDataAndDimensions(labels, tc.Batch))
		if err != nil {
			return "", err
		}
		var per strings.Builder
		for k, mm := range c.Nesting {
			fmt.Fprintf(&per, " %d:%.2f", mm, v[4+k])
		}
		return fmt.Sprintf("epoch %d/%d loss %.3f (ce%s) acc@%d %.3f acc@%d %.3f lr %.2g",
			epoch+1, epochs, v[0], per.String(), c.Nesting[0], v[1], c.Dim, v[2], v[3]), nil
	}, nil
}

// sameShape reports whether two configurations describe the same
// variables and loss.
func sameShape(a, b Config) bool { return reflect.DeepEqual(a, b) }
