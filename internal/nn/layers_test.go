package nn

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	gnn "github.com/gomlx/gomlx/ml/nn"

	"github.com/irgen/irgen/internal/backend"
)

// testBackend is the backend named by $IRGEN_TEST_BACKEND: by default the
// pure-Go one, where irgen's layers take their fused and rewritten forms;
// IRGEN_TEST_BACKEND=onnx:cpu (-tags onnx) tests the unfused ones.
func testBackend(t *testing.T) compute.Backend {
	t.Helper()
	be, err := backend.New(os.Getenv("IRGEN_TEST_BACKEND"))
	if err != nil {
		t.Fatal(err)
	}
	return be
}

// randn returns n standard normal float32 values.
func randn(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// TestLayerNormGELU checks layer norm followed by exact GELU (fused on the
// pure-Go backend) and the gradient of their sum against float64
// references: the formulas, and central finite differences of them.
func TestLayerNormGELU(t *testing.T) {
	be := testBackend(t)
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
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	want, _ := ref(x64)
	// Inference graphs take the fused GELU, training graphs the decomposed
	// one (see Activation.Apply): both must match the references.
	for _, training := range []bool{false, true} {
		store := model.NewStore()
		exec := model.MustNewExec(be, store, func(scope *model.Scope, x *Node) []*Node {
			store.SetTraining(x.Graph(), training)
			y := GELU.Apply(scope, LayerNorm(scope.In("ln"), x, eps))
			return []*Node{y, Gradient(ReduceAllSum(y), x)[0]}
		})
		res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, rows, d))
		got, grad := tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
				t.Errorf("training=%v: value[%d] = %v; want %v", training, i, got[i], want[i])
			}
			const h = 1e-5
			saved := x64[i]
			x64[i] = saved + h
			_, up := ref(x64)
			x64[i] = saved - h
			_, down := ref(x64)
			x64[i] = saved
			if fd := (up - down) / (2 * h); math.Abs(float64(grad[i])-fd) > 1e-3*(1+math.Abs(fd)) {
				t.Errorf("training=%v: gradient[%d] = %v; finite differences %v", training, i, grad[i], fd)
			}
		}
	}
}

// TestDense checks Dense over a rank-3 input (fused with the bias on the
// pure-Go backend) and the gradients of Σ c·y with respect to the input,
// kernel and bias against float64 formulas.
func TestDense(t *testing.T) {
	be := testBackend(t)
	const b, s, in, out = 2, 3, 4, 5
	r := rand.New(rand.NewPCG(3, 4))
	x, k, bias, c := randn(r, b*s*in), randn(r, in*out), randn(r, out), randn(r, b*s*out)
	wantY := make([]float64, b*s*out)
	wantGX := make([]float64, b*s*in)
	wantGK := make([]float64, in*out)
	wantGB := make([]float64, out)
	for n := range b * s {
		for o := range out {
			acc := float64(bias[o])
			for i := range in {
				acc += float64(x[n*in+i]) * float64(k[i*out+o])
				wantGX[n*in+i] += float64(c[n*out+o]) * float64(k[i*out+o])
				wantGK[i*out+o] += float64(x[n*in+i]) * float64(c[n*out+o])
			}
			wantY[n*out+o] = acc
			wantGB[o] += float64(c[n*out+o])
		}
	}
	// Inference graphs fold the bias into the product on the pure-Go
	// backend, training graphs add it in place (see Linear): both must
	// match, values and gradients.
	for _, training := range []bool{false, true} {
		store := model.NewStore()
		exec := model.MustNewExec(be, store, func(scope *model.Scope, x, c *Node) []*Node {
			store.SetTraining(x.Graph(), training)
			ds := scope.In("dense")
			kv := ds.VariableWithValue("kernel", tensors.FromFlatDataAndDimensions(k, in, out))
			bv := ds.VariableWithValue("bias", tensors.FromFlatDataAndDimensions(bias, out))
			y := Dense(ds, x, out, true)
			g := x.Graph()
			grads := Gradient(ReduceAllSum(Mul(y, c)), x, kv.NodeValue(g), bv.NodeValue(g))
			return append([]*Node{y}, grads...)
		})
		res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, b, s, in), tensors.FromFlatDataAndDimensions(c, b, s, out))
		if dims := res[0].Shape().Dimensions; len(dims) != 3 || dims[0] != b || dims[1] != s || dims[2] != out {
			t.Fatalf("training=%v: output shape %v; want [%d %d %d]", training, dims, b, s, out)
		}
		y, gx := tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
		gk, gb := tensors.MustCopyFlatData[float32](res[2]), tensors.MustCopyFlatData[float32](res[3])
		for _, cmp := range []struct {
			name string
			got  []float32
			want []float64
		}{{"y", y, wantY}, {"dx", gx, wantGX}, {"dkernel", gk, wantGK}, {"dbias", gb, wantGB}} {
			for i, w := range cmp.want {
				if math.Abs(float64(cmp.got[i])-w) > 1e-5*(1+math.Abs(w)) {
					t.Errorf("training=%v: %s[%d] = %v; want %v", training, cmp.name, i, cmp.got[i], w)
				}
			}
		}
	}
}

// TestLayerNormTraining checks that a training graph's layer norm (the
// decomposition alone) matches GoMLX's LayerNorm (the fused op, with the
// gradient of the decomposition) with a non-trivial gain and bias: values
// and the gradients with respect to x, gain and bias.
func TestLayerNormTraining(t *testing.T) {
	be := testBackend(t)
	const rows, d, eps = 4, 6, 1e-6
	r := rand.New(rand.NewPCG(43, 44))
	x, c, gain, bias := randn(r, rows*d), randn(r, rows*d), randn(r, d), randn(r, d)
	run := func(training bool, ln func(scope *model.Scope, x *Node) *Node) [][]float32 {
		store := model.NewStore()
		gv := store.VariableWithValue("/ln/gain", tensors.FromFlatDataAndDimensions(gain, d))
		bv := store.VariableWithValue("/ln/bias", tensors.FromFlatDataAndDimensions(bias, d))
		exec := model.MustNewExec(be, store, func(scope *model.Scope, x, c *Node) []*Node {
			g := x.Graph()
			store.SetTraining(g, training)
			y := ln(scope.In("ln"), x)
			return append([]*Node{y}, Gradient(ReduceAllSum(Mul(y, c)), x, gv.NodeValue(g), bv.NodeValue(g))...)
		})
		res := exec.MustExec(tensors.FromFlatDataAndDimensions(x, rows, d), tensors.FromFlatDataAndDimensions(c, rows, d))
		out := make([][]float32, len(res))
		for i, t := range res {
			out[i] = tensors.MustCopyFlatData[float32](t)
		}
		return out
	}
	got := run(true, func(scope *model.Scope, x *Node) *Node { return LayerNorm(scope, x, eps) })
	want := run(false, func(scope *model.Scope, x *Node) *Node {
		g := x.Graph()
		gain := Param(scope, "gain", InitOnes, d).NodeValue(g)
		bias := Param(scope, "bias", InitZeros, d).NodeValue(g)
		return gnn.LayerNorm(x, []int{-1}, eps, gain, bias, nil)
	})
	for k, name := range []string{"value", "dx", "dgain", "dbias"} {
		if i := closeTo(got[k], want[k], 1e-5); i >= 0 {
			t.Errorf("%s[%d] = %v; want %v", name, i, got[k][i], want[k][i])
		}
	}
}
