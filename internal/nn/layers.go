package nn

import (
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	gnn "github.com/gomlx/gomlx/ml/nn"

	"github.com/irgen/irgen/internal/backend"
)

// Dense applies x·kernel + bias over the last axis of x: kernel is
// [in, out], bias [out]. With bias false no bias variable is created.
func Dense(scope *model.Scope, x *Node, out int, bias bool) *Node {
	in := x.Shape().Dim(-1)
	kernel := Param(scope, "kernel", InitXavier, in, out).NodeValue(x.Graph())
	var b *Node
	if bias {
		b = Param(scope, "bias", InitZeros, out).NodeValue(x.Graph())
	}
	return Linear(scope, x, kernel, b)
}

// Linear is x·kernel + bias over the last axis of x, for kernel [in, out]
// and bias [out] or nil. scope says whether the graph trains.
//
// The pure-Go backend adds a bias element by element in a single thread
// (about 2 ns per output value), so there a bias is folded into the matrix
// product: x gets a column of ones and the kernel the bias as a last row,
// which copies the input once instead (ViT-Tiny forward 408 → 354 ms,
// 2026-11-23). Training graphs take GoMLX's FusedDense instead (bias added
// in place), whose gradient was as fast.
func Linear(scope *model.Scope, x, kernel, bias *Node) *Node {
	g := x.Graph()
	in, out := kernel.Shape().Dim(0), kernel.Shape().Dim(1)
	dims := x.Shape().Clone().Dimensions
	dims[len(dims)-1] = out
	if bias != nil && backend.IsGo(g.Backend()) {
		if scope.IsTraining(g) {
			return gnn.Dense(x, kernel, bias, compute.DenseLayoutInputOutputs)
		}
		x2 := Reshape(x, -1, in)
		x2 = Concatenate([]*Node{x2, Ones(g, shapes.Make(x.DType(), x2.Shape().Dim(0), 1))}, 1)
		k := Concatenate([]*Node{kernel, Reshape(bias, 1, out)}, 0)
		return Reshape(MatMul(x2, k), dims...)
	}
	y := Reshape(MatMul(Reshape(x, -1, in), kernel), dims...)
	if bias != nil {
		y = AddLast(y, bias)
	}
	return y
}

// LayerNorm normalizes the last axis of x to zero mean and unit variance,
// then scales by "gain" and shifts by "bias".
func LayerNorm(scope *model.Scope, x *Node, eps float64) *Node {
	d := x.Shape().Dim(-1)
	g := x.Graph()
	gain := Param(scope, "gain", InitOnes, d).NodeValue(g)
	bias := Param(scope, "bias", InitZeros, d).NodeValue(g)
	// GoMLX's LayerNorm runs the backend's fused op where there is one (the
	// pure-Go backend) and the same decomposition as before elsewhere. Its
	// gradient differentiates the decomposition, which a training graph
	// then computes besides the fused op: there the decomposition alone.
	if scope.IsTraining(g) {
		return layerNormDecomposed(x, gain, bias, eps)
	}
	return gnn.LayerNorm(x, []int{-1}, eps, gain, bias, nil)
}

// layerNormDecomposed is GoMLX's decomposed layer norm over the last axis
// (github.com/gomlx/gomlx/ml/nn, unexported there): (x − mean) / √(var + eps)
// · gain + bias, with the normalization's analytic gradient
//
//	dx = r · (g − mean(g) − x̂ · mean(g ⊙ x̂)),  x̂ = (x − mean) · r,  r = 1/√(var + eps)
//
// in place of differentiating its mean, variance, root and quotient one by
// one (about twice the ops in the backward pass).
func layerNormDecomposed(x, gain, bias *Node, eps float64) *Node {
	var y, r *Node
	normalize := func() *Node {
		centered := Sub(x, ReduceAndKeep(x, ReduceMean, -1))
		variance := ReduceAndKeep(Square(centered), ReduceMean, -1)
		s := Sqrt(Add(variance, ConstAs(x, eps)))
		r = Div(OnesLike(s), s) // not Rsqrt: ONNX Runtime's backend lacks it
		return Mul(centered, r)
	}
	grad := func() *Node {
		return IdentityWithCustomGradient(x, func(_, g *Node) *Node { return layerNormVJP(y, r, g) })
	}
	y, ok := InternalFusedOpCaller(normalize, grad, true)
	if !ok { // GoMLX's op fusion turned off
		y = normalize()
	}
	return Add(Mul(y, ExpandLeftToRank(gain, y.Rank())), ExpandLeftToRank(bias, y.Rank()))
}

