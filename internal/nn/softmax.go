package nn

import (
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
)

// softmaxLast is Softmax over the last axis of x, with the analytic
// gradient dx = y ⊙ (g − Σ g ⊙ y), y being the softmax.
//
// graph.Softmax runs the backend's fused softmax where there is one (the
// pure-Go backend), but differentiates its decomposed form (max, subtract,
// exp, sum, divide), which the backward pass then has to compute as well:
// in a ViT train step on the pure-Go backend that second softmax, with its
// exp in float64 one element at a time, cost more than the fused one.
// Here the gradient needs only the softmax's output. Backends without the
// fused op (ONNX Runtime) compute the decomposed form forward and take the
// same gradient instead of differentiating its five steps.
func softmaxLast(x *Node) *Node {
	axis := x.Rank() - 1
	var y *Node
	// What the gradient goes through: an identity of x whose gradient is
	// computed from y. Its forward value is unused (and dropped).
	grad := func() *Node {
		return IdentityWithCustomGradient(x, func(_, g *Node) *Node { return softmaxVJP(y, g) })
	}
	// Each call builds grad's identity, which ONNX Runtime computes even
	// unused: try the fused op only where the backend has one.
	var out *Node
	ok := false
	if x.Graph().Backend().Capabilities().Operations[compute.OpTypeFusedSoftmax] {
		out, ok = InternalFusedOpCaller(func() *Node { return BackendFusedSoftmax(x, axis) }, grad, true)
	}
	if !ok {
		out, ok = InternalFusedOpCaller(func() *Node { return Softmax(x, axis) }, grad, true)
	}
	if !ok { // GoMLX's op fusion turned off
		return Softmax(x, axis)
	}
	y = out
	return y
}

// softmaxVJP is the gradient with respect to the logits of a softmax y
// over the last axis, given g, the gradient with respect to y.
func softmaxVJP(y, g *Node) *Node {
	return Mul(y, Sub(g, ReduceAndKeep(Mul(g, y), ReduceSum, -1)))
}
