package decoder

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/nn"
)

// Scope holds the decoder's variables; the encoder it reads from keeps
// its own scope (tokenizer.EncoderScope).
const Scope = "/decoder"

// Position p of a decoder sequence holds the begin token (p = 0) or the
// token of level p-1 (p ≥ 1), embedded with its level's table: tokens of
// different levels are different codewords. The output at position p
// predicts the token of level p.

// tokenEmbed embeds tokens [B, T] that sit at positions first..first+T-1
// (first ≥ 1), returning [B, T, D].
func tokenEmbed(s *model.Scope, c Config, tokens *Node, first int) *Node {
	g := tokens.Graph()
	table := nn.Param(s, "token_embed", nn.InitNormal02, c.M*c.L, c.Dim).NodeValue(g)
	level := AddScalar(Iota(g, tokens.Shape(), 1), first-1)
	rows := Add(MulScalar(level, c.L), tokens)
	// int64 indices: the gradient of Gather is a scatter, and ONNX
	// Runtime's ScatterND accepts only int64 indices.
	return Gather(table, ExpandAxes(ConvertDType(rows, dtypes.Int64), -1))
}

func bosEmbed(s *model.Scope, c Config, g *Graph, b int) *Node {
	bos := nn.Param(s, "bos", nn.InitNormal02, c.Dim).NodeValue(g)
	return BroadcastToDims(Reshape(bos, 1, 1, c.Dim), b, 1, c.Dim)
}

func addPos(s *model.Scope, c Config, x *Node, first int) *Node {
	pos := nn.Param(s, "pos", nn.InitNormal02, c.M, c.Dim).NodeValue(x.Graph())
	return nn.AddLast(x, SliceAxis(pos, 0, AxisRange(first, first+x.Shape().Dim(1))))
}

// outLogits maps decoder states [B, T, D] at positions first.. to logits
// [B, T, L] with one output layer per level.
func outLogits(s *model.Scope, c Config, h *Node, first int) *Node {
	g := h.Graph()
	t := h.Shape().Dim(1)
	w := nn.Param(s, "out_kernel", nn.InitXavier, c.M, c.Dim, c.L).NodeValue(g)
	bias := nn.Param(s, "out_bias", nn.InitZeros, c.M, c.L).NodeValue(g)
	w = SliceAxis(w, 0, AxisRange(first, first+t))
	bias = SliceAxis(bias, 0, AxisRange(first, first+t))
	return Add(Einsum("btd,tdl->btl", h, w), ExpandAxes(bias, 0))
}

// Logits runs the decoder with teacher forcing: given the memory [B, S, E]
// (the query's encoder tokens) and the target IDs [B, M], it returns the
// logits [B, M, L] of every level.
func Logits(root *model.Scope, c Config, memory, codes *Node) *Node {
	return logits(root, c, memory, codes, nil)
}

// logits is Logits with the training dropout d (nil: none).
func logits(root *model.Scope, c Config, memory, codes *Node, d *Dropout) *Node {
	s := root.Store().Scope(Scope)
	g := memory.Graph()
	b := memory.Shape().Dim(0)
	x := bosEmbed(s, c, g, b)
	if c.M > 1 {
		prev := SliceAxis(codes, 1, AxisRange(0, c.M-1))
		x = Concatenate([]*Node{x, tokenEmbed(s, c, prev, 1)}, 1)
	}
	x = addPos(s, c, x, 0)
	memory = d.memory(memory)
	mask := nn.CausalMask(g, c.M)
	for i := range c.Depth {
		bs := s.In("block%d", i)
		h := nn.LayerNorm(bs.In("ln1"), x, c.Eps)
		x = Add(x, d.branch(nn.SelfAttention(bs.In("self"), h, c.Heads, mask), 3*i))
		h = nn.LayerNorm(bs.In("ln2"), x, c.Eps)
		x = Add(x, d.branch(nn.CrossAttention(bs.In("cross"), h, memory, c.Heads), 3*i+1))
		h = nn.LayerNorm(bs.In("ln3"), x, c.Eps)
		x = Add(x, d.branch(nn.MLP(bs.In("mlp"), h, c.MLPDim, c.Activation), 3*i+2))
	}
	x = nn.LayerNorm(s.In("final_norm"), x, c.Eps)
	return outLogits(s, c, x, 0)
}

// Loss is the label-smoothed cross-entropy of Logits against codes,
// averaged over batch and levels, with the training dropout d (nil: none);
// it also returns the token accuracy.
func Loss(root *model.Scope, c Config, memory, codes *Node, d *Dropout) (loss, acc *Node) {
	logits := logits(root, c, memory, codes, d)
	logp := LogSoftmax(logits, -1)
	target := OneHot(codes, c.L, dtypes.Float32)
	smooth := AddScalar(MulScalar(target, 1-c.Smoothing), c.Smoothing/float64(c.L))
	loss = ReduceAllMean(Neg(ReduceSum(Mul(smooth, logp), -1)))
	acc = ReduceAllMean(ConvertDType(Equal(ArgMax(logits, -1, dtypes.Int32), codes), dtypes.Float32))
	return loss, acc
}

func shapeI32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Int32, dims...) }
