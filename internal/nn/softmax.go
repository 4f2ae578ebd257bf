package nn

import (
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
// Here the gradient needs only the fused op's output. Backends without the
// fused op get graph.Softmax unchanged.
func softmaxLast(x *Node) *Node {
	axis := x.Rank() - 1
	var y *Node
	out, fused := InternalFusedOpCaller(
		func() *Node { return BackendFusedSoftmax(x, axis) },
		// What the gradient goes through: an identity of x whose gradient
		// is computed from y. Its forward value is unused (and dropped).
		func() *Node { return IdentityWithCustomGradient(x, func(_, g *Node) *Node { return softmaxVJP(y, g) }) },
		true,
	)
	if !fused {
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
