package nn

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestDropout checks Dropout value by value against its definition: a
// value is zeroed where its noise is below the rate and scaled by
// 1/(1-rate) elsewhere; rate 0 returns x as it is.
func TestDropout(t *testing.T) {
	be := testBackend(t)
	x := []float32{1, -2, 3, 4, -5, 6}
	u := []float32{0.05, 0.1, 0.5, 0.099, 0.9, 0.0}
	for _, rate := range []float64{0, 0.1, 0.5} {
		exec := model.MustNewExec(be, model.NewStore(), func(scope *model.Scope, x, u *Node) *Node {
			y := Dropout(x, u, rate)
			if rate == 0 && y != x {
				t.Errorf("rate 0 built a dropout")
			}
			return Add(y, MulScalar(u, 0)) // u is an input at every rate
		})
		res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, 2, 3), tensors.FromFlatDataAndDimensions(u, 2, 3))
		got := tensors.MustCopyFlatData[float32](res[0])
		for i, v := range x {
			want := v
			switch {
			case rate == 0:
			case float64(u[i]) < rate:
				want = 0
			default:
				want = float32(float64(v) / (1 - rate))
			}
			if g := got[i]; math.Abs(float64(g-want)) > 1e-6*math.Abs(float64(want)) {
				t.Errorf("rate %g: value %d (x %g, noise %g) = %g, want %g", rate, i, v, u[i], g, want)
			}
		}
	}
}
