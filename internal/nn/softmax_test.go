package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// closeTo reports the first index where got and want differ by more than
// tol relative to 1+|want|, or -1.
func closeTo(got, want []float32, tol float64) int {
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tol*(1+math.Abs(float64(want[i]))) {
			return i
		}
	}
	return -1
}

// TestSoftmaxLast checks softmaxLast (the fused softmax with its analytic
// gradient) against GoMLX's Softmax, whose gradient differentiates the
// decomposed form, on logits with a masked (-1e9) entry per row: values,
// and the gradient of Σ c·softmax.
func TestSoftmaxLast(t *testing.T) {
	be := testBackend(t)
	const rows, n = 6, 7
	r := rand.New(rand.NewPCG(41, 42))
	x, c := randn(r, rows*n), randn(r, rows*n)
	for i := range rows {
		x[i*n+i%n] = -1e9
		x[i*n+(i+1)%n] *= 8 // a dominant logit in some rows
	}
	run := func(sm func(*Node) *Node) (y, grad []float32) {
		exec := MustNewExec(be, func(x, c *Node) []*Node {
			y := sm(x)
			return []*Node{y, Gradient(ReduceAllSum(Mul(y, c)), x)[0]}
		})
		res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, 2, rows/2, n), tensors.FromFlatDataAndDimensions(c, 2, rows/2, n))
		return tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
	}
	y, grad := run(softmaxLast)
	wantY, wantGrad := run(func(x *Node) *Node { return Softmax(x, -1) })
	if i := closeTo(y, wantY, 1e-6); i >= 0 {
		t.Errorf("softmax[%d] = %v; want %v", i, y[i], wantY[i])
	}
	if i := closeTo(grad, wantGrad, 1e-5); i >= 0 {
		t.Errorf("gradient[%d] = %v; want %v", i, grad[i], wantGrad[i])
	}
	for i := range rows {
		if grad[i*n+i%n] != 0 {
			t.Errorf("gradient at masked logit %d = %v; want 0", i*n+i%n, grad[i*n+i%n])
		}
	}
}
