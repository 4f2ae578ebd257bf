package decoder

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/train"
)

// cancelOn cancels a context when a line containing s is written.
type cancelOn struct {
	s      string
	cancel func()
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.s) {
		c.cancel()
	}
	return len(p), nil
}

// TestTrainResume interrupts a run after its first step and resumes it:
// the weights must be those of an uninterrupted run (same batches, same
// targets, optimizer state saved), and validation's best weights must be
// the ones kept.
func TestTrainResume(t *testing.T) {
	be := testBackend(t)
	const n = 24
	rng := rand.New(rand.NewPCG(7, 8))
	g := &dataset.Gray{W: 8, H: 8, Pix: make([]uint8, n*64), Labels: make([]int, n), Prefix: "tiny"}
	for i := range g.Pix {
		g.Pix[i] = uint8(rng.IntN(256))
	}
	labels := make([]int32, n)
	codes := make([]int32, 2*n)
	for i := range g.Labels {
		g.Labels[i] = i % 4
		labels[i] = int32(i % 4)
		codes[2*i], codes[2*i+1] = int32(i%4), int32(i/4%4)
	}
	pairs, err := NewPairs(labels, labels, codes, 2)
	if err != nil {
		t.Fatal(err)
	}
	tf := imageproc.Transform{Size: 8, Channels: 1, Mean: []float32{0.5}, Std: []float32{0.5}, ScaleMin: 0.8, ScaleMax: 1}
	src := dataset.NewLoader(g, tf, 1)
	enc := encoder.Config{ImageSize: 8, Patch: 4, Channels: 1, Dim: 16, Depth: 1, Heads: 2, MLPDim: 32, Activation: nn.GELU, Eps: 1e-6}
	cfg := DefaultConfig(2, 4)
	cfg.Dim, cfg.Depth, cfg.Heads, cfg.MLPDim = 16, 1, 2, 32
	newModel := func() *Model {
		m, err := New(be, cfg, enc, nil, 5)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	tc := DefaultTrainConfig()
	tc.Budget = train.Budget{Epochs: 3} // 9 steps
	tc.Batch, tc.ValidEvery, tc.Patience, tc.EncoderLRMult = 8, 3, 0, 1
	trainRun := func(dir string, interrupt bool) *Model {
		scores := []float64{0.5, 0.9, 0.1} // the best is after 6 steps
		k := 0
		tc := tc
		tc.Validate = func() (float64, string, error) { k++; return scores[k-1], "", nil }
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tc.Out = &bytes.Buffer{}
		if interrupt {
			tc.Out = &cancelOn{"decoder 8/", cancel}
			if _, err := Train(ctx, newModel(), dir, tc, src, pairs); !errors.Is(err, train.ErrInterrupted) {
				t.Fatalf("interrupted run: %v", err)
			}
			k = 0
		}
		if _, err := Train(context.Background(), newModel(), dir, tc, src, pairs); err != nil {
			t.Fatal(err)
		}
		if !Trained(dir) {
			t.Fatalf("%s: not trained", dir)
		}
		m, err := Load(be, dir)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := trainRun(t.TempDir(), false), trainRun(t.TempDir(), true)
	n1 := 0
	for v := range a.Vars.IterVariables() {
		w := b.Vars.GetVariable(v.Path())
		if w == nil {
			t.Fatalf("%s missing from the resumed model", v.Path())
		}
		x, _ := v.Value()
		y, _ := w.Value()
		if x.DType().String() != "Float32" {
			continue
		}
		xs, ys := tensors.MustCopyFlatData[float32](x), tensors.MustCopyFlatData[float32](y)
		for i := range xs {
			if xs[i] != ys[i] {
				t.Fatalf("%s[%d]: %g uninterrupted, %g resumed", v.Path(), i, xs[i], ys[i])
			}
		}
		n1++
	}
	if n1 == 0 {
		t.Fatal("no variables compared")
	}
}
