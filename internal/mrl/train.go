package mrl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/irgen/irgen/internal/batch"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

// TrainConfig holds the optimization settings.
type TrainConfig struct {
	Epochs int     `json:"epochs"`
	Batch  int     `json:"batch"`
	LR     float64 `json:"lr"` // peak rate of the head (projection and classifiers)
	// EncoderLRMult scales the encoder's rate: below 1 when it starts from
	// the trained tokenizer, 1 from scratch.
	EncoderLRMult float64 `json:"encoder_lr_mult"`
	WarmupEpochs  float64 `json:"warmup_epochs"`
	Seed          int64   `json:"seed"`

	SaveEvery time.Duration `json:"-"`
	Out       io.Writer     `json:"-"`
}

// DefaultTrainConfig returns CPU-sized settings for an encoder that starts
// from the trained tokenizer.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Epochs: 3, Batch: 128, LR: 1e-3, EncoderLRMult: 0.1, WarmupEpochs: 0.5, Seed: 1,
		SaveEvery: 5 * time.Minute, Out: os.Stderr}
}

// Validate checks the settings.
func (tc TrainConfig) Validate() error {
	switch {
	case tc.Epochs <= 0 || tc.Batch <= 0:
		return fmt.Errorf("mrl: %d epochs of batch %d, want positive", tc.Epochs, tc.Batch)
	case !(tc.LR > 0) || tc.EncoderLRMult < 0 || tc.WarmupEpochs < 0:
		return fmt.Errorf("mrl: learning rate %g, encoder multiplier %g, warm-up %g epochs: want a positive rate and non-negative others",
			tc.LR, tc.EncoderLRMult, tc.WarmupEpochs)
	}
	return nil
}

type state = train.State[TrainConfig]

// Trained reports whether the MRL model in dir finished training.
func Trained(dir string) bool {
	st, err := readState(dir)
	return err == nil && st.Steps > 0 && st.Done >= st.Steps
}

// Seconds returns the training time recorded in dir, summed over resumed
// runs (0 when there is none).
func Seconds(dir string) float64 {
	st, err := readState(dir)
	if err != nil {
		return 0
	}
	return st.Seconds
}

func readState(dir string) (state, error) {
	return train.ReadState[TrainConfig](filepath.Join(dir, StateFile))
}

// Train trains m with the Matryoshka loss on the images of src, saving
// into dir. If dir holds an unfinished run with the same settings it is
// resumed from its last checkpoint. It returns the training time in
// seconds, summed over resumed runs.
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *batch.Loader) (float64, error) {
	if err := tc.Validate(); err != nil {
		return 0, err
	}
	if tc.Out == nil {
		tc.Out = io.Discard
	}
	spe := src.Len() / tc.Batch
	if spe == 0 {
		return 0, fmt.Errorf("mrl: %d training images, fewer than a batch of %d", src.Len(), tc.Batch)
	}
	st := state{Train: tc, Steps: spe * tc.Epochs}
	if prev, err := readState(dir); err == nil {
		if prev.Train.Batch != tc.Batch || prev.Train.Epochs != tc.Epochs || prev.Train.Seed != tc.Seed {
			return 0, fmt.Errorf("mrl: %s holds a run with other settings (batch %d, epochs %d, seed %d); delete %s to start over",
				dir, prev.Train.Batch, prev.Train.Epochs, prev.Train.Seed, StateFile)
		}
		loaded, err := Load(m.Backend, dir)
		if err != nil {
			return 0, fmt.Errorf("mrl: resume: %w", err)
		}
		if !sameShape(loaded.Config, m.Config) {
			return 0, fmt.Errorf("mrl: %s holds a model of dim %d, nesting %v, shared %v; delete %s to start over",
				dir, loaded.Config.Dim, loaded.Config.Nesting, loaded.Config.Shared, StateFile)
		}
		m.Vars, m.Config = loaded.Vars, loaded.Config
		st.Done, st.Seconds = prev.Done, prev.Seconds
		if st.Done < st.Steps {
			fmt.Fprintf(tc.Out, "mrl: resuming %s at step %d of %d\n", dir, st.Done, st.Steps)
		}
	}
	if st.Done >= st.Steps {
		return st.Seconds, nil
	}

	opt := nn.DefaultAdamW(st.Steps, int(tc.WarmupEpochs*float64(spe)))
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
		return 0, err
	}

	ec := c.Encoder
	size := ec.ImageSize * ec.ImageSize * ec.Channels
	images := make([]float32, tc.Batch*size)
	labels := make([]int32, tc.Batch)
	var perm []int
	permEpoch := -1
	started, base := time.Now(), st.Seconds
	save := func(done int) error {
		st.Done = done
		st.Seconds = base + time.Since(started).Seconds()
		if err := m.Save(dir); err != nil {
			return err
		}
		data, _ := json.MarshalIndent(st, "", "  ")
		return store.WriteFileAtomic(filepath.Join(dir, StateFile), func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
	}
	loop := &train.Loop{
		Name: "mrl", Steps: st.Steps, Start: st.Done, Batch: tc.Batch, SaveEvery: tc.SaveEvery, Out: tc.Out,
		Save: save,
		Step: func(i int) (string, error) {
			epoch, j := i/spe, i%spe
			if epoch != permEpoch {
				perm = rand.New(rand.NewPCG(uint64(tc.Seed), uint64(epoch))).Perm(src.Len())
				permEpoch = epoch
			}
			if err := src.Fill(perm[j*tc.Batch:(j+1)*tc.Batch], tc.Seed<<32+int64(i), images, labels); err != nil {
				return "", err
			}
			for _, l := range labels {
				if l < 0 || int(l) >= c.Classes {
					return "", fmt.Errorf("mrl: label %d outside [0, %d)", l, c.Classes)
				}
			}
			out, err := exec.Exec(tensors.FromFlatDataAndDimensions(images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
				tensors.FromFlatDataAndDimensions(labels, tc.Batch))
			if err != nil {
				return "", err
			}
			v := make([]float32, len(out))
			for k, t := range out {
				v[k] = tensors.ToScalar[float32](t)
				t.FinalizeAll()
			}
			var per strings.Builder
			for k, mm := range c.Nesting {
				fmt.Fprintf(&per, " %d:%.2f", mm, v[4+k])
			}
			return fmt.Sprintf("epoch %d/%d loss %.3f (ce%s) acc@%d %.3f acc@%d %.3f lr %.2g",
				epoch+1, tc.Epochs, v[0], per.String(), c.Nesting[0], v[1], c.Dim, v[2], v[3]), nil
		},
	}
	err = loop.Run(ctx)
	return base + time.Since(started).Seconds(), err
}

// sameShape reports whether two configurations describe the same
// variables and loss.
func sameShape(a, b Config) bool { return reflect.DeepEqual(a, b) }
