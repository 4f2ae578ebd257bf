package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/irgen/irgen/internal/backend"
)

// TestLayerNormGELU checks layer norm followed by exact GELU (fused on the
// pure-Go backend) and the gradient of their sum against float64
// references: the formulas, and central finite differences of them.
func TestLayerNormGELU(t *testing.T) {
	be, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	const rows, d, eps = 3, 5, 1e-6
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, rows*d)
	for i := range x {
		x[i] = float32(2 * r.NormFloat64())
	}
	ref := func(x []float64) (out []float64, sum float64) {
		out = make([]float64, len(x))
		for i := 0; i < len(x); i += d {
			row := x[i : i+d]
			var mean, v float64
			for _, a := range row {
				mean += a / d
			}
			for _, a := range row {
				v += (a - mean) * (a - mean) / d
			}
			for j, a := range row {
				y := (a - mean) / math.Sqrt(v+eps)
				out[i+j] = 0.5 * y * (1 + math.Erf(y/math.Sqrt2))
				sum += out[i+j]
			}
		}
		return out, sum
	}
	exec := model.MustNewExec(be, model.NewStore(), func(scope *model.Scope, x *Node) []*Node {
		y := GELU.Apply(LayerNorm(scope.In("ln"), x, eps))
		return []*Node{y, Gradient(ReduceAllSum(y), x)[0]}
	})
	res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, rows, d))
	got, grad := tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	want, _ := ref(x64)
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
			t.Errorf("value[%d] = %v; want %v", i, got[i], want[i])
		}
		const h = 1e-5
		saved := x64[i]
		x64[i] = saved + h
		_, up := ref(x64)
		x64[i] = saved - h
		_, down := ref(x64)
		x64[i] = saved
		if fd := (up - down) / (2 * h); math.Abs(float64(grad[i])-fd) > 1e-3*(1+math.Abs(fd)) {
			t.Errorf("gradient[%d] = %v; finite differences %v", i, grad[i], fd)
		}
	}
}
