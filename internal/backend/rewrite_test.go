package backend

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestSwapsCross(t *testing.T) {
	tests := []struct {
		perm                      []int
		batch, lhsCross, rhsCross int
		want                      bool
	}{
		{[]int{1, 0}, 0, 1, 1, true},
		{[]int{0, 1}, 0, 1, 1, false}, // identity
		{[]int{0, 2, 1}, 1, 1, 1, true},
		{[]int{1, 0, 2}, 1, 1, 1, false}, // moves the batch axis
		{[]int{0, 3, 1, 2}, 1, 2, 1, true},
		{[]int{0, 3, 2, 1}, 1, 2, 1, false}, // reorders lhs cross axes
		{[]int{2, 3, 0, 1}, 0, 2, 2, true},
		{[]int{0, 1}, 0, 2, 0, false}, // no rhs cross axes
		{[]int{1, 0}, 0, 1, 2, false}, // wrong rank
	}
	for _, tc := range tests {
		if got := swapsCross(tc.perm, tc.batch, tc.lhsCross, tc.rhsCross); got != tc.want {
			t.Errorf("swapsCross(%v, %d, %d, %d) = %v; want %v", tc.perm, tc.batch, tc.lhsCross, tc.rhsCross, got, tc.want)
		}
	}
}

func TestMovedAxis(t *testing.T) {
	tests := []struct {
		perm, dims []int
		a, p       int
		ok         bool
	}{
		{[]int{0, 2, 1, 3}, []int{8, 3, 197, 64}, 1, 2, true},  // heads (3) move behind positions
		{[]int{0, 2, 1, 3}, []int{8, 197, 3, 64}, 2, 1, true},  // heads move ahead
		{[]int{1, 2, 0, 3}, []int{4, 5, 6, 7}, 0, 2, true},     // axis 0 to position 2
		{[]int{2, 0, 1, 3}, []int{4, 5, 6, 7}, 2, 0, true},     // axis 2 to position 0
		{[]int{0, 3, 1, 2}, []int{8, 3, 64, 197}, 0, 0, false}, // moves the last axis
		{[]int{1, 0, 3, 2, 4}, []int{2, 3, 4, 5, 6}, 0, 0, false},
		{[]int{1, 0, 2}, []int{100, 200, 8}, 0, 0, false}, // more than 64 slices either way
	}
	for _, tc := range tests {
		a, p, ok := movedAxis(tc.perm, tc.dims)
		if ok != tc.ok || ok && (a != tc.a || p != tc.p) {
			t.Errorf("movedAxis(%v, %v) = %d, %d, %v; want %d, %d, %v", tc.perm, tc.dims, a, p, ok, tc.a, tc.p, tc.ok)
		}
	}
}

func TestKeepsOrder(t *testing.T) {
	tests := []struct {
		perm, dims []int
		want       bool
	}{
		{[]int{0, 1}, []int{2, 3}, true},
		{[]int{1, 0}, []int{2, 3}, false},
		{[]int{1, 0}, []int{1, 3}, true},
		{[]int{0, 1, 3, 2, 4, 5}, []int{8, 7, 1, 7, 1, 64}, true},
		{[]int{0, 1, 3, 2, 4, 5}, []int{8, 7, 2, 7, 2, 64}, false},
		{[]int{2, 0, 1}, []int{4, 5, 1}, true},
	}
	for _, tc := range tests {
		if got := keepsOrder(tc.perm, tc.dims); got != tc.want {
			t.Errorf("keepsOrder(%v, %v) = %v; want %v", tc.perm, tc.dims, got, tc.want)
		}
	}
}

