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

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/irgen/irgen/internal/batch"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store"
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
	// EncoderLRMult scales the encoder's rate; IRGen uses 0.01.
	EncoderLRMult float64 `json:"encoder_lr_mult"`
	WarmupEpochs  float64 `json:"warmup_epochs"`
	Seed          int64   `json:"seed"`

	// Validate scores the decoder on held-out images every ValidEvery
	// steps; training keeps the best weights and stops after Patience
	// checks without improvement. Nil trains the whole budget.
	Validate   func() (score float64, status string, err error) `json:"-"`
	ValidEvery int                                              `json:"valid_every"`
	Patience   int                                              `json:"patience"`

	SaveEvery time.Duration `json:"-"`
	Out       io.Writer     `json:"-"`
}

// DefaultBudget gives a collection at least 1,200 steps (a 5,000-image
// folder trains about 30 epochs), ten epochs when that is more, and at most
// 3,000 (about 6 epochs of 60,000 images, 15 minutes on 2 cores).
func DefaultBudget() train.Budget {
	return train.Budget{Epochs: 10, MinSteps: 1200, MaxSteps: 3000}
}

// DefaultTrainConfig returns CPU-sized settings.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Budget: DefaultBudget(), Batch: 128, LR: 5e-4, EncoderLRMult: 0.01, WarmupEpochs: 0.5, Seed: 1,
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

type state = train.State[TrainConfig]

// Trained reports whether the decoder in dir finished training.
func Trained(dir string) bool {
	st, err := readState(dir)
	return err == nil && st.Finished()
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
	for _, f := range []string{StateFile, WeightsFile, ConfigFile, BestFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("decoder: %w", err)
		}
	}
	return nil
}

// Train trains m on pairs from src, saving into dir and resuming an
// unfinished run found there. It returns the training seconds.
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *batch.Loader, pairs *Pairs) (float64, error) {
	steps, err := tc.Budget.For(src.Len(), tc.Batch)
	if err != nil {
		return 0, fmt.Errorf("decoder: %w", err)
	}
	spe := src.Len() / tc.Batch
	st := state{Train: tc, Steps: steps}
	if prev, err := readState(dir); err == nil {
		if prev.Train.Batch != tc.Batch || prev.Steps != steps || prev.Train.Seed != tc.Seed {
			return 0, fmt.Errorf("decoder: %s holds a run with other settings (batch %d, %d steps, seed %d); add --fresh to retrain it",
				dir, prev.Train.Batch, prev.Steps, prev.Train.Seed)
		}
		if err := m.loadWeights(filepath.Join(dir, WeightsFile)); err != nil {
			return 0, fmt.Errorf("decoder: resume: %w", err)
		}
		st.Done, st.Seconds, st.Best = prev.Done, prev.Seconds, prev.Best
		if st.Finished() {
			return st.Seconds, nil
		}
		fmt.Fprintf(tc.Out, "decoder: resuming %s at step %d of %d\n", dir, st.Done, st.Steps)
	}
	opt := nn.DefaultAdamW(st.Steps, int(tc.WarmupEpochs*float64(spe)))
	opt.LR, opt.WarmupLR, opt.ClipNorm = tc.LR, tc.LR/1000, 1
	opt.Multipliers = map[string]float64{EncoderScope: tc.EncoderLRMult}
	if tc.EncoderLRMult == 0 {
		m.freezeEncoder()
	}
	ec := m.Encoder
	exec, err := model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images, codes *Node) []*Node {
		memory := encoder.Forward(scope.Store().Scope(EncoderScope), ec, images)
		loss, acc := Loss(scope, m.Config, memory, codes)
		lr := opt.Update(scope, loss)
		return []*Node{loss, acc, lr}
	})
	if err != nil {
		return 0, err
	}
	size := ec.ImageSize * ec.ImageSize * ec.Channels
	images := make([]float32, tc.Batch*size)
	codes := make([]int32, tc.Batch*m.Config.M)
	var perm []int
	permEpoch := -1
	started, base := time.Now(), st.Seconds
	bestPath := filepath.Join(dir, BestFile)
	save := func(done int) error {
		st.Done = done
		st.Seconds = base + time.Since(started).Seconds()
		if st.Finished() && st.Best.Step > 0 && st.Best.Step != done {
			// The run is over: the best weights become the model's.
			if err := m.loadWeights(bestPath); err != nil {
				return err
			}
		}
		if err := m.Save(dir); err != nil {
			return err
		}
		return store.WriteJSON(filepath.Join(dir, StateFile), st)
	}
	loop := &train.Loop{
		Name: "decoder", Steps: st.Steps, Start: st.Done, Batch: tc.Batch, SaveEvery: tc.SaveEvery, Out: tc.Out,
		Save:     save,
		Validate: tc.Validate, ValidEvery: tc.ValidEvery, Patience: tc.Patience, Best: &st.Best,
		SaveBest: func() error { return m.saveWeights(bestPath) },
		Step: func(i int) (string, error) {
			epoch, j := i/spe, i%spe
			if epoch != permEpoch {
				perm = train.Order(tc.Seed, epoch, src.Len())
				permEpoch = epoch
			}
			idx := perm[j*tc.Batch : (j+1)*tc.Batch]
			if err := src.Fill(idx, tc.Seed<<32+int64(i), images, nil); err != nil {
				return "", err
			}
			rng := rand.New(rand.NewPCG(uint64(tc.Seed)+7, uint64(i)))
			for k, ix := range idx {
				pairs.target(ix, rng, codes[k*m.Config.M:(k+1)*m.Config.M])
			}
			v, err := train.Exec(exec, tensors.FromFlatDataAndDimensions(images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
				tensors.FromFlatDataAndDimensions(codes, tc.Batch, m.Config.M))
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("epoch %d loss %.3f token-acc %.3f lr %.2g", epoch+1, v[0], v[1], v[2]), nil
		},
	}
	err = loop.Run(ctx)
	if err == nil {
		os.Remove(bestPath)
	}
	return base + time.Since(started).Seconds(), err
}
