package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestAsMatMul builds DotGenerals of every layout on the pure-Go backend
// with and without asMatMul (which the ONNX Runtime backend gets): values
// must agree, products already laid out for MatMul must be left alone and
// all others rewritten.
func TestAsMatMul(t *testing.T) {
	plain, err := newWithConfig(Default)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Finalize()
	type axes struct{ contract, batch []int }
	for _, tc := range []struct {
		name      string
		ldims     []int
		l         axes
		rdims     []int
		r         axes
		rewritten bool
	}{
		{"x·W", []int{4, 5}, axes{[]int{1}, nil}, []int{5, 3}, axes{[]int{0}, nil}, false},
		{"batched", []int{2, 4, 5}, axes{[]int{2}, []int{0}}, []int{2, 5, 3}, axes{[]int{1}, []int{0}}, false},
		{"xᵀ·g", []int{6, 4}, axes{[]int{0}, nil}, []int{6, 3}, axes{[]int{0}, nil}, true},
		{"g·Wᵀ", []int{4, 3}, axes{[]int{1}, nil}, []int{5, 3}, axes{[]int{1}, nil}, true},
		{"q·kᵀ", []int{2, 3, 4, 5}, axes{[]int{3}, []int{0, 1}}, []int{2, 3, 6, 5}, axes{[]int{3}, []int{0, 1}}, true},
		{"batch axis inside", []int{4, 2, 5}, axes{[]int{2}, []int{1}}, []int{2, 5, 3}, axes{[]int{1}, []int{0}}, true},
		{"two contracting", []int{2, 3, 4}, axes{[]int{1, 2}, nil}, []int{3, 4, 5}, axes{[]int{0, 1}, nil}, true},
		{"contracting crossed", []int{3, 4, 2}, axes{[]int{0, 1}, nil}, []int{4, 3, 5}, axes{[]int{1, 0}, nil}, true},
		{"matrix·vector", []int{4, 5}, axes{[]int{1}, nil}, []int{5}, axes{[]int{0}, nil}, true},
		{"vector·matrix", []int{5}, axes{[]int{0}, nil}, []int{5, 3}, axes{[]int{0}, nil}, false},
		{"outer cross axes", []int{2, 5, 3}, axes{[]int{1}, nil}, []int{5, 2, 2}, axes{[]int{0}, nil}, true},
	} {
		r := rand.New(rand.NewPCG(5, 6))
		randT := func(dims []int) *tensors.Tensor {
			v := make([]float32, prod(dims))
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
			return tensors.FromFlatDataAndDimensions(v, dims...)
		}
		lv, rv := randT(tc.ldims), randT(tc.rdims)
		run := func(be compute.Backend) []float32 {
			// Each run gets its own tensors: GoMLX ties a tensor to its backend.
			l := tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](lv), tc.ldims...)
			rr := tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](rv), tc.rdims...)
			exec := MustNewExec(be, func(l, r *Node) *Node {
				return DotGeneral(l, tc.l.contract, tc.l.batch, r, tc.r.contract, tc.r.batch)
			})
			defer exec.Finalize()
			return tensors.MustCopyFlatData[float32](exec.MustExec(l, rr)[0])
		}
		mm := wrap(plain, wrapOptions{matmul: true}).(*wrapBackend)
		want, got := run(plain), run(mm)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values; want %d", tc.name, len(got), len(want))
		}
		for j := range want {
			if math.Abs(float64(got[j]-want[j])) > 1e-5*(1+math.Abs(float64(want[j]))) {
				t.Fatalf("%s[%d] = %v as MatMul; %v as DotGeneral", tc.name, j, got[j], want[j])
			}
		}
		if n := mm.rewrites.Load(); (n > 0) != tc.rewritten {
			t.Errorf("%s: rewrote %d ops; want rewritten %v", tc.name, n, tc.rewritten)
		}
	}
}
