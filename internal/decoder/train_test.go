package decoder

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/testutil"
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
// targets, same dropout, optimizer state saved), and validation's best
// weights must be the ones kept. Dropout must change what is learnt.
func TestTrainResume(t *testing.T) {
	plain, dropped := checkResume(t, 0), checkResume(t, 0.2)
	if equalWeights(t, plain, dropped) {
		t.Error("dropout 0.2 trained the same weights as no dropout")
	}
}

// checkResume trains with dropout uninterrupted and interrupted, checks
// that both give the same weights and returns them.
func checkResume(t *testing.T, dropout float64) *Model {
	be := testutil.Backend(t)
	const n = 24
	g := testutil.Gray(n, 4, 7)
	labels := make([]int32, n)
	codes := make([]int32, 2*n)
	for i := range g.Labels {
		labels[i] = int32(i % 4)
		codes[2*i], codes[2*i+1] = int32(i%4), int32(i/4%4)
	}
	pairs, err := NewPairs(labels, labels, codes, 2)
	if err != nil {
		t.Fatal(err)
	}
	tf := imageproc.Transform{Size: 8, Channels: 1, Mean: []float32{0.5}, Std: []float32{0.5}, ScaleMin: 0.8, ScaleMax: 1}
	src := dataset.NewLoader(g, tf, 1)
	enc := testutil.Encoder()
	cfg := DefaultConfig(2, 4)
	cfg.Dim, cfg.Depth, cfg.Heads, cfg.MLPDim, cfg.Dropout = 16, 1, 2, 32, dropout
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
	if !equalWeights(t, a, b) {
		t.Fatalf("dropout %g: the resumed run trained other weights than the uninterrupted one", dropout)
	}
	return a
}

// equalWeights reports whether a and b hold the same float32 variables
// bit for bit.
func equalWeights(t *testing.T, a, b *Model) bool {
	t.Helper()
	n := 0
	for v := range a.Vars.IterVariables() {
		w := b.Vars.GetVariable(v.Path())
		if w == nil {
			t.Fatalf("%s missing from the other model", v.Path())
		}
		x, _ := v.Value()
		y, _ := w.Value()
		if x.DType().String() != "Float32" {
			continue
		}
		xs, ys := tensors.MustCopyFlatData[float32](x), tensors.MustCopyFlatData[float32](y)
		for i := range xs {
			if xs[i] != ys[i] {
				return false
			}
		}
		n++
	}
	if n == 0 {
		t.Fatal("no variables compared")
	}
	return true
}
