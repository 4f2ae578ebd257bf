package encoder

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/backend"
)

// TestConv3x3MatchesConvolve checks the im2col stem convolution (Conv3x3
// on the pure-Go and ONNX Runtime backends; $GOMLX_BACKEND picks), its
// value and its gradients with respect to input and kernel, against
// GoMLX's Convolve with same padding on random data.
func TestConv3x3MatchesConvolve(t *testing.T) {
	be, err := backend.New(os.Getenv("GOMLX_BACKEND"))
	if err != nil {
		t.Fatal(err)
	}
	if !backend.IsGo(be) && !backend.IsONNX(be) {
		t.Skipf("backend %q: Conv3x3 is Convolve there", be.Name())
	}
	for _, c := range []int{3, 4, 6} {
		conv3x3Case(t, be, c, 4)
	}
}

// conv3x3Case compares Conv3x3 with Convolve for c input and out output
// channels (fewer, as many, more: the gradient's three layouts).
func conv3x3Case(t *testing.T, be compute.Backend, c, out int) {
	const b, h, w = 2, 5, 6
	r := rand.New(rand.NewPCG(uint64(c), uint64(out)))
	randT := func(dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	x, k, proj := randT(b, h, w, c), randT(9*c, out), randT(b, h, w, out)
	run := func(conv func(x, k *Node) *Node) [][]float32 {
		exec := MustNewExec(be, func(x, k, proj *Node) []*Node {
			y := conv(x, k)
			grads := Gradient(ReduceAllSum(Mul(y, proj)), x, k)
			return []*Node{y, grads[0], grads[1]}
		})
		var res [][]float32
		for _, t := range exec.MustExec(x, k, proj) {
			res = append(res, tensors.MustCopyFlatData[float32](t))
		}
		return res
	}
	got := run(Conv3x3)
	want := run(func(x, k *Node) *Node { return Convolve(x, Reshape(k, 3, 3, c, out)).PadSame().Done() })
	for i, name := range []string{"output", "input gradient", "kernel gradient"} {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("c=%d %s: %d values; want %d", c, name, len(got[i]), len(want[i]))
		}
		for j := range got[i] {
			if d := math.Abs(float64(got[i][j] - want[i][j])); d > 1e-4*(1+math.Abs(float64(want[i][j]))) {
				t.Fatalf("c=%d %s[%d] = %v; Convolve gives %v", c, name, j, got[i][j], want[i][j])
			}
		}
	}
}
