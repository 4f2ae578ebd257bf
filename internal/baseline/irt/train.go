package irt

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/ckpt"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/train"
)

// StateFile records how far training got, for resuming.
const StateFile = "irt.state.json"

// TrainConfig holds IRT's training settings; the defaults are the seed
// code's (main.py) for category-level retrieval.
type TrainConfig struct {
	// Budget is the number of optimizer steps: the seed's --max-iter as
	// Budget.Steps. The zero Budget trains no step: IRT is then IRT_O.
	Budget      train.Budget `json:"budget"`
	Batch       int          `json:"batch"`
	LR          float64      `json:"lr"` // constant, as in the seed's code
	WeightDecay float64      `json:"weight_decay"`
	Margin      float64      `json:"margin"` // β of the negative pairs
	Lambda      float64      `json:"lambda"` // weight of the entropy regularizer
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
	return TrainConfig{Budget: train.Budget{Steps: 2000}, Batch: 64, LR: 3e-5, WeightDecay: 5e-4, Margin: 0.5, Lambda: 0.7,
		MemoryRatio: 1, Seed: 1, SaveEvery: 5 * time.Minute, Out: os.Stderr}
}

// Validate checks the settings.
func (tc TrainConfig) Validate() error {
	b := tc.Budget
	switch {
	case b.Steps < 0 || b.Epochs < 0 || b.MinSteps < 0 || b.MaxSteps < 0 || tc.Batch < 2:
		return fmt.Errorf("irt: %d steps (%g epochs) of %d images; want ≥ 0 steps of ≥ 2", b.Steps, b.Epochs, tc.Batch)
	case !(tc.LR > 0) || tc.WeightDecay < 0 || tc.Lambda < 0:
		return fmt.Errorf("irt: learning rate %g, weight decay %g, λ %g", tc.LR, tc.WeightDecay, tc.Lambda)
	case tc.MemoryRatio < 0 || tc.Momentum < 0 || tc.Momentum >= 1:
		return fmt.Errorf("irt: memory ratio %g and momentum %g; want ≥ 0 and momentum < 1", tc.MemoryRatio, tc.Momentum)
	}
	return nil
}

// Steps returns the optimizer steps of training on n images: none for
// the zero Budget.
func (tc TrainConfig) Steps(n int) (int, error) {
	if n < tc.Batch {
		return 0, fmt.Errorf("irt: %d training images, fewer than a batch of %d", n, tc.Batch)
	}
	if tc.Budget == (train.Budget{}) {
		return 0, nil
	}
	steps, err := tc.Budget.For(n, tc.Batch)
	if err != nil {
		return 0, fmt.Errorf("irt: %w", err)
	}
	return steps, nil
}

// BatchSeed implements train.Config.
func (tc TrainConfig) BatchSeed() (int, int64) { return tc.Batch, tc.Seed }

// MemorySize is the memory's length for n training images (0: none); it
// holds at least one batch.
func (tc TrainConfig) MemorySize(n int) int {
	k := int(float64(n) * tc.MemoryRatio)
	if k <= 0 {
		return 0
	}
	return max(k, tc.Batch)
}

// Trained reports whether the model in dir finished training.
func Trained(dir string) bool { return train.Finished(filepath.Join(dir, StateFile)) }

