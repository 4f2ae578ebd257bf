package nn

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/backend"
)

// SelfAttention is multi-head self-attention over x [B, T, D] with a fused
// "qkv" projection [D, 3D] and an "out" projection [D, D]. mask, when not
// nil, is added to the attention logits and must broadcast to [B, H, T, T]
// (use 0 to keep and a large negative value to drop).
func SelfAttention(scope *model.Scope, x *Node, heads int, mask *Node) *Node {
	b, t, d := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	q, k, v := qkvProjection(scope, x)
	perHead := func(y *Node) *Node { return Reshape(y, b, t, heads, d/heads) }
	if mask == nil && backend.IsGo(x.Graph().Backend()) {
		return Dense(scope.In("out"), attendPerHead(perHead(q), perHead(k), perHead(v)), d, true)
	}
	if scope.IsTraining(x.Graph()) {
		// Per-head views [B, T, H, dh] without re-layout: the backward pass
		// then has fewer transposes (measured on the pure-Go backend, where
		// a train step ran 8–18% faster, the forward pass 5% slower).
		return Dense(scope.In("out"), attend(perHead(q), perHead(k), perHead(v), mask), d, true)
	}
	// Heads ahead of positions, [B, H, T, dh]: both attention products then
	// have their batch axes leading and need no further re-layout.
	split := func(y *Node) *Node { return TransposeAllDims(Reshape(y, b, t, heads, d/heads), 0, 2, 1, 3) }
	return Dense(scope.In("out"), attendHeads(split(q), split(k), split(v), mask), d, true)
}

// qkvProjection projects x [B, T, D] to queries, keys and values, each
// [B, T, D], with the fused "qkv" variables: kernel [D, 3D] and bias [3D].
// It slices the variables rather than the [B, T, 3D] projection, so the
// gradient of the slices pads weight-sized tensors, not activations.
func qkvProjection(scope *model.Scope, x *Node) (q, k, v *Node) {
	g, d, ps := x.Graph(), x.Shape().Dim(-1), scope.In("qkv")
	kernel := Param(ps, "kernel", InitXavier, d, 3*d).NodeValue(g)
	bias := Param(ps, "bias", InitZeros, 3*d).NodeValue(g)
	part := func(i int) *Node {
		return Linear(scope, x, SliceAxis(kernel, 1, AxisRange(i*d, (i+1)*d)), SliceAxis(bias, 0, AxisRange(i*d, (i+1)*d)))
	}
	return part(0), part(1), part(2)
}

// CrossAttention attends from x [B, T, D] to memory [B, S, E]: "q" projects
// x to [D], "kv" projects memory to [2D], "out" maps back to [D].
func CrossAttention(scope *model.Scope, x, memory *Node, heads int) *Node {
	q := CrossQuery(scope, x, heads)
	kv := CrossKV(scope, memory, heads, x.Shape().Dim(-1))
	return CrossOut(scope, q, kv[0], kv[1])
}

// CrossQuery projects x [B, T, D] to per-head queries [B, T, H, D/H].
func CrossQuery(scope *model.Scope, x *Node, heads int) *Node {
	b, t, d := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	return Reshape(Dense(scope.In("q"), x, d, true), b, t, heads, d/heads)
}

// CrossKV projects memory [B, S, E] to per-head keys and values, each
// [B, S, H, D/H], with D the decoder width taken from the "q" projection.
// They depend only on the memory, so a decoder computes them once per query.
func CrossKV(scope *model.Scope, memory *Node, heads int, dim ...int) [2]*Node {
	b, s := memory.Shape().Dim(0), memory.Shape().Dim(1)
	d := memory.Shape().Dim(-1)
	if len(dim) > 0 {
		d = dim[0]
	}
	kv := Reshape(Dense(scope.In("kv"), memory, 2*d, true), b, s, 2, heads, d/heads)
	return [2]*Node{Squeeze(SliceAxis(kv, 2, AxisElem(0)), 2), Squeeze(SliceAxis(kv, 2, AxisElem(1)), 2)}
}

// CrossOut attends queries [B, T, H, dh] to keys/values [B, S, H, dh] and
// applies the "out" projection.
func CrossOut(scope *model.Scope, q, k, v *Node) *Node {
	d := q.Shape().Dim(2) * q.Shape().Dim(3)
	return Dense(scope.In("out"), attend(q, k, v, nil), d, true)
}

