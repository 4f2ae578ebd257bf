package encoder

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

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
