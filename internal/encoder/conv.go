package encoder

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"

	"github.com/irgen/irgen/internal/backend"
)

// Conv3x3 convolves x [B, H, W, C] with a 3×3 kernel k [9·C, out] (laid
// out as [3, 3, C, out]) and zero "same" padding. On the CPU backends it
// is one matrix product over the nine shifted copies of x (im2col; zeros
// concatenated, not Pad, for backends without it): the pure-Go backend
// runs Convolve at about 1 GFLOP/s and matrix products at about 100
// (bench/results), and ONNX Runtime ran the mini-hybrid's train step 6%
// and its forward 8% faster this way than with its Conv (bench/perf, four
// rounds each, 2026-12-06). Elsewhere (XLA) it is Convolve.
//
// Its gradient with respect to x is written out (withConvGradient).
func Conv3x3(x, k *Node) *Node {
	b, h, w, c := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2), x.Shape().Dim(3)
	out := k.Shape().Dim(1)
	if !backend.IsGo(x.Graph().Backend()) && !backend.IsONNX(x.Graph().Backend()) {
		return Convolve(x, Reshape(k, 3, 3, c, out)).PadSame().Done()
	}
	return withConvGradient(x, k, Reshape(MatMul(StopGradient(im2col(x)), k), b, h, w, out))
}

// im2col returns the nine shifted copies of x [B, H, W, C] (zero padded),
// side by side: [B·H·W, 9·C], in the kernel's (row, col, channel) order.
func im2col(x *Node) *Node {
	g := x.Graph()
	b, h, w, c := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2), x.Shape().Dim(3)
	zr := Zeros(g, shapes.Make(x.DType(), b, 1, w, c))
	x = Concatenate([]*Node{zr, x, zr}, 1)
	zc := Zeros(g, shapes.Make(x.DType(), b, h+2, 1, c))
	x = Concatenate([]*Node{zc, x, zc}, 2)
	cols := make([]*Node, 0, 9)
	for i := range 3 {
		for j := range 3 {
			cols = append(cols, Slice(x, AxisRange(), AxisRange(i, i+h), AxisRange(j, j+w), AxisRange()))
		}
	}
	return Reshape(Concatenate(cols, 3), b*h*w, 9*c)
}

// withConvGradient returns y, the value of Conv3x3(x, k) computed from
// x's im2col with its gradient stopped (so the kernel's gradient is
// colsᵀ·dy through the matrix product), with the gradient with respect to
// x written out: the convolution of dy with the kernel turned by 180° and
// transposed (im2col of dy, one matrix product). It rides on a term of
// value zero, s − s (s is a slice of x's channels widened to at least
// out, through a custom gradient): adding it costs a few passes over y
// where GoMLX's own gradient of the nine shifted copies pads each back to
// x's full size and adds them up. (An alternate gradient graph, as in
// package nn, would do as well on the pure-Go backend but is computed
// anyway on ONNX Runtime, which runs every node of the graph.)
func withConvGradient(x, k, y *Node) *Node {
	g := x.Graph()
	b, h, w, c := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2), x.Shape().Dim(3)
	out := k.Shape().Dim(1)
	q := x
	if c < out {
		q = Concatenate([]*Node{x, Zeros(g, shapes.Make(x.DType(), b, h, w, out-c))}, 3)
	}
	q = IdentityWithCustomGradient(q, func(_, v *Node) *Node {
		dy := Slice(v, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, out))
		dx := Reshape(MatMul(im2col(dy), flipKernel(k, c)), b, h, w, c)
		if c < out {
			dx = Concatenate([]*Node{dx, Zeros(g, shapes.Make(x.DType(), b, h, w, out-c))}, 3)
		}
		return dx
	})
	s := Slice(q, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, out))
	return Add(y, Sub(s, StopGradient(s)))
}

// flipKernel turns k [9·c, out] (laid out [3, 3, c, out]) into the
// kernel of the transposed convolution, [9·out, c]: taps in reverse
// order, each tap's matrix transposed.
func flipKernel(k *Node, c int) *Node {
	out := k.Shape().Dim(1)
	taps := make([]*Node, 9)
	for t := range 9 {
		taps[8-t] = Slice(k, AxisRange(t*c, (t+1)*c), AxisRange())
	}
	return Reshape(Transpose(Reshape(Concatenate(taps, 0), 9, c, out), 1, 2), 9*out, c)
}
