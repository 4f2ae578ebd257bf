package irt

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Contrastive is the contrastive loss of IRT (seed 003; El-Nouby et al.
// eq. 3) as the seed's code computes it (pytorch-metric-learning's
// ContrastiveLoss with cosine similarity, pos_margin 1, neg_margin β):
//
//	L = mean⁺_{(i,j) positive} (1 − sᵢⱼ) + mean⁺_{(i,j) negative} [sᵢⱼ − β]₊
//
// where sᵢⱼ = embᵢ·refⱼ, a pair is positive when the labels agree and
// negative otherwise, and mean⁺ averages over the pairs whose term is
// above zero (0 when there are none).
//
// emb is [B, D] with labels [B] (int32). With ref nil the pairs are those
// of the batch with itself, self-pairs excluded; otherwise ref [R, D] with
// refLabels [R] is the reference set (the cross-batch memory), and
// reference rows with a negative label are empty slots, ignored.
func Contrastive(emb, labels, ref, refLabels *Node, margin float64) *Node {
	g := emb.Graph()
	self := ref == nil
	if self {
		ref, refLabels = emb, labels
	}
	b, r := emb.Shape().Dim(0), ref.Shape().Dim(0)
	sims := MatMul(emb, Transpose(ref, 0, 1)) // [B, R]
	li := BroadcastToDims(ExpandAxes(labels, -1), b, r)
	lj := BroadcastToDims(ExpandAxes(refLabels, 0), b, r)
	valid := GreaterOrEqual(lj, ZerosLike(lj))
	if self {
		s := shapes.Make(dtypes.Int32, b, b)
		valid = LogicalAnd(valid, NotEqual(Iota(g, s, 0), Iota(g, s, 1)))
	}
	same := Equal(li, lj)
	zero := ZerosLike(sims)
	pos := Where(LogicalAnd(valid, same), MaxScalar(OneMinus(sims), 0.0), zero)
	neg := Where(LogicalAnd(valid, LogicalNot(same)), MaxScalar(AddScalar(sims, -margin), 0.0), zero)
	return Add(meanNonZero(pos), meanNonZero(neg))
}

// meanNonZero is the sum of x over the number of its entries above zero
// (pytorch-metric-learning's AvgNonZeroReducer), 0 when none is.
func meanNonZero(x *Node) *Node {
	count := StopGradient(ReduceAllSum(ConvertDType(GreaterThan(x, ZerosLike(x)), x.DType())))
	return Div(ReduceAllSum(x), MaxScalar(count, 1.0))
}

// KoLeo is the differential-entropy regularizer of IRT_R, the
// Kozachenko–Leonenko estimator up to constants:
//
//	L = −(1/B) Σᵢ log(ρᵢ + 1e-8),  ρᵢ = ‖embᵢ − emb_{n(i)} + 1e-6‖₂
//
// where n(i) is embᵢ's nearest neighbour in the batch by inner product
// (the nearest by distance for L2-normalized embeddings), chosen without
// gradient; the 1e-6 is torch's PairwiseDistance epsilon. emb is [B, D],
// B ≥ 2.
func KoLeo(emb *Node) *Node {
	g := emb.Graph()
	b := emb.Shape().Dim(0)
	dots := StopGradient(MatMul(emb, Transpose(emb, 0, 1)))
	s := shapes.Make(dtypes.Int32, b, b)
	diag := Equal(Iota(g, s, 0), Iota(g, s, 1))
	dots = Where(diag, BroadcastToDims(Scalar(g, emb.DType(), math.Inf(-1)), b, b), dots)
	// int64 indices: the gradient of Gather is a scatter, and ONNX
	// Runtime's ScatterND accepts only int64 indices.
	nearest := Gather(emb, ExpandAxes(ArgMax(dots, -1, dtypes.Int64), -1)) // [B, D]
	rho := Sqrt(ReduceSum(Square(AddScalar(Sub(emb, nearest), 1e-6)), -1))
	return Neg(ReduceAllMean(Log(AddScalar(rho, 1e-8))))
}
