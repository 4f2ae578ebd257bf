package tokenizer

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
)

// Variable scopes of the tokenizer. The encoder scope is the one the
// decoder starts from, and the one trained at a reduced learning rate.
const (
	EncoderScope = "/encoder"
	HeadScope    = "/head"
	// CodebookPath is the [M, L, FeatureDim] variable holding the codebooks.
	CodebookPath = "/rq/codebooks"
)

// Feature computes the L2-normalized tokenizer feature [B, FeatureDim] of
// images [B, H, W, C], and the encoder tokens it came from.
func Feature(root *model.Scope, c Config, images *Node) (feature, tokens *Node) {
	tokens = encoder.Forward(root.Store().Scope(EncoderScope), c.Encoder, images)
	return Head(root, c, tokens), tokens
}

// Head computes the L2-normalized feature [B, FeatureDim] from the encoder
// tokens [B, T, D], with the variables under HeadScope+"/fc" of root's
// store: the part of Feature after the encoder, for a graph that has the
// tokens already (the decoder's query encoder, when it is this one).
func Head(root *model.Scope, c Config, tokens *Node) *Node {
	f := nn.Dense(root.Store().Scope(HeadScope).In("fc"), encoder.ClassToken(tokens), c.FeatureDim, true)
	return L2Normalize(f, -1)
}

// logits is the cosine classifier: Scale · normalize(x) · normalize(W).
func logits(root *model.Scope, c Config, x *Node) *Node {
	w := nn.Param(root.Store().Scope(HeadScope).In("classifier"), "kernel", nn.InitXavier, c.FeatureDim, c.Classes)
	wn := L2Normalize(w.NodeValue(x.Graph()), 0)
	return MulScalar(MatMul(L2Normalize(x, -1), wn), c.Scale)
}

// Codebooks returns the codebook variable, creating it with zeros; it is
// filled by k-means on features (InitCodebooks) before it is used.
func Codebooks(store *model.Store, c Config) *model.Variable {
	return store.VariableWithShape(CodebookPath, shapeF32(c.M, c.L, c.FeatureDim), Zeros)
}

// Quantize residual-quantizes x [B, F] greedily: at level m the nearest
// codeword to the residual is chosen. It returns the codes [B, M] (int64),
// the partial reconstructions [M, B, F] (sum of the first m+1 codewords,
// differentiable with respect to the codebooks) and the residuals [M, B, F]
// each level quantized. Codes are int64.
func Quantize(codebooks, x *Node, m int) (codes, partial, residuals *Node) {
	var cs, ps, rs []*Node
	r := x
	var sum *Node
	for level := range m {
		cb := Squeeze(SliceAxis(codebooks, 0, AxisElem(level)), 0) // [L, F]
		dist := Add(
			Sub(ReduceAndKeep(Square(r), ReduceSum, -1), MulScalar(MatMul(r, Transpose(cb, 0, 1)), 2)),
			ExpandAxes(ReduceSum(Square(cb), -1), 0)) // [B, L]
		// int64 indices: the gradient of Gather is a scatter, and ONNX
		// Runtime's ScatterND accepts only int64 indices.
		idx := ArgMin(StopGradient(dist), -1, dtypes.Int64) // [B]
		cw := Gather(cb, ExpandAxes(idx, -1))               // [B, F]
		rs = append(rs, r)
		if sum == nil {
			sum = cw
		} else {
			sum = Add(sum, cw)
		}
		cs, ps = append(cs, idx), append(ps, sum)
		r = Sub(r, StopGradient(cw))
	}
	return Stack(cs, 1), Stack(ps, 0), Stack(rs, 0)
}

// Losses are the terms of the tokenizer objective for one batch.
type Losses struct {
	Total, Classify, Reconstruct, Commit, Accuracy *Node
}

// Loss computes the objective on images [B, H, W, C] with labels [B]:
// cross-entropy of the feature, plus (when quantize is true) RQWeight times
// the cross-entropy of each partial reconstruction and the VQ codebook and
// commitment terms.
func Loss(root *model.Scope, c Config, images, labels *Node, quantize bool) Losses {
	f, _ := Feature(root, c, images)
	return featureLoss(root, c, f, labels, quantize)
}

// featureLoss is Loss on the features f [B, FeatureDim] of the images.
func featureLoss(root *model.Scope, c Config, f, labels *Node, quantize bool) Losses {
	g := f.Graph()
	oneHot := OneHot(labels, c.Classes, dtypes.Float32)
	ce := func(x *Node) *Node {
		return ReduceAllMean(Neg(ReduceSum(Mul(oneHot, LogSoftmax(logits(root, c, x), -1)), -1)))
	}
	lg := logits(root, c, f)
	acc := ReduceAllMean(ConvertDType(Equal(ArgMax(lg, -1, dtypes.Int32), labels), dtypes.Float32))
	out := Losses{Classify: ce(f), Accuracy: acc}
	out.Total = out.Classify
	out.Reconstruct = ScalarZero(g, dtypes.Float32)
	out.Commit = ScalarZero(g, dtypes.Float32)
	if !quantize {
		return out
	}
	cb := Codebooks(root.Store(), c).NodeValue(g)
	_, partial, residuals := Quantize(cb, f, c.M)
	for level := range c.M {
		p := Squeeze(SliceAxis(partial, 0, AxisElem(level)), 0)
		out.Reconstruct = Add(out.Reconstruct, ce(p))
	}
	// Codeword chosen at each level = partial[m] - partial[m-1].
	prev := Concatenate([]*Node{ZerosLike(SliceAxis(partial, 0, AxisRange(0, 1))), SliceAxis(partial, 0, AxisRange(0, c.M-1))}, 0)
	cw := Sub(partial, prev)
	codebookTerm := ReduceAllMean(ReduceSum(Square(Sub(StopGradient(residuals), cw)), -1))
	commitTerm := ReduceAllMean(ReduceSum(Square(Sub(residuals, StopGradient(cw))), -1))
	out.Commit = Add(codebookTerm, MulScalar(commitTerm, c.CommitWeight))
	if c.RQWeight > 0 {
		out.Total = Add(out.Total, MulScalar(out.Reconstruct, c.RQWeight))
	}
	out.Total = Add(out.Total, out.Commit)
	return out
}
