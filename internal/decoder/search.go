package decoder

import (
	"fmt"
	"sync"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/trie"
)

// execs holds the compiled search graphs of a model: the query encoder
// with the cross-attention cache, and one decoding step per position.
type execs struct {
	once    sync.Once
	err     error
	prepare *model.Exec
	steps   []*model.Exec
}

var compiled sync.Map // *Model → *execs

func (m *Model) execs() (*execs, error) {
	v, _ := compiled.LoadOrStore(m, &execs{})
	e := v.(*execs)
	e.once.Do(func() {
		e.prepare, e.err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images *Node) []*Node {
			memory := encoder.Forward(scope.Store().Scope(EncoderScope), m.Encoder, images)
			k, v := CrossCache(scope, m.Config, memory)
			return []*Node{k, v}
		})
		if e.err != nil {
			return
		}
		for pos := range m.Config.M {
			var ex *model.Exec
			if pos == 0 {
				ex, e.err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, tok, query, ck, cv *Node) []*Node {
					lp, k, v := Step(scope, m.Config, tok, query, 0, nil, nil, ck, cv)
					return []*Node{lp, k, v}
				})
			} else {
				// Inputs: tok, query, parents, crossK, crossV, selfK, selfV.
				ex, e.err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, in []*Node) []*Node {
					tok, query, parents, ck, cv := in[0], in[1], in[2], in[3], in[4]
					sk, sv := gatherBeams(in[5], parents), gatherBeams(in[6], parents)
					lp, k, v := Step(scope, m.Config, tok, query, pos, sk, sv, ck, cv)
					return []*Node{lp, Concatenate([]*Node{sk, k}, 2), Concatenate([]*Node{sv, v}, 2)}
				})
			}
			if e.err != nil {
				return
			}
			e.steps = append(e.steps, ex)
		}
	})
	return e, e.err
}

// gatherBeams reorders a cache [Depth, B, T, H, dh] along its beam axis.
func gatherBeams(cache, parents *Node) *Node {
	x := TransposeAllDims(cache, 1, 0, 2, 3, 4)
	x = Gather(x, ExpandAxes(parents, -1))
	return TransposeAllDims(x, 1, 0, 2, 3, 4)
}

// scorer implements beam.Scorer with the decoder, keeping the self- and
// cross-attention caches on the backend between steps.
type scorer struct {
	m       *Model
	e       *execs
	queries int
	width   int

	crossK, crossV *tensors.Tensor
	selfK, selfV   *tensors.Tensor
	parents        []int32
	tok, query     []int32
}

// Next implements beam.Scorer.
func (s *scorer) Next(bs beam.Beams, logp []float32) error {
	n, t, l := bs.Len(), bs.T, s.m.Config.L
	rows := s.queries
	if t > 0 {
		rows = s.queries * s.width
	}
	if n > rows {
		return fmt.Errorf("decoder: %d beams at step %d, more than %d", n, t, rows)
	}
	s.tok = resize(s.tok, rows)
	s.query = resize(s.query, rows)
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
func (s *scorer) Reorder(parents []int) error {
	s.parents = resize(s.parents, max(len(parents), s.queries*s.width))
	clear(s.parents)
	for j, p := range parents {
		s.parents[j] = int32(p)
	}
	return nil
}

func (s *scorer) release() {
	for _, t := range []*tensors.Tensor{s.crossK, s.crossV, s.selfK, s.selfV} {
		if t != nil {
			t.FinalizeAll()
		}
	}
}

func resize(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// Timing splits the time of a search between encoding the queries and the
// beam search.
type Timing struct {
	Encode, Search time.Duration
}

// Search generates IDs for q query images (q × H × W × C, normalized) by
// beam search constrained to tr. The graphs are compiled for batch size
// bs.Config().Width beams per query and q queries: keep q fixed across
// calls (pad) to avoid recompiling.
func (m *Model) Search(images []float32, q int, bs *beam.Searcher, tr *trie.Trie) ([][]beam.Hypothesis, Timing, error) {
	var tm Timing
	ec := m.Encoder
	if len(images) != q*ec.ImageSize*ec.ImageSize*ec.Channels {
		return nil, tm, fmt.Errorf("decoder: %d values for %d query images", len(images), q)
	}
	e, err := m.execs()
	if err != nil {
		return nil, tm, err
	}
	start := time.Now()
	cc, err := e.prepare.Exec(tensors.FromFlatDataAndDimensions(images, q, ec.ImageSize, ec.ImageSize, ec.Channels))
	if err != nil {
		return nil, tm, fmt.Errorf("decoder: encode queries: %w", err)
	}
	s := &scorer{m: m, e: e, queries: q, width: bs.Config().Width, crossK: cc[0], crossV: cc[1]}
	defer s.release()
	tm.Encode = time.Since(start)
	start = time.Now()
	hyps, err := bs.SearchBatch(s, tr, q)
	tm.Search = time.Since(start)
	return hyps, tm, err
}

// SearchBatched is Search for n query images (n × H × W × C, normalized),
// batch queries a call, the last call padded so that the graphs compile
// once. images must hold n images; the timings are summed over the calls.
func (m *Model) SearchBatched(images []float32, n, batch int, bs *beam.Searcher, tr *trie.Trie) ([][]beam.Hypothesis, Timing, error) {
	var tm Timing
	ec := m.Encoder
	size := ec.ImageSize * ec.ImageSize * ec.Channels
	if n < 0 || batch < 1 || len(images) != n*size {
		return nil, tm, fmt.Errorf("decoder: %d values for %d query images in batches of %d", len(images), n, batch)
	}
	buf := make([]float32, batch*size)
	out := make([][]beam.Hypothesis, 0, n)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		clear(buf)
		copy(buf, images[lo*size:hi*size])
		hyps, t, err := m.Search(buf, batch, bs, tr)
		if err != nil {
			return nil, tm, err
		}
		tm.Encode += t.Encode
		tm.Search += t.Search
		out = append(out, hyps[:hi-lo]...)
	}
	return out, tm, nil
}
