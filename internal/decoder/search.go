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
// with the cross-attention cache, and one grid step per position.
type execs struct {
	once    sync.Once
	err     error
	prepare *model.Exec
	steps   []*model.Exec

	// headOnce compiles headPrepare: prepare with Model.Head's output
	// first.
	headOnce    sync.Once
	headErr     error
	headPrepare *model.Exec
}

// Head is a second output of the decoder's query encoder, computed in the
// same graph from the encoder's tokens. For a decoder whose encoder is
// another model's, unchanged (trained with the encoder frozen), that
// model's features of the queries then cost no encoder pass of their own.
type Head struct {
	// Graph maps the encoder's tokens [B, T, D] to [B, Dim]. Its variables
	// must be in the decoder's store (see ckpt.CopyVars).
	Graph func(root *model.Scope, tokens *Node) *Node
	Dim   int
}

var compiled sync.Map // *Model → *execs

func (m *Model) execs() (*execs, error) {
	v, _ := compiled.LoadOrStore(m, &execs{})
	e := v.(*execs)
	e.once.Do(func() {
		e.prepare, e.err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images *Node) []*Node {
			memory := encoder.Forward(scope.Store().Scope(EncoderScope), m.Encoder, images)
			return CrossCache(scope, m.Config, memory)
		})
		for pos := 0; pos < m.Config.M && e.err == nil; pos++ {
			var ex *model.Exec
			ex, e.err = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, in []*Node) []*Node {
				return m.stepGraph(scope, pos, in)
			})
			e.steps = append(e.steps, ex)
		}
	})
	return e, e.err
}

// headExec returns the query encoder that also outputs m.Head's values,
// compiling it on the first call.
func (m *Model) headExec(e *execs) (*model.Exec, error) {
	e.headOnce.Do(func() {
		if m.Head == nil {
			e.headErr = fmt.Errorf("decoder: no head to compute")
			return
		}
		e.headPrepare, e.headErr = model.NewExec(m.Backend, m.Vars, func(scope *model.Scope, images *Node) []*Node {
			memory := encoder.Forward(scope.Store().Scope(EncoderScope), m.Encoder, images)
			return append([]*Node{m.Head.Graph(scope, memory)}, CrossCache(scope, m.Config, memory)...)
		})
	})
	return e.headPrepare, e.headErr
}

// stepGraph is GridStep at pos over the inputs: the cross cache and, after
// position 0, tok, parents and the self-attention cache.
func (m *Model) stepGraph(scope *model.Scope, pos int, in []*Node) []*Node {
	n := 2 * m.Config.Depth
	var tok, parents *Node
	var cache []*Node
	if pos > 0 {
		tok, parents, cache = in[n], in[n+1], in[n+2:]
	}
	logp, next := GridStep(scope, m.Config, pos, tok, parents, cache, in[:n])
	return append([]*Node{logp}, next...)
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
	return m.search(images, q, bs, tr, nil)
}

// search is Search that, when head is not nil, also writes the q × Head.Dim
// values of m.Head into head.
func (m *Model) search(images []float32, q int, bs *beam.Searcher, tr *trie.Trie, head []float32) ([][]beam.Hypothesis, Timing, error) {
	var tm Timing
	ec := m.Encoder
	if len(images) != q*ec.ImageSize*ec.ImageSize*ec.Channels {
		return nil, tm, fmt.Errorf("decoder: %d values for %d query images", len(images), q)
	}
	if cfg := bs.Config(); cfg.M != m.Config.M || cfg.L != m.Config.L {
		return nil, tm, fmt.Errorf("decoder: %w: IDs of %d tokens in [0,%d), searcher M=%d L=%d",
			beam.ErrShape, m.Config.M, m.Config.L, cfg.M, cfg.L)
	}
	e, err := m.execs()
	if err != nil {
		return nil, tm, err
	}
	prepare := e.prepare
	if head != nil {
		if prepare, err = m.headExec(e); err != nil {
			return nil, tm, err
		}
	}
	start := time.Now()
	in := tensors.FromFlatDataAndDimensions(images, q, ec.ImageSize, ec.ImageSize, ec.Channels)
	cc, err := prepare.Exec(in)
	in.FinalizeAll()
	if err != nil {
		return nil, tm, fmt.Errorf("decoder: encode queries: %w", err)
	}
	if head != nil {
		err = tensors.ConstFlatData(cc[0], func(flat []float32) { copy(head, flat) })
		cc[0].FinalizeAll()
		if cc = cc[1:]; err != nil {
			finalize(cc)
			return nil, tm, fmt.Errorf("decoder: query head: %w", err)
		}
	}
	s := newScorer(e, m.Config.L, q, bs.Config().Width, cc)
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
	hyps, _, tm, err := m.searchBatched(images, n, batch, bs, tr, false)
	return hyps, tm, err
}

// SearchHead is SearchBatched that also returns the n × Head.Dim values of
// m.Head, computed from the same encoder pass as the decoder's memory.
func (m *Model) SearchHead(images []float32, n, batch int, bs *beam.Searcher, tr *trie.Trie) ([][]beam.Hypothesis, []float32, Timing, error) {
	if m.Head == nil {
		return nil, nil, Timing{}, fmt.Errorf("decoder: no head to compute")
	}
	return m.searchBatched(images, n, batch, bs, tr, true)
}

func (m *Model) searchBatched(images []float32, n, batch int, bs *beam.Searcher, tr *trie.Trie, withHead bool) ([][]beam.Hypothesis, []float32, Timing, error) {
	var tm Timing
	ec := m.Encoder
	size := ec.ImageSize * ec.ImageSize * ec.Channels
	if n < 0 || batch < 1 || len(images) != n*size {
		return nil, nil, tm, fmt.Errorf("decoder: %d values for %d query images in batches of %d", len(images), n, batch)
	}
	var head, buf []float32
	dim := 0
	if withHead {
		dim = m.Head.Dim
		head, buf = make([]float32, n*dim), make([]float32, batch*dim)
	}
	in := make([]float32, batch*size)
	out := make([][]beam.Hypothesis, 0, n)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		clear(in)
		copy(in, images[lo*size:hi*size])
		hyps, t, err := m.search(in, batch, bs, tr, buf)
		if err != nil {
			return nil, nil, tm, err
		}
		tm.Encode += t.Encode
		tm.Search += t.Search
		out = append(out, hyps[:hi-lo]...)
		copy(head[lo*dim:hi*dim], buf)
	}
	return out, head, tm, nil
}
