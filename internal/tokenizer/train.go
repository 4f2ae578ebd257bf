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
	"github.com/irgen/irgen/internal/batch"
	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/rq"
	"github.com/irgen/irgen/internal/store"
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

type state struct {
	train.State[TrainConfig]
	CodebooksReady bool `json:"codebooks_ready"`
}

// Trained reports whether the tokenizer in dir finished training.
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
	var st state
	err := store.ReadJSON(filepath.Join(dir, StateFile), &st)
	return st, err
}

// Remove deletes the tokenizer's files from dir, so that the next Train
// starts afresh.
func Remove(dir string) error {
	for _, f := range []string{StateFile, WeightsFile, ConfigFile, BestFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("tokenizer: %w", err)
		}
	}
	return nil
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
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *batch.Loader) (float64, error) {
	steps, err := tc.Steps(src.Len())
	if err != nil {
		return 0, err
	}
	spe := src.Len() / tc.Batch
	st := state{State: train.State[TrainConfig]{Train: tc, Steps: steps}}
	if prev, err := readState(dir); err == nil {
		if prev.Finished() {
			fmt.Fprintf(tc.Out, "tokenizer: %s holds a finished run (%d steps); add --fresh to retrain it\n", dir, prev.Done)
			return prev.Seconds, nil
		}
		if prev.Train.Batch != tc.Batch || prev.Steps != steps || prev.Train.Seed != tc.Seed {
			return 0, fmt.Errorf("tokenizer: %s holds a run with other settings (batch %d, %d steps, seed %d); add --fresh to retrain it",
				dir, prev.Train.Batch, prev.Steps, prev.Train.Seed)
		}
		loaded, err := Load(m.Backend, dir)
		if err != nil {
			return 0, fmt.Errorf("tokenizer: resume: %w", err)
		}
		m.Vars, m.Config = loaded.Vars, loaded.Config
		st.Done, st.CodebooksReady, st.Seconds, st.Best = prev.Done, prev.CodebooksReady, prev.Seconds, prev.Best
		fmt.Fprintf(tc.Out, "tokenizer: resuming %s at step %d of %d\n", dir, st.Done, st.Steps)
	}

	opt := nn.DefaultAdamW(st.Steps, int(tc.WarmupEpochs*float64(spe)))
	opt.LR = tc.LR
	opt.WarmupLR = tc.LR / 1000
	opt.ClipNorm = 1
	opt.Multipliers = map[string]float64{EncoderScope: tc.EncoderLRMult}
	stepFn := func(quantize bool) (*model.Exec, error) {
		return model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images, labels *Node) []*Node {
			scope.Store().SetTraining(images.Graph(), true) // see nn.Activation.Apply
			l := Loss(scope, m.Config, images, labels, quantize)
			lr := opt.Update(scope, l.Total)
			return []*Node{l.Total, l.Classify, l.Reconstruct, l.Commit, l.Accuracy, lr}
		})
	}
	classify, err := stepFn(false)
	if err != nil {
		return 0, err
	}
	full, err := stepFn(true)
	if err != nil {
		return 0, err
	}

	ec := m.Config.Encoder
	size := ec.ImageSize * ec.ImageSize * ec.Channels
	images := make([]float32, tc.Batch*size)
	labels := make([]int32, tc.Batch)
	var perm []int
	permEpoch := -1
	started := time.Now()
	base := st.Seconds
	bestPath := filepath.Join(dir, BestFile)

	save := func(done int) error {
		st.Done = done
		st.Seconds = base + time.Since(started).Seconds()
		if st.Finished() && st.Best.Step > 0 && st.Best.Step != done {
			// The run is over: the best weights become the model's.
			if err := ckpt.LoadFile(bestPath, m.Vars); err != nil {
				return fmt.Errorf("tokenizer: %w", err)
			}
		}
		if err := m.Save(dir); err != nil {
			return err
		}
		return store.WriteJSON(filepath.Join(dir, StateFile), st)
	}
	var validate func() (float64, string, error)
	if tc.Validate != nil {
		validate = func() (float64, string, error) {
			if !st.CodebooksReady {
				return 0, "", train.ErrNotReady
			}
			return tc.Validate(m)
		}
	}

	loop := &train.Loop{
		Name: "tokenizer", Steps: st.Steps, Start: st.Done, Batch: tc.Batch, SaveEvery: tc.SaveEvery, Out: tc.Out,
		Save:     save,
		Validate: validate, ValidEvery: tc.ValidEvery, Patience: tc.Patience, Best: &st.Best,
		SaveBest: func() error { return m.saveWeights(bestPath) },
		Step: func(i int) (string, error) {
			epoch, j := i/spe, i%spe
			if !st.CodebooksReady && epoch >= tc.QuantizeAfter {
				if err := initCodebooks(m, src, tc); err != nil {
					return "", err
				}
				st.CodebooksReady = true
			}
			if epoch != permEpoch {
				perm = train.Order(tc.Seed, epoch, src.Len())
				permEpoch = epoch
			}
			if err := src.Fill(perm[j*tc.Batch:(j+1)*tc.Batch], tc.Seed<<32+int64(i), images, labels); err != nil {
				return "", err
			}
			exec := classify
			if st.CodebooksReady {
				exec = full
			}
			v, err := train.Exec(exec, tensors.FromFlatDataAndDimensions(images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
				tensors.FromFlatDataAndDimensions(labels, tc.Batch))
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("epoch %d loss %.3f cls %.3f rec %.3f vq %.4f acc %.3f lr %.2g",
				epoch+1, v[0], v[1], v[2], v[3], v[4], v[5]), nil
		},
	}
	err = loop.Run(ctx)
	st.Seconds = base + time.Since(started).Seconds()
	if err == nil {
		os.Remove(bestPath)
	}
	return st.Seconds, err
}

// initCodebooks fits the residual quantizer on the current features of up
// to KMeansSample training images and copies it into the codebooks.
func initCodebooks(m *Model, src *batch.Loader, tc TrainConfig) error {
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
func Encode(m *Model, src *batch.Loader, idx []int) ([]float32, error) {
	size := src.Transform.Len()
	chunk := m.Batch * 8
	out := make([]float32, 0, len(idx)*m.Config.FeatureDim)
	images := make([]float32, chunk*size)
	for lo := 0; lo < len(idx); lo += chunk {
		hi := min(lo+chunk, len(idx))
		buf := images[:(hi-lo)*size]
		if err := src.Fill(idx[lo:hi], -1, buf, nil); err != nil {
			return nil, err
		}
		f, err := m.Features(buf, hi-lo)
		if err != nil {
			return nil, err
		}
		out = append(out, f...)
	}
	return out, nil
}
