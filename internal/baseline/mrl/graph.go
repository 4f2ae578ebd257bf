package mrl

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/tokenizer"
)

// Variable scopes of the MRL model. EncoderScope is the tokenizer's, so
// that the encoder copies from it by path.
const (
	EncoderScope = tokenizer.EncoderScope
	HeadScope    = "/mrl"
)

// Embed computes the embedding z [B, Dim] of images [B, H, W, C]: the
// encoder's class token through a linear layer. z is not normalized; the
// retrieval normalizes each prefix it uses.
func Embed(root *model.Scope, c Config, images *Node) *Node {
	tokens := encoder.Forward(root.Store().Scope(EncoderScope), c.Encoder, images)
	return nn.Dense(root.Store().Scope(HeadScope).In("fc"), encoder.ClassToken(tokens), c.Dim, true)
}

// Logits returns the classifier logits [B, Classes] of every nested
// prefix of z [B, Dim], in the order of c.Nesting: W_m · z[:m] + b_m, with
// its own (W_m, b_m) per prefix, or with W_m the first m rows of one
// shared W and b_m = b when c.Shared (MRL-E).
func Logits(root *model.Scope, c Config, z *Node) []*Node {
	g := z.Graph()
	head := root.Store().Scope(HeadScope)
	out := make([]*Node, len(c.Nesting))
	if c.Shared {
		cs := head.In("classifier")
		w := nn.Param(cs, "kernel", nn.InitXavier, c.Dim, c.Classes).NodeValue(g)
		b := nn.Param(cs, "bias", nn.InitZeros, c.Classes).NodeValue(g)
		for i, m := range c.Nesting {
			zm := SliceAxis(z, 1, AxisRange(0, m))
			wm := SliceAxis(w, 0, AxisRange(0, m))
			out[i] = nn.AddLast(MatMul(zm, wm), b)
		}
		return out
	}
	for i, m := range c.Nesting {
		out[i] = nn.Dense(head.In("classifier%d", m), SliceAxis(z, 1, AxisRange(0, m)), c.Classes, true)
	}
	return out
}

// Losses are the terms of the Matryoshka objective for one batch.
type Losses struct {
	// Total is Σ_m CE_m, the Matryoshka loss.
	Total *Node
	// PerDim holds CE_m for each prefix of Config.Nesting.
	PerDim []*Node
	// Accuracy is the batch accuracy of the smallest and of the full
	// prefix's classifier.
	AccuracyMin, AccuracyFull *Node
}

// Loss computes the Matryoshka loss of embeddings z [B, Dim] with integer
// labels [B]: the sum over the nested prefixes of the mean cross-entropy of
// their classifiers.
func Loss(root *model.Scope, c Config, z, labels *Node) Losses {
	logits := Logits(root, c, z)
	oneHot := OneHot(labels, c.Classes, dtypes.Float32)
	var out Losses
	for _, lg := range logits {
		ce := ReduceAllMean(Neg(ReduceSum(Mul(oneHot, LogSoftmax(lg, -1)), -1)))
		out.PerDim = append(out.PerDim, ce)
		if out.Total == nil {
			out.Total = ce
		} else {
			out.Total = Add(out.Total, ce)
		}
	}
	acc := func(lg *Node) *Node {
		return ReduceAllMean(ConvertDType(Equal(ArgMax(lg, -1, labels.DType()), labels), dtypes.Float32))
	}
	out.AccuracyMin, out.AccuracyFull = acc(logits[0]), acc(logits[len(logits)-1])
	return out
}
