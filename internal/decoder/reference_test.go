package decoder

import (
	"fmt"
	"sync"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/trie"
)

// The reference search is the decoder's former beam search, kept for the
// tests to compare the grid search with: every beam gathers its query's
// cross-attention cache and its parent's self-attention keys and values
// through the per-beam step graph refStep.

// refCrossCache computes the cross-attention keys and values of every
// block from the memory [Q, S, E]: two [Depth, Q, S, H, D/H].
func refCrossCache(root *model.Scope, c Config, memory *Node) (k, v *Node) {
	s := root.Store().Scope(Scope)
	var ks, vs []*Node
	for i := range c.Depth {
		kv := nn.CrossKV(s.In("block%d", i).In("cross"), memory, c.Heads, c.Dim)
		ks, vs = append(ks, kv[0]), append(vs, kv[1])
	}
	return Stack(ks, 0), Stack(vs, 0)
}

// refStep decodes position pos for B beams: tok [B] is the token chosen at
// position pos-1 (ignored at pos 0), query [B] the index of each beam's
// query in the cross cache, selfK/selfV [Depth, B, pos, H, dh] the cached
// self-attention keys and values of positions 0..pos-1 (nil at pos 0). It
// returns the log-probabilities [B, L] of the token of level pos and the
// keys and values of position pos, [Depth, B, 1, H, dh].
func refStep(root *model.Scope, c Config, tok, query *Node, pos int, selfK, selfV, crossK, crossV *Node) (logp, newK, newV *Node) {
	s := root.Store().Scope(Scope)
	g := tok.Graph()
	b := tok.Shape().Dim(0)
	var x *Node
	if pos == 0 {
		x = bosEmbed(s, c, g, b)
	} else {
		x = tokenEmbed(s, c, Reshape(tok, b, 1), pos)
	}
	x = addPos(s, c, x, pos)
	var ks, vs []*Node
	for i := range c.Depth {
		bs := s.In("block%d", i)
		h := nn.LayerNorm(bs.In("ln1"), x, c.Eps)
		self := bs.In("self")
		q, k, v := nn.SelfQKV(self, h, c.Heads)
		ks, vs = append(ks, k), append(vs, v)
		if pos > 0 {
			layer := func(cache *Node) *Node { return Squeeze(SliceAxis(cache, 0, AxisElem(i)), 0) }
			k = Concatenate([]*Node{layer(selfK), k}, 1)
			v = Concatenate([]*Node{layer(selfV), v}, 1)
		}
		x = Add(x, nn.OutProjection(self, nn.Attend(q, k, v, nil)))
		h = nn.LayerNorm(bs.In("ln2"), x, c.Eps)
		cross := bs.In("cross")
		cq := nn.CrossQuery(cross, h, c.Heads)
		pick := func(cache *Node) *Node {
			return Gather(Squeeze(SliceAxis(cache, 0, AxisElem(i)), 0), ExpandAxes(query, -1))
		}
		x = Add(x, nn.CrossOut(cross, cq, pick(crossK), pick(crossV)))
		h = nn.LayerNorm(bs.In("ln3"), x, c.Eps)
		x = Add(x, nn.MLP(bs.In("mlp"), h, c.MLPDim, c.Activation))
	}
	x = nn.LayerNorm(s.In("final_norm"), x, c.Eps)
	logits := Squeeze(outLogits(s, c, x, pos), 1)
	return LogSoftmax(logits, -1), Stack(ks, 0), Stack(vs, 0)
}

// refExecs are the reference search's graphs: the encoder with
// refCrossCache, and refStep per position with the cache gathered by
// parents.
type refExecs struct {
	prepare *model.Exec
	steps   []*model.Exec
}

var refCompiled sync.Map // *Model → *refExecs

