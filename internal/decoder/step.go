package decoder

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/nn"
)

// Beam search decodes one position per graph call for all the beams of a
// batch of Q queries at once. The beams sit in a grid of Q rows of G slots
// (G = 1 at position 0, the beam width after), so that a query's beams
// share its cross-attention keys and values as one batched matrix product
// instead of each beam gathering its own copy of them.
//
// Both caches are lists of 2·Depth tensors, block i's keys at 2i and its
// values at 2i+1, so that no step slices a block out of a larger tensor.
// The self-attention cache of a grid holds [Q·G, t, D] per entry: the keys
// or values of every slot at positions 0..t-1. A step gathers the rows of
// its slots' parents from the previous grid's cache.

// CrossCache computes, once per query, the cross-attention keys and values
// of every block from the memory [Q, S, E]: keys [Q, H, D/H, S] and values
// [Q, H, S, D/H], laid out for the two attention products, block i's at 2i
// and 2i+1.
func CrossCache(root *model.Scope, c Config, memory *Node) []*Node {
	s := root.Store().Scope(Scope)
	var kv []*Node
	for i := range c.Depth {
		b := nn.CrossKV(s.In("block%d", i).In("cross"), memory, c.Heads, c.Dim)
		kv = append(kv, TransposeAllDims(b[0], 0, 2, 3, 1), TransposeAllDims(b[1], 0, 2, 1, 3))
	}
	return kv
}

// GridStep decodes position pos for a grid of beams with the cross cache
// cross (CrossCache's). At pos 0 the grid has one slot per query and tok,
// parents and cache are nil. At pos ≥ 1 tok [Q·G] holds each slot's token
// at position pos-1, parents [Q·G] the row of its parent in cache, the
// previous grid's self-attention cache (entries [rows, pos, D]). It
// returns the log-probabilities [Q·G, L] of the token of level pos and,
// unless pos is the last, the grid's cache (entries [Q·G, pos+1, D]).
func GridStep(root *model.Scope, c Config, pos int, tok, parents *Node, cache, cross []*Node) (logp *Node, next []*Node) {
	s := root.Store().Scope(Scope)
	var x, rows *Node
	if pos == 0 {
		x = bosEmbed(s, c, cross[0].Graph(), cross[0].Shape().Dim(0))
	} else {
		x = tokenEmbed(s, c, Reshape(tok, tok.Shape().Dim(0), 1), pos)
		rows = ExpandAxes(parents, -1)
	}
	x = addPos(s, c, x, pos)
	b, dh := x.Shape().Dim(0), c.Dim/c.Heads
	for i := range c.Depth {
		bs := s.In("block%d", i)
		h := nn.LayerNorm(bs.In("ln1"), x, c.Eps)
		self := bs.In("self")
		sq, sk, sv := nn.SelfQKV(self, h, c.Heads)
		k, v := Reshape(sk, b, 1, c.Dim), Reshape(sv, b, 1, c.Dim)
		if pos > 0 {
			k = Concatenate([]*Node{Gather(cache[2*i], rows), k}, 1)
			v = Concatenate([]*Node{Gather(cache[2*i+1], rows), v}, 1)
		}
		next = append(next, k, v)
		t := k.Shape().Dim(1)
		sk, sv = Reshape(k, b, t, c.Heads, dh), Reshape(v, b, t, c.Heads, dh)
		x = Add(x, nn.OutProjection(self, attendOne(sq, sk, sv)))
		h = nn.LayerNorm(bs.In("ln2"), x, c.Eps)
		cs := bs.In("cross")
		cq := nn.CrossQuery(cs, h, c.Heads)
		x = Add(x, nn.OutProjection(cs, attendGrid(cq, cross[2*i], cross[2*i+1])))
		h = nn.LayerNorm(bs.In("ln3"), x, c.Eps)
		x = Add(x, nn.MLP(bs.In("mlp"), h, c.MLPDim, c.Activation))
	}
	x = nn.LayerNorm(s.In("final_norm"), x, c.Eps)
	logp = LogSoftmax(outLogitsAt(s, c, Reshape(x, b, c.Dim), pos), -1)
	if pos == c.M-1 {
		return logp, nil
	}
	return logp, next
}

// attendOne is attention for one query position per beam, q [B, 1, H, dh]
// over k, v [B, T, H, dh], returning [B, 1, H·dh]. T is at most the ID
// length, so it multiplies and sums element-wise rather than running B·H
// matrix products of one row.
func attendOne(q, k, v *Node) *Node {
	b, h, dh := q.Shape().Dim(0), q.Shape().Dim(2), q.Shape().Dim(3)
	q = MulScalar(q, 1/math.Sqrt(float64(dh)))
	w := Softmax(ReduceSum(Mul(q, k), -1), 1)      // [B, T, H]
	out := ReduceSum(Mul(ExpandAxes(w, -1), v), 1) // [B, H, dh]
	return Reshape(out, b, 1, h*dh)
}

// attendGrid is cross-attention for the grid: q [Q·G, 1, H, dh] attends
// to its query's keys [Q, H, dh, S] and values [Q, H, S, dh], returning
// [Q·G, 1, H·dh]. Both products are plain batched matrix products over
// (query, head).
func attendGrid(q, k, v *Node) *Node {
	nq, h, dh := k.Shape().Dim(0), k.Shape().Dim(1), k.Shape().Dim(2)
	b := q.Shape().Dim(0)
	g := b / nq
	q = TransposeAllDims(Reshape(q, nq, g, h, dh), 0, 2, 1, 3)
	q = MulScalar(q, 1/math.Sqrt(float64(dh)))
	logits := DotGeneral(q, []int{3}, []int{0, 1}, k, []int{2}, []int{0, 1}) // [Q, H, G, S]
	out := DotGeneral(Softmax(logits, -1), []int{3}, []int{0, 1}, v, []int{2}, []int{0, 1})
	return Reshape(TransposeAllDims(out, 0, 2, 1, 3), b, 1, h*dh)
}

// outLogitsAt is outLogits for the single position pos: states [B, D] to
// logits [B, L].
func outLogitsAt(s *model.Scope, c Config, h *Node, pos int) *Node {
	g := h.Graph()
	w := nn.Param(s, "out_kernel", nn.InitXavier, c.M, c.Dim, c.L).NodeValue(g)
	bias := nn.Param(s, "out_bias", nn.InitZeros, c.M, c.L).NodeValue(g)
	w = Reshape(SliceAxis(w, 0, AxisElem(pos)), c.Dim, c.L)
	bias = Reshape(SliceAxis(bias, 0, AxisElem(pos)), c.L)
	return nn.AddLast(MatMul(h, w), bias)
}