// Train fine-tunes m on the labelled images of src with the contrastive
// loss, the entropy regularizer and the cross-batch memory, saving into
// dir and resuming an unfinished run found there (with an empty memory:
// the memory is not saved). A run of no steps saves m as it is (IRT_O).
// It returns the training seconds.
func Train(ctx context.Context, m *Model, dir string, tc TrainConfig, src *dataset.Loader) (float64, error) {
	if err := tc.Validate(); err != nil {
		return 0, err
	}
	steps, err := tc.Steps(src.Len())
	if err != nil {
		return 0, err
	}
	run := &train.Run[TrainConfig]{Name: "irt", Dir: dir, StateFile: StateFile, Fresh: "delete it or use those settings", Out: tc.Out,
		Save:   func() error { return m.Save(dir) },
		Resume: func() error { return m.loadWeights(filepath.Join(dir, WeightsFile)) },
	}
	if finished, err := run.Start(tc, steps); err != nil || finished {
		return run.State.Seconds, err
	}
	if run.State.Done > 0 {
		fmt.Fprintf(tc.Out, "irt: the cross-batch memory starts empty\n")
	}
	loop := &train.Loop{Batch: tc.Batch, SaveEvery: tc.SaveEvery}
	if steps > 0 {
		t, err := newTrainer(m, tc, src, steps)
		if err != nil {
			return 0, err
		}
		loop.Step = t.step
	}
	return run.Train(ctx, loop)
}

// trainer is IRT's training step.
type trainer struct {
	tc        TrainConfig
	ec        encoder.Config
	src       *dataset.Loader
	batches   *train.Batches
	exec      *model.Exec
	mem       *Memory // nil without memory
	images    []float32
	labels    []int32
	memLabels []int32
}

func newTrainer(m *Model, tc TrainConfig, src *dataset.Loader, steps int) (*trainer, error) {
	if tc.Momentum > 0 {
		if err := m.initKeyEncoder(); err != nil {
			return nil, err
		}
	}
	ec := m.Config.Encoder
	t := &trainer{tc: tc, ec: ec, src: src, batches: &train.Batches{Seed: tc.Seed, N: src.Len(), Size: tc.Batch},
		images: make([]float32, tc.Batch*ec.ImageSize*ec.ImageSize*ec.Channels), labels: make([]int32, tc.Batch)}
	if k := tc.MemorySize(src.Len()); k > 0 {
		var err error
		if t.mem, err = NewMemory(k, m.Config.Dim()); err != nil {
			return nil, err
		}
		t.memLabels = make([]int32, k)
	}
	var err error
	t.exec, err = stepExec(m, tc, steps, t.mem != nil)
	return t, err
}

// stepExec compiles the training step: images, labels and, with memory,
// the memory's embeddings and labels in; losses, rate and the batch's
// key embeddings out.
func stepExec(m *Model, tc TrainConfig, steps int, memory bool) (*model.Exec, error) {
	opt := nn.DefaultAdamW(steps, 0)
	opt.LR, opt.MinLR, opt.Beta2, opt.WeightDecay = tc.LR, tc.LR, 0.999, tc.WeightDecay
	c := m.Config
	return model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, in []*Node) []*Node {
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
		if memory {
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
}

// step runs step i and enqueues the batch's key embeddings.
func (t *trainer) step(i int) (string, error) {
	tc, ec := t.tc, t.ec
	epoch, idx := t.batches.At(i)
	if err := t.src.Fill(idx, tc.Seed<<32+int64(i), t.images, t.labels); err != nil {
		return "", err
	}
	in := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(t.images, tc.Batch, ec.ImageSize, ec.ImageSize, ec.Channels),
		tensors.FromFlatDataAndDimensions(t.labels, tc.Batch)}
	if mem := t.mem; mem != nil {
		mem.LabelsBefore(tc.Batch, t.memLabels)
		in = append(in, tensors.FromFlatDataAndDimensions(mem.Feats, mem.K, mem.Dim), tensors.FromFlatDataAndDimensions(t.memLabels, mem.K))
	}
	v, keys, err := train.ExecKeep(t.exec, 1, in...)
	if err != nil {
		return "", err
	}
	defer keys[0].FinalizeAll()
	if t.mem != nil {
		var qerr error
		if err := tensors.ConstFlatData(keys[0], func(flat []float32) { qerr = t.mem.Enqueue(flat, t.labels) }); err != nil {
			return "", err
		}
		if qerr != nil {
			return "", qerr
		}
	}
	return fmt.Sprintf("epoch %d loss %.4f contrastive %.4f entropy %.4f lr %.2g", epoch+1, v[0], v[1], v[2], v[3]), nil
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
