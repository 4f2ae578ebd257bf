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
	p, n := c.Patch, c.ImageSize/c.Patch
	images.AssertDims(b, c.ImageSize, c.ImageSize, c.Channels)

	// Patchify in (row, col, channel) order, then project: [B, N, P·P·C] → [B, N, D].
	x := Reshape(images, b, n, p, n, p, c.Channels)
	x = TransposeAllDims(x, 0, 1, 3, 2, 4, 5)
	x = Reshape(x, b, n*n, p*p*c.Channels)
	ps := scope.In("patch")
	kernel := nn.Param(ps, "kernel", nn.InitXavier, p, p, c.Channels, c.Dim).NodeValue(g)
	x = Einsum("bnk,kd->bnd", x, Reshape(kernel, p*p*c.Channels, c.Dim))
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
