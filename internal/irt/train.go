package irt

import (
	"context"
	"encoding/json"
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
	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

// StateFile records how far training got, for resuming.
const StateFile = "irt.state.json"

// TrainConfig holds IRT's training settings; the defaults are the seed
// code's (main.py) for category-level retrieval.
type TrainConfig struct {
	Steps       int     `json:"steps"` // the seed's --max-iter
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"` // constant, as in the seed's code
	WeightDecay float64 `json:"weight_decay"`
	Margin      float64 `json:"margin"` // β of the negative pairs
	Lambda      float64 `json:"lambda"` // weight of the entropy regularizer
	// MemoryRatio sizes the cross-batch memory as a fraction of the
	// training images (0: no memory).
	MemoryRatio float64 `json:"memory_ratio"`
	// Momentum, when > 0, fills the memory with a momentum (key) encoder
	// updated as k ← m·k + (1−m)·q after every step; 0 enqueues the
	// trained encoder's own embeddings.
	Momentum float64 `json:"encoder_momentum"`
	Seed     int64   `json:"seed"`

	SaveEvery time.Duration `json:"-"`
	Out       io.Writer     `json:"-"`
}

// DefaultTrainConfig returns the seed code's settings: 2000 steps of 64
// images, AdamW at 3e-5 with weight decay 5e-4, β 0.5, λ 0.7, a memory of
// all training images, no momentum encoder.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Steps: 2000, Batch: 64, LR: 3e-5, WeightDecay: 5e-4, Margin: 0.5, Lambda: 0.7,
		MemoryRatio: 1, Seed: 1, SaveEvery: 5 * time.Minute, Out: os.Stderr}
}

// Validate checks the settings.
func (tc TrainConfig) Validate() error {
	switch {
	case tc.Steps < 0 || tc.Batch < 2:
		return fmt.Errorf("irt: %d steps of %d images; want ≥ 0 steps of ≥ 2", tc.Steps, tc.Batch)
	case !(tc.LR > 0) || tc.WeightDecay < 0 || tc.Lambda < 0:
		return fmt.Errorf("irt: learning rate %g, weight decay %g, λ %g", tc.LR, tc.WeightDecay, tc.Lambda)
	case tc.MemoryRatio < 0 || tc.Momentum < 0 || tc.Momentum >= 1:
		return fmt.Errorf("irt: memory ratio %g and momentum %g; want ≥ 0 and momentum < 1", tc.MemoryRatio, tc.Momentum)
	}
	return nil
}

// MemorySize is the memory's length for n training images (0: none); it
// holds at least one batch.
func (tc TrainConfig) MemorySize(n int) int {
	k := int(float64(n) * tc.MemoryRatio)
	if k <= 0 {
		return 0
	}
	return max(k, tc.Batch)
}

type state = train.State[TrainConfig]

// Trained reports whether the model in dir finished training.
func Trained(dir string) bool {
	st, err := readState(dir)
	return err == nil && st.Done >= st.Steps
}

// Seconds returns the training time recorded in dir, summed over resumed
// runs (0 when there is none).
func Seconds(dir string) float64 {
	st, _ := readState(dir)
	return st.Seconds
}

func readState(dir string) (state, error) {
	return train.ReadState[TrainConfig](filepath.Join(dir, StateFile))
}

