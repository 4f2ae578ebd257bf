package encoder

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/nn"
)

// Forward encodes images [B, H, W, C] (normalized, channels last) into
// tokens [B, 1+N, D]; token 0 is the class token. The parameters live under
// scope with the canonical names of package weights.
func Forward(scope *model.Scope, c Config, images *Node) *Node {
	g := images.Graph()
	b := images.Shape().Dim(0)
	images.AssertDims(b, c.ImageSize, c.ImageSize, c.Channels)
	x := images
	for i, out := range c.Stem {
		x = stemLayer(scope.In("stem%d", i), c, x, out)
	}
	p, n, ch := c.Patch, c.GridSize()/c.Patch, c.PatchChannels()

	// Patchify in (row, col, channel) order, then project: [B, N, P·P·C] → [B, N, D].
	x = Reshape(x, b, n, p, n, p, ch)
	x = TransposeAllDims(x, 0, 1, 3, 2, 4, 5)
	x = Reshape(x, b, n*n, p*p*ch)
	ps := scope.In("patch")
	kernel := nn.Param(ps, "kernel", nn.InitXavier, p, p, ch, c.Dim).NodeValue(g)
	x = Einsum("bnk,kd->bnd", x, Reshape(kernel, p*p*ch, c.Dim))
	x = nn.AddLast(x, nn.Param(ps, "bias", nn.InitZeros, c.Dim).NodeValue(g))

	cls := nn.Param(scope, "cls", nn.InitNormal02, c.Dim).NodeValue(g)
	cls = BroadcastToDims(Reshape(cls, 1, 1, c.Dim), b, 1, c.Dim)
	x = Concatenate([]*Node{cls, x}, 1)
	pos := nn.Param(scope, "pos", nn.InitNormal02, c.Tokens(), c.Dim).NodeValue(g)
	x = nn.AddLast(x, pos)
	if c.PreNorm {
		x = nn.LayerNorm(scope.In("pre_norm"), x, c.Eps)
	}
	for i := range c.Depth {
		x = Block(scope.In("block%d", i), c, x)
	}
	return nn.LayerNorm(scope.In("final_norm"), x, c.Eps)
}

// stemLayer halves the resolution: space-to-depth (each 2×2 block of
// pixels becomes one position with 4× the channels), then a 3×3
// convolution with same padding to out channels, layer norm over channels
// and the activation. It sees 6×6 input pixels per output like a strided
// convolution, without the input dilation a strided convolution's
// gradient needs (which ONNX Runtime lacks). The kernel is stored as
// [9·4·in, out] so the initialization sees the true fan-in.
func stemLayer(scope *model.Scope, c Config, x *Node, out int) *Node {
	b, h, w, in := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2), x.Shape().Dim(3)
	x = Reshape(x, b, h/2, 2, w/2, 2, in)
	x = Reshape(TransposeAllDims(x, 0, 1, 3, 2, 4, 5), b, h/2, w/2, 4*in)
	k := nn.Param(scope, "kernel", nn.InitXavier, 9*4*in, out).NodeValue(x.Graph())
	y := Conv3x3(x, k)
	y = nn.AddLast(y, nn.Param(scope, "bias", nn.InitZeros, out).NodeValue(x.Graph()))
	return c.Activation.Apply(scope, nn.LayerNorm(scope.In("norm"), y, c.Eps))
}

// Conv3x3 convolves x [B, H, W, C] with a 3×3 kernel k [9·C, out] (laid
// out as [3, 3, C, out]) and zero "same" padding. On the CPU backends it
// is one matrix product over the nine shifted copies of x (im2col; zeros
// concatenated, not Pad, for backends without it): the pure-Go backend
// runs Convolve at about 1 GFLOP/s and matrix products at about 100
// (bench/results), and ONNX Runtime ran the mini-hybrid's train step 6%
// and its forward 8% faster this way than with its Conv (bench/perf, four
// rounds each, 2026-12-06). Elsewhere (XLA) it is Convolve.
func Conv3x3(x, k *Node) *Node {
	g := x.Graph()
	b, h, w, c := x.Shape().Dim(0), x.Shape().Dim(1), x.Shape().Dim(2), x.Shape().Dim(3)
	out := k.Shape().Dim(1)
	if !backend.IsGo(g.Backend()) && !backend.IsONNX(g.Backend()) {
		return Convolve(x, Reshape(k, 3, 3, c, out)).PadSame().Done()
	}
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
	y := MatMul(Reshape(Concatenate(cols, 3), b*h*w, 9*c), k)
	return Reshape(y, b, h, w, out)
}

// Block is one pre-norm transformer block:
// x + attn(ln1(x)), then + mlp(ln2(x)).
func Block(scope *model.Scope, c Config, x *Node) *Node {
	h := nn.LayerNorm(scope.In("ln1"), x, c.Eps)
	x = Add(x, nn.SelfAttention(scope.In("attn"), h, c.Heads, nil))
	h = nn.LayerNorm(scope.In("ln2"), x, c.Eps)
	return Add(x, nn.MLP(scope.In("mlp"), h, c.MLPDim, c.Activation))
}

// ClassToken returns the class-token feature [B, D] of Forward's output.
func ClassToken(tokens *Node) *Node {
	return Squeeze(SliceAxis(tokens, 1, AxisElem(0)), 1)
}