func (m *Model) refExecs() (*refExecs, error) {
	if v, ok := refCompiled.Load(m); ok {
		return v.(*refExecs), nil
	}
	e := &refExecs{}
	var err error
	e.prepare, err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images *Node) []*Node {
		memory := encoder.Forward(scope.Store().Scope(EncoderScope), m.Encoder, images)
		k, v := refCrossCache(scope, m.Config, memory)
		return []*Node{k, v}
	})
	for pos := 0; pos < m.Config.M && err == nil; pos++ {
		var ex *model.Exec
		if pos == 0 {
			ex, err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, tok, query, ck, cv *Node) []*Node {
				lp, k, v := refStep(scope, m.Config, tok, query, 0, nil, nil, ck, cv)
				return []*Node{lp, k, v}
			})
		} else {
			// Inputs: tok, query, parents, crossK, crossV, selfK, selfV.
			ex, err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, in []*Node) []*Node {
				tok, query, parents, ck, cv := in[0], in[1], in[2], in[3], in[4]
				sk, sv := gatherBeams(in[5], parents), gatherBeams(in[6], parents)
				lp, k, v := refStep(scope, m.Config, tok, query, pos, sk, sv, ck, cv)
				return []*Node{lp, Concatenate([]*Node{sk, k}, 2), Concatenate([]*Node{sv, v}, 2)}
			})
		}
		e.steps = append(e.steps, ex)
	}
	if err != nil {
		return nil, err
	}
	refCompiled.Store(m, e)
	return e, nil
}

// gatherBeams reorders a cache [Depth, B, T, H, dh] along its beam axis.
func gatherBeams(cache, parents *Node) *Node {
	x := TransposeAllDims(cache, 1, 0, 2, 3, 4)
	x = Gather(x, ExpandAxes(parents, -1))
	return TransposeAllDims(x, 1, 0, 2, 3, 4)
}

// refScorer implements beam.Scorer with refStep, one row per beam padded
// to queries×width rows.
type refScorer struct {
	m       *Model
	e       *refExecs
	queries int
	width   int

	crossK, crossV *tensors.Tensor
	selfK, selfV   *tensors.Tensor
	parents        []int32
	tok, query     []int32
}

// Next implements beam.Scorer.
func (s *refScorer) Next(bs beam.Beams, logp []float32) error {
	n, t, l := bs.Len(), bs.T, s.m.Config.L
	rows := s.queries
	if t > 0 {
		rows = s.queries * s.width
	}
	if n > rows {
		return fmt.Errorf("decoder: %d beams at step %d, more than %d", n, t, rows)
	}
	s.tok = refResize(s.tok, rows)
	s.query = refResize(s.query, rows)
	for b := range n {
		s.query[b] = bs.Query[b]
		if t > 0 {
			s.tok[b] = bs.Prefix[b*t+t-1]
		}
	}
	args := []any{tensors.FromFlatDataAndDimensions(s.tok, rows), tensors.FromFlatDataAndDimensions(s.query, rows)}
	if t == 0 {
		args = append(args, s.crossK, s.crossV)
	} else {
		if len(s.parents) < rows {
			return fmt.Errorf("decoder: step %d without Reorder", t)
		}
		args = append(args, tensors.FromFlatDataAndDimensions(s.parents[:rows], rows), s.crossK, s.crossV, s.selfK, s.selfV)
	}
	out, err := s.e.steps[t].Exec(args...)
	if err != nil {
		return fmt.Errorf("decoder: step %d: %w", t, err)
	}
	if s.selfK != nil {
		s.selfK.FinalizeAll()
		s.selfV.FinalizeAll()
	}
	s.selfK, s.selfV = out[1], out[2]
	err = tensors.ConstFlatData(out[0], func(flat []float32) { copy(logp, flat[:n*l]) })
	out[0].FinalizeAll()
	return err
}

// Reorder implements beam.Scorer; the gather happens in the next step's graph.
func (s *refScorer) Reorder(parents []int) error {
	s.parents = refResize(s.parents, max(len(parents), s.queries*s.width))
	for j, p := range parents {
		s.parents[j] = int32(p)
	}
	return nil
}

func refResize(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// refSearch is Search with the reference scorer.
func (m *Model) refSearch(images []float32, q int, bs *beam.Searcher, tr *trie.Trie) ([][]beam.Hypothesis, error) {
	e, err := m.refExecs()
	if err != nil {
		return nil, err
	}
	ec := m.Encoder
	cc, err := e.prepare.Exec(tensors.FromFlatDataAndDimensions(images, q, ec.ImageSize, ec.ImageSize, ec.Channels))
	if err != nil {
		return nil, err
	}
	s := &refScorer{m: m, e: e, queries: q, width: bs.Config().Width, crossK: cc[0], crossV: cc[1]}
	defer func() {
		for _, t := range []*tensors.Tensor{s.crossK, s.crossV, s.selfK, s.selfV} {
			if t != nil {
				t.FinalizeAll()
			}
		}
	}()
	return bs.SearchBatch(s, tr, q)
}