// Attend is attention for per-head q [B, T, H, dh] and k, v [B, S, H, dh]
// with an optional additive mask, returning [B, T, H·dh].
func Attend(q, k, v, mask *Node) *Node { return attend(q, k, v, mask) }

// SelfQKV is the "qkv" projection of SelfAttention, split into per-head
// q, k, v, each [B, T, H, D/H]. Decoders use it to extend a key/value cache.
func SelfQKV(scope *model.Scope, x *Node, heads int) (q, k, v *Node) {
	b, t, d := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2)
	q, k, v = qkvProjection(scope, x)
	return Reshape(q, b, t, heads, d/heads), Reshape(k, b, t, heads, d/heads), Reshape(v, b, t, heads, d/heads)
}

// OutProjection is the "out" projection of SelfAttention.
func OutProjection(scope *model.Scope, x *Node) *Node {
	return Dense(scope.In("out"), x, x.Shape().Dim(-1), true)
}

// attend computes softmax(q·kᵀ/√dh + mask)·v for q [B, T, H, dh] and k, v
// [B, S, H, dh], returning [B, T, H·dh].
func attend(q, k, v, mask *Node) *Node {
	b, t, h, dh := q.Shape().Dim(0), q.Shape().Dim(1), q.Shape().Dim(2), q.Shape().Dim(3)
	logits := MulScalar(Einsum("bthd,bshd->bhts", q, k), 1/math.Sqrt(float64(dh)))
	if mask != nil {
		logits = Add(logits, mask)
	}
	w := softmaxLast(logits)
	out := Einsum("bhts,bshd->bthd", w, v)
	return Reshape(out, b, t, h*dh)
}

// attendHeads is attend for q [B, H, T, dh] and k, v [B, H, S, dh].
func attendHeads(q, k, v, mask *Node) *Node {
	b, h, t, dh := q.Shape().Dim(0), q.Shape().Dim(1), q.Shape().Dim(2), q.Shape().Dim(3)
	// Scaling q instead of the logits multiplies T·dh numbers, not T·S.
	logits := Einsum("bhtd,bhsd->bhts", MulScalar(q, 1/math.Sqrt(float64(dh))), k)
	if mask != nil {
		logits = Add(logits, mask)
	}
	out := Einsum("bhts,bhsd->bhtd", softmaxLast(logits), v)
	return Reshape(TransposeAllDims(out, 0, 2, 1, 3), b, t, h*dh)
}

// attendPerHead is attend without a mask as the pure-Go backend runs it
// fastest: one attention per head, on that head's slice of q, k, v
// [B, T, H, dh], the results concatenated into [B, T, H·dh]. The backend
// runs the heads' independent ops concurrently (its softmax is
// single-threaded), and each head's products have their batch axis
// leading and contract the last axes, so neither the forward nor the
// backward pass re-lays anything out: with [B, H, T, dh] (inference) the
// heads were transposed there and back, with [B, T, H, dh] (training) the
// backend transposed the operands of every attention product and of its
// gradients element by element. Cutting the heads out copies q, k and v
// once (and the gradient pads them back).
func attendPerHead(q, k, v *Node) *Node {
	h, dh := q.Shape().Dim(2), q.Shape().Dim(3)
	head := func(y *Node, i int) *Node { return Squeeze(SliceAxis(y, 2, AxisElem(i)), 2) }
	outs := make([]*Node, h)
	for i := range h {
		logits := Einsum("btd,bsd->bts", MulScalar(head(q, i), 1/math.Sqrt(float64(dh))), head(k, i))
		outs[i] = Einsum("bts,bsd->btd", softmaxLast(logits), head(v, i))
	}
	return Concatenate(outs, 2)
}

// CausalMask returns a [1, 1, T, T] additive mask that hides future
// positions.
func CausalMask(g *Graph, t int) *Node {
	s := shapes.Make(dtypes.Int32, t, t)
	row, col := Iota(g, s, 0), Iota(g, s, 1)
	neg := Where(GreaterThan(col, row), Scalar(g, dtypes.Float32, -1e9), Scalar(g, dtypes.Float32, 0))
	return Reshape(neg, 1, 1, t, t)
}