// Train fine-tunes m on the labelled images of src with the contrastive
// loss, the entropy regularizer and the cross-batch memory, saving into
// dir and resuming an unfinished run found there (with an empty memory:
// the memory is not saved). It returns the training seconds.
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *batch.Loader) (float64, error) {
	if err := tc.Validate(); err != nil {
		return 0, err
	}
	n := src.Len()
	if n < tc.Batch {
		return 0, fmt.Errorf("irt: %d training images, fewer than a batch of %d", n, tc.Batch)
	}
	st := state{Train: tc, Steps: tc.Steps}
	if prev, err := readState(dir); err == nil {
		if prev.Train.Batch != tc.Batch || prev.Train.Steps != tc.Steps || prev.Train.Seed != tc.Seed {
			return 0, fmt.Errorf("irt: %s holds a run with other settings (batch %d, steps %d, seed %d); delete it or use those",
				dir, prev.Train.Batch, prev.Train.Steps, prev.Train.Seed)
		}
		if err := m.loadWeights(filepath.Join(dir, WeightsFile)); err != nil {
			return 0, fmt.Errorf("irt: resume: %w", err)
		}
		st.Done, st.Seconds = prev.Done, prev.Seconds
		if st.Done < st.Steps {
			fmt.Fprintf(tc.Out, "irt: resuming %s at step %d of %d (cross-batch memory starts empty)\n", dir, st.Done, st.Steps)
		}
	}
	save := func(done int, started time.Time, base float64) error {
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
	if st.Done >= st.Steps {
		if _, err := os.Stat(filepath.Join(dir, WeightsFile)); err != nil {
			return st.Seconds, save(st.Done, time.Now(), st.Seconds) // 0 steps: IRT = IRT_O
		}
		return st.Seconds, nil
	}
	if tc.Momentum > 0 {
		if err := m.initKeyEncoder(); err != nil {
			return 0, err
		}
	}
	k := tc.MemorySize(n)
	dim := m.Config.Dim()
	var mem *Memory
	if k > 0 {
		var err error
		if mem, err = NewMemory(k, dim); err != nil {
			return 0, err
		}
	}
	opt := nn.DefaultAdamW(st.Steps, 0)
	opt.LR, opt.MinLR, opt.Beta2, opt.WeightDecay = tc.LR, tc.LR, 0.999, tc.WeightDecay
	c := m.Config
	exec, err := model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, in []*Node) []*Node {
		s := scope.Store()
		images, labels := in[0], in[1]
		s.SetTraining(images.Graph(), true) // see nn.Activation.Apply
		emb := Embedding(s, "", c, images)
		var key *Node
		if tc.Momentum > 0 {
			key = StopGradient(Embedding(s, KeyPrefix, c, images))
		} else {
			key = StopGradient(emb)
		}
		contr := Contrastive(emb, labels, nil, nil, tc.Margin)
		if mem != nil {
			ref := Concatenate([]*Node{in[2], key}, 0)
			refLabels := Concatenate([]*Node{in[3], labels}, 0)
			contr = Add(contr, Contrastive(emb, labels, ref, refLabels, tc.Margin))
		}
		reg := KoLeo(emb)
		loss := Add(contr, MulScalar(reg, tc.Lambda))
		lr := opt.Update(scope, loss)
		if tc.Momentum > 0 {
			momentumUpdate(s, images.Graph(), tc.Momentum)
		}
		return []*Node{loss, contr, reg, lr, key}
	})
	if err != nil {
		return 0, err
	}
	ec := c.Encoder
	size := ec.ImageSize * ec.ImageSize * ec.Channels
	images := make([]float32, tc.Batch*size)
	labels := make([]int32, tc.Batch)
	var memLabels []int32
	if mem != nil {
		memLabels = make([]int32, k)
	}
	spe := n / tc.Batch
	var perm []int
	permEpoch := -1
	started, base := time.Now(), st.Seconds
	loop := &train.Loop{
		Name: "irt", Steps: st.Steps, Start: st.Done, Batch: tc.Batch, SaveEvery: tc.SaveEvery, Out: tc.Out,
		Save: func(done int) error { return save(done, started, base) },
		Step: func(i int) (string, error) {
			epoch, j := i/spe, i%spe
			if epoch != permEpoch {
				perm = rand.New(rand.NewPCG(uint64(tc.Seed), uint64(epoch))).Perm(n)
				permEpoch = epoch
			}
			if err := src.Fill(perm[j*tc.Batch:(j+1)*tc.Batch], tc.Seed<<32+int64(i), images, labels); err != nil {
				return "", err
			}
			in := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
				tensors.FromFlatDataAndDimensions(labels, tc.Batch)}
			if mem != nil {
				mem.LabelsBefore(tc.Batch, memLabels)
				in = append(in, tensors.FromFlatDataAndDimensions(mem.Feats, k, dim), tensors.FromFlatDataAndDimensions(memLabels, k))
			}
			args := make([]any, len(in))
			for q, t := range in {
				args[q] = t
			}
			out, err := exec.Exec(args...)
			// Free the inputs now: the memory alone is K × Dim floats a
			// step, and backend buffers are not garbage the Go collector
			// sees the size of.
			for _, t := range in {
				t.FinalizeAll()
			}
			if err != nil {
				return "", err
			}
			defer func() {
				for _, t := range out {
					t.FinalizeAll()
				}
			}()
			v := make([]float32, 4)
			for q := range v {
				v[q] = tensors.ToScalar[float32](out[q])
			}
			if mem != nil {
				var qerr error
				if err := tensors.ConstFlatData(out[4], func(flat []float32) { qerr = mem.Enqueue(flat, labels) }); err != nil {
					return "", err
				}
				if qerr != nil {
					return "", qerr
				}
			}
			return fmt.Sprintf("epoch %d loss %.4f contrastive %.4f entropy %.4f lr %.2g", epoch+1, v[0], v[1], v[2], v[3]), nil
		},
	}
	err = loop.Run(ctx)
	return base + time.Since(started).Seconds(), err
}

// initKeyEncoder creates the momentum encoder as a copy of the model's
// encoder (and head) unless a resumed checkpoint brought it.
func (m *Model) initKeyEncoder() error {
	for v := range m.Vars.IterVariables() {
		if strings.HasPrefix(v.Path(), KeyPrefix+"/") {
			return nil
		}
	}
	if m.Vars.GetVariable(EncoderScope+"/cls") == nil {
		// A model started from scratch has no variables until a graph
		// uses them: create them with one embedding.
		ec := m.Config.Encoder
		e := &Embedder{Backend: m.Backend, Vars: m.Vars, Config: m.Config, Batch: 1}
		if _, err := e.Embed(make([]float32, ec.ImageSize*ec.ImageSize*ec.Channels), 1); err != nil {
			return err
		}
	}
	for _, p := range []string{EncoderScope + "/", HeadScope + "/fc/"} {
		if _, err := ckpt.CopyVars(m.Vars, m.Vars, p, KeyPrefix); err != nil {
			return err
		}
	}
	for v := range m.Vars.IterVariables() {
		if strings.HasPrefix(v.Path(), KeyPrefix+"/") {
			v.SetTrainable(false)
		}
	}
	return nil
}

// momentumUpdate sets every key-encoder variable to m·key + (1−m)·query,
// the query variable's value after this step's update.
func momentumUpdate(s *model.Store, g *Graph, m float64) {
	var keys []*model.Variable
	for v := range s.IterVariables() {
		if strings.HasPrefix(v.Path(), KeyPrefix+"/") {
			keys = append(keys, v)
		}
	}
	for _, k := range keys {
		q := s.GetVariable(strings.TrimPrefix(k.Path(), KeyPrefix))
		if q == nil {
			continue
		}
		k.SetNodeValue(Add(MulScalar(k.NodeValue(g), m), MulScalar(q.NodeValue(g), 1-m)))
	}
}
