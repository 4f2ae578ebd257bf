package engine_test

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/testmodel"
)

// freeze makes the decoder of the model in dir one trained with its
// encoder frozen: the decoder's encoder variables become the tokenizer's.
// With nudge, one of them then differs in its last bit.
func freeze(t testing.TB, dir string, nudge bool) {
	t.Helper()
	e := testmodel.MustOpen(t, dir)
	d := e.Decoder
	n := 0
	for v := range e.Tokenizer.Vars.IterVariables() {
		if filepath.Dir(v.Path()) == "/" || v.Path()[:len(decoder.EncoderScope)+1] != decoder.EncoderScope+"/" {
			continue
		}
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		c := tensors.FromShape(val.Shape())
		tensors.MustConstFlatData(val, func(src []float32) {
			tensors.MustMutableFlatData(c, func(dst []float32) {
				copy(dst, src)
				if nudge && n == 0 {
					dst[0] = math.Nextafter32(dst[0], float32(math.Inf(1)))
				}
			})
		})
		dv := d.Vars.GetVariable(v.Path())
		if dv == nil {
			t.Fatalf("the decoder has no %s", v.Path())
		}
		if err := dv.SetValue(c); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no encoder variables")
	}
	if err := d.Save(dir); err != nil {
		t.Fatal(err)
	}
}

// TestOnePass checks that the irgen method encodes each query once only
// for a decoder whose encoder is the tokenizer's, bit for bit, and that
// it then finds what the two passes find.
func TestOnePass(t *testing.T) {
	if e := testmodel.MustOpen(t, testmodel.Copy(t)); e.OnePass() {
		t.Fatal("one pass on a model whose decoder trained its encoder")
	}
	nudged := testmodel.Copy(t)
	freeze(t, nudged, true)
	if e := testmodel.MustOpen(t, nudged); e.OnePass() {
		t.Fatal("one pass on a decoder whose encoder differs from the tokenizer's in one bit")
	}

	dir := testmodel.Copy(t)
	freeze(t, dir, false)
	e := testmodel.MustOpen(t, dir)
	if !e.OnePass() {
		t.Fatal("two passes on a frozen decoder")
	}
	images, _ := testmodel.Queries(t, e)
	n := len(images) / e.Transform.Len()
	for _, batch := range []int{1, 16} {
		e.QueryBatch, e.Tokenizer.Batch = batch, batch
		opt := engine.Options{K: 10}
		e.SetOnePass(true)
		one, tm, err := e.Search(engine.IRGen, images, n, opt)
		if err != nil {
			t.Fatal(err)
		}
		if tm.Encode <= 0 {
			t.Errorf("batch %d: one pass took %v to encode", batch, tm.Encode)
		}
		e.SetOnePass(false)
		two, _, err := e.Search(engine.IRGen, images, n, opt)
		if err != nil {
			t.Fatal(err)
		}
		sameHits(t, "one pass", one, two)
	}
}

// sameHits checks that got and want list the same images in the same
// order, with scores within float32 rounding (tol), up to the order of
// near ties: the test model's images of one class are almost identical,
// so that rounding differences between batch sizes may swap them, or
// swap the last hit with the next one.
func sameHits(t *testing.T, what string, got, want [][]engine.Hit) {
	t.Helper()
	const tol = 1e-5
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= tol }
	if len(got) != len(want) {
		t.Fatalf("%s: %d result lists; want %d", what, len(got), len(want))
	}
	for q := range got {
		if len(got[q]) != len(want[q]) {
			t.Errorf("%s: query %d: %d hits; want %d", what, q, len(got[q]), len(want[q]))
			continue
		}
		for i, h := range got[q] {
			w := want[q][i]
			ok := near(h.Score, w.Score)
			if ok && h.Index != w.Index {
				j := slices.IndexFunc(want[q], func(x engine.Hit) bool { return x.Index == h.Index })
				last := want[q][len(want[q])-1].Score
				ok = (j >= 0 && near(want[q][j].Score, h.Score)) || (j < 0 && near(h.Score, last))
			}
			if !ok {
				t.Errorf("%s: query %d hit %d: %+v; want %+v", what, q, i, h, w)
				break
			}
		}
	}
}