// layerNormVJP is the gradient with respect to x of x̂ = (x − mean) · r
// over the last axis, given g, the gradient with respect to x̂.
func layerNormVJP(y, r, g *Node) *Node {
	mg := ReduceAndKeep(g, ReduceMean, -1)
	mgy := ReduceAndKeep(Mul(g, y), ReduceMean, -1)
	return Mul(r, Sub(Sub(g, mg), Mul(y, mgy)))
}

// Activation names a pointwise nonlinearity.
type Activation string

const (
	// GELU is the exact Gaussian error linear unit (timm, BERT).
	GELU Activation = "gelu"
	// QuickGELU is x·sigmoid(1.702x), the approximation CLIP was trained with.
	QuickGELU Activation = "quick_gelu"
)

// Apply applies the activation; unknown names fall back to GELU.
//
// Exact GELU, x·Φ(x), runs as the backend's fused op where there is one,
// except in training graphs (scope.IsTraining): there the gradient needs
// Φ(x) from the decomposed form anyway, so computing the output from it
// saves the fused op's second pass of erf.
func (a Activation) Apply(scope *model.Scope, x *Node) *Node {
	if a == QuickGELU {
		return Mul(x, Sigmoid(MulScalar(x, 1.702)))
	}
	if scope.IsTraining(x.Graph()) {
		return geluTraining(x)
	}
	return activation.Gelu(x)
}

// geluTraining is exact GELU, x·Φ(x), with its analytic gradient
// g · (Φ(x) + x·φ(x)), φ the standard normal density: fewer ops than
// differentiating x·½(1 + erf(x/√2)) step by step, and Φ(x) is the
// forward pass's.
func geluTraining(x *Node) *Node {
	var cdf *Node
	gelu := func() *Node {
		cdf = MulScalar(OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))), 0.5)
		return Mul(x, cdf)
	}
	grad := func() *Node {
		return IdentityWithCustomGradient(x, func(_, g *Node) *Node {
			pdf := MulScalar(Exp(MulScalar(Square(x), -0.5)), 1/math.Sqrt(2*math.Pi))
			return Mul(g, Add(cdf, Mul(x, pdf)))
		})
	}
	y, ok := InternalFusedOpCaller(gelu, grad, true)
	if !ok { // GoMLX's op fusion turned off
		return gelu()
	}
	return y
}

// MLP is the transformer feed-forward block: fc1 → activation → fc2.
func MLP(scope *model.Scope, x *Node, hidden int, act Activation) *Node {
	d := x.Shape().Dim(-1)
	h := act.Apply(scope, Dense(scope.In("fc1"), x, hidden, true))
	return Dense(scope.In("fc2"), h, d, true)
}

// AddLast adds v, whose shape matches the trailing axes of x, to x.
func AddLast(x, v *Node) *Node { return Add(x, ExpandLeftToRank(v, x.Rank())) }

// Dropout zeroes the values of x whose uniform [0, 1) noise u (x's shape)
// is below rate and scales the others by 1/(1-rate), keeping the mean.
func Dropout(x, u *Node, rate float64) *Node {
	if rate <= 0 {
		return x
	}
	keep := GreaterOrEqual(u, ConstAs(u, rate))
	return Where(keep, MulScalar(x, 1/(1-rate)), ZerosLike(x))
}