// TestRewrite runs matmuls, transposes, reductions and gradients on the
// pure-Go backend with and without the rewrites: the values must agree (up
// to the order of summation) and the rewrites must have happened.
func TestRewrite(t *testing.T) {
	plain, err := newWithConfig(Default)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Finalize()
	rewritten := wrap(plain, wrapOptions{rewrite: true}).(*wrapBackend)

	r := rand.New(rand.NewPCG(21, 22))
	// Each backend gets its own tensors: GoMLX ties a tensor to the backend
	// that first holds it.
	type input struct {
		dims []int
		v    []float32
	}
	var inputs []input
	for _, dims := range [][]int{{4, 5}, {5, 3}, {2, 4, 5}, {2, 5, 3}, {4, 3}, {3, 1, 4, 2}} {
		n := 1
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		inputs = append(inputs, input{dims, v})
	}
	fn := func(in []*Node) []*Node {
		x, w, a, b, c, e := in[0], in[1], in[2], in[3], in[4], in[5]
		y := MatMul(x, w)
		ab := Einsum("bij,bjk->bik", a, b)
		outs := []*Node{
			TransposeAllAxes(y, 1, 0),       // swapped operands
			TransposeAllAxes(y, 0, 1),       // identity
			TransposeAllAxes(ab, 0, 2, 1),   // batched, swapped operands
			TransposeAllAxes(ab, 1, 0, 2),   // not rewritten
			TransposeAllAxes(x, 1, 0),       // not a DotGeneral
			TransposeAllAxes(e, 0, 2, 1, 3), // moves a size-1 axis: a reshape
			TransposeAllAxes(e, 3, 1, 2, 0), // not rewritten
			TransposeAllAxes(e, 2, 0, 1, 3), // moves an axis: slices and a concatenation
			TransposeAllAxes(a, 1, 0, 2),    // the same, of a parameter
			ReduceSum(e),                    // no axes: all of them
			ReduceSum(e, 0, 1),              // leading
			ReduceSum(e, 1, 0),              // leading, axes unordered
			ReduceSum(e, 2, 3),              // trailing
			ReduceSum(e, 0, 1, 2, 3),        // all
			ReduceSum(e, 1),                 // middle: not rewritten
			ReduceSum(e, 0, 2),              // not contiguous: not rewritten
			Einsum("ni,no->io", x, c),       // lhs contracting its leading axis: lhs transposed alone
			Einsum("bji,bjk->bik", a, a),    // the same, batched
		}
		// Gradients of DotGeneral end in transposes of both operands', and
		// those of broadcasts in reductions.
		outs = append(outs, Gradient(ReduceAllSum(Mul(y, c)), x, w)...)
		outs = append(outs, Gradient(ReduceAllSum(Mul(Add(e, Reshape(ReduceSum(e, 3, 2), 3, 1, 1, 1)), e)), e)...)
		for i, o := range outs {
			outs[i] = Reshape(o, -1)
		}
		return outs
	}
	run := func(be compute.Backend) [][]float32 {
		exec := MustNewExec(be, fn)
		defer exec.Finalize()
		args := make([]any, len(inputs))
		for i, in := range inputs {
			args[i] = tensors.FromFlatDataAndDimensions(in.v, in.dims...)
		}
		res := exec.MustExec(args...)
		flat := make([][]float32, len(res))
		for i, o := range res {
			flat[i] = tensors.MustCopyFlatData[float32](o)
		}
		return flat
	}
	want := run(plain)
	got := run(rewritten)
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("output %d: %d values; want %d", i, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			if math.Abs(float64(got[i][j]-want[i][j])) > 1e-5*(1+math.Abs(float64(want[i][j]))) {
				t.Errorf("output %d[%d] = %v rewritten; %v plain", i, j, got[i][j], want[i][j])
			}
		}
	}
	// Twelve in the outputs, more in the gradients.
	if n := rewritten.rewrites.Load(); n < 14 {
		t.Errorf("rewrote %d ops; want at least 14", n)
	}
}

// TestCanonicalLHS checks that a product whose lhs contracts its leading
// axis (a weight gradient, xᵀ·g) gets lhs transposed by the wrapper, and
// that a product in the backend's layouts is left alone.
func TestCanonicalLHS(t *testing.T) {
	plain, err := newWithConfig(Default)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Finalize()
	for _, tc := range []struct {
		eq       string
		rewrites int64
		want     []float32
	}{
		{"ni,no->io", 1, []float32{1*1 + 3*2 + 5*0, 1*0 + 3*1 + 5*3, 2*1 + 4*2 + 6*0, 2*0 + 4*1 + 6*3}},
		{"ni,mi->nm", 0, []float32{1, 4, 6, 3, 10, 12, 5, 16, 18}},
	} {
		// Each run gets its own tensors: GoMLX ties a tensor to its backend.
		x := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6}, 3, 2) // [n, i]
		g := tensors.FromFlatDataAndDimensions([]float32{1, 0, 2, 1, 0, 3}, 3, 2) // [n, o]
		rewritten := wrap(plain, wrapOptions{rewrite: true}).(*wrapBackend)
		exec := MustNewExec(rewritten, func(x, g *Node) *Node { return Einsum(tc.eq, x, g) })
		got := tensors.MustCopyFlatData[float32](exec.MustExec(x, g)[0])
		exec.Finalize()
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s = %v; want %v", tc.eq, got, tc.want)
		}
		if n := rewritten.rewrites.Load(); n != tc.rewrites {
			t.Errorf("%s: rewrote %d ops; want %d", tc.eq, n, tc.rewrites)
		}
	}
}
