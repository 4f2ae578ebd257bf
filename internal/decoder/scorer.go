package decoder

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/beam"
)

// scorer implements beam.Scorer with the decoder's grid steps (GridStep),
// keeping the cross-attention and self-attention caches on the backend
// between steps. It places the beams of the search in the grid: beam b of
// query q, the r-th of its query, takes slot q·G + r; unused slots decode
// token 0 from row 0 and their outputs are not read.
type scorer struct {
	e       *execs
	l       int
	queries int
	width   int

	cross []*tensors.Tensor // CrossCache's
	cache []*tensors.Tensor // the last grid's self-attention cache

	slot    []int32 // grid slot of each beam of the last step
	parent  []int32 // per beam of the next step: its parent's slot
	tok     []int32 // per slot
	parents []int32 // per slot: its parent's row in cache
}

func newScorer(e *execs, l, queries, width int, cross []*tensors.Tensor) *scorer {
	n := queries * width
	return &scorer{
		e: e, l: l, queries: queries, width: width, cross: cross,
		slot: make([]int32, 0, n), parent: make([]int32, 0, n),
		tok: make([]int32, n), parents: make([]int32, n),
	}
}

// Next implements beam.Scorer.
func (s *scorer) Next(bs beam.Beams, logp []float32) error {
	t, n := bs.T, bs.Len()
	if t < 0 || t >= len(s.e.steps) {
		return fmt.Errorf("decoder: step %d of an ID of %d tokens", t, len(s.e.steps))
	}
	g := s.width
	if t == 0 {
		g = 1
	}
	if err := s.place(bs, g); err != nil {
		return err
	}
	rows := s.queries * g
	args := make([]any, 0, 2*len(s.cross)+2)
	for _, x := range s.cross {
		args = append(args, x)
	}
	if t > 0 {
		if len(s.parent) != n {
			return fmt.Errorf("decoder: step %d has %d beams, the last Reorder %d", t, n, len(s.parent))
		}
		tok, parents := s.tok[:rows], s.parents[:rows]
		clear(tok)
		clear(parents)
		for b, sl := range s.slot {
			tok[sl] = bs.Prefix[b*t+t-1]
			parents[sl] = s.parent[b]
		}
		args = append(args, tensors.FromFlatDataAndDimensions(tok, rows), tensors.FromFlatDataAndDimensions(parents, rows))
		for _, x := range s.cache {
			args = append(args, x)
		}
	}
	out, err := s.e.steps[t].Exec(args...)
	if err != nil {
		return fmt.Errorf("decoder: step %d: %w", t, err)
	}
	finalize(s.cache)
	s.cache = out[1:]
	err = tensors.ConstFlatData(out[0], func(flat []float32) { s.gatherRows(logp, flat, n) })
	out[0].FinalizeAll()
	return err
}

// place assigns the grid slots of the beams bs to s.slot for a grid of g
// slots per query.
func (s *scorer) place(bs beam.Beams, g int) error {
	s.slot = s.slot[:0]
	first, last := 0, int32(-1)
	for b, q := range bs.Query {
		if q != last {
			if q < last || int(q) >= s.queries {
				return fmt.Errorf("decoder: beam %d of query %d out of order or of %d queries", b, q, s.queries)
			}
			first, last = b, q
		}
		r := b - first
		if r >= g {
			return fmt.Errorf("decoder: query %d has more than %d beams at step %d", q, g, bs.T)
		}
		s.slot = append(s.slot, q*int32(g)+int32(r))
	}
	return nil
}

// gatherRows copies the log-probabilities of the n beams' slots from the
// grid's flat [slots, L] into logp [n, L].
func (s *scorer) gatherRows(logp, flat []float32, n int) {
	l := s.l
	if n > 0 && int(s.slot[n-1]) == n-1 { // every slot taken: same layout
		copy(logp[:n*l], flat)
		return
	}
	for b, sl := range s.slot {
		copy(logp[b*l:(b+1)*l], flat[int(sl)*l:])
	}
}

// Reorder implements beam.Scorer: the next step gathers each beam's cache
// from its parent's slot.
func (s *scorer) Reorder(parents []int) error {
	s.parent = s.parent[:0]
	for j, p := range parents {
		if p < 0 || p >= len(s.slot) {
			return fmt.Errorf("decoder: parent %d of beam %d, of %d beams", p, j, len(s.slot))
		}
		s.parent = append(s.parent, s.slot[p])
	}
	return nil
}

func (s *scorer) release() {
	finalize(s.cross)
	finalize(s.cache)
}

// finalize frees the backend memory of ts.
func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		t.FinalizeAll()
	}
}
