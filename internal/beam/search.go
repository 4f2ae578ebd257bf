package beam

import (
	"fmt"
	"math"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// A Searcher runs beam searches with one configuration. It owns its
// scratch memory and reuses it, so after the first search of a given
// batch size the steps do not allocate; only the returned results do. A
// Searcher is not safe for concurrent use: use one per goroutine.
type Searcher struct {
	cfg Config

	queries int
	start   []int // beams of query q are [start[q], start[q+1])

	// Current and next step's beams.
	query, nextQuery   []int32
	prefix, nextPrefix []int32 // stride t and t+1
	score, nextScore   []float64
	parents            []int

	logp    []float32 // N*L
	allowed []int32   // cap L
	heap    []cand    // cap Width
}

// cand is a candidate extension: beam parent followed by tok.
type cand struct {
	score  float64
	parent int32
	tok    int32
}

// New returns a Searcher. It returns ErrShape for an invalid config.
func New(cfg Config) (*Searcher, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	return &Searcher{
		cfg:     cfg,
		allowed: make([]int32, 0, cfg.L),
		heap:    make([]cand, 0, cfg.Width),
	}, nil
}

// Config returns the configuration, with defaults filled in.
func (s *Searcher) Config() Config { return s.cfg }

// Search runs one query: sc sees one beam at step 0 and Query 0 always.
// It returns at most TopK hypotheses, best first; fewer only when the trie
// holds fewer IDs (or the scorer rules some out with -Inf).
func (s *Searcher) Search(sc Scorer, tr *trie.Trie) ([]Hypothesis, error) {
	res, err := s.SearchBatch(sc, tr, 1)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// SearchBatch runs queries independent searches in one batch: each Next
// call covers the live beams of all queries. Result q holds query q's
// hypotheses, best first.
func (s *Searcher) SearchBatch(sc Scorer, tr *trie.Trie, queries int) ([][]Hypothesis, error) {
	if err := s.run(sc, tr, queries); err != nil {
		return nil, err
	}
	return s.results(), nil
}

// run performs the M steps; the final beams are left in query, prefix,
// score and start.
func (s *Searcher) run(sc Scorer, tr *trie.Trie, queries int) error {
	if tr == nil || tr.M() != s.cfg.M || tr.L() != s.cfg.L {
		m, l := 0, 0
		if tr != nil {
			m, l = tr.M(), tr.L()
		}
		return fmt.Errorf("%w: trie has M=%d L=%d, searcher M=%d L=%d", ErrShape, m, l, s.cfg.M, s.cfg.L)
	}
	if queries < 0 {
		return fmt.Errorf("%w: %d queries", ErrShape, queries)
	}
	s.reset(queries)
	for t := range s.cfg.M {
		if len(s.query) == 0 {
			break // nothing left to extend (empty trie or all ruled out)
		}
		if err := s.step(sc, tr, t); err != nil {
			return err
		}
	}
	return nil
}

// reset sizes the scratch for queries and installs one empty beam each.
func (s *Searcher) reset(queries int) {
	w, m, l := s.cfg.Width, s.cfg.M, s.cfg.L
	maxBeams := queries * w
	if cap(s.query) < maxBeams || cap(s.start) < queries+1 {
		s.query = make([]int32, 0, maxBeams)
		s.nextQuery = make([]int32, 0, maxBeams)
		s.prefix = make([]int32, 0, maxBeams*m)
		s.nextPrefix = make([]int32, 0, maxBeams*m)
		s.score = make([]float64, 0, maxBeams)
		s.nextScore = make([]float64, 0, maxBeams)
		s.parents = make([]int, 0, maxBeams)
		s.logp = make([]float32, maxBeams*l)
		s.start = make([]int, 0, queries+1)
	}
	s.queries = queries
	s.query, s.prefix, s.score = s.query[:0], s.prefix[:0], s.score[:0]
	s.start = s.start[:0]
	for q := range queries {
		s.start = append(s.start, q)
		s.query = append(s.query, int32(q))
		s.score = append(s.score, 0)
	}
	s.start = append(s.start, queries)
}

// step scores the beams at step t (prefixes of length t) and keeps the
// best Width extensions per query.
func (s *Searcher) step(sc Scorer, tr *trie.Trie, t int) error {
	n, l := len(s.query), s.cfg.L
	logp := s.logp[:n*l]
	beams := Beams{T: t, Query: s.query, Prefix: s.prefix[:n*t]}
	if err := sc.Next(beams, logp); err != nil {
		return fmt.Errorf("beam: step %d: %w", t, err)
	}
	s.nextQuery = s.nextQuery[:0]
	s.nextPrefix = s.nextPrefix[:0]
	s.nextScore = s.nextScore[:0]
	s.parents = s.parents[:0]
	lo := 0
	for q := range s.queries {
		hi := s.start[q+1]
		s.start[q] = len(s.nextQuery)
		s.heap = s.heap[:0]
		for b := lo; b < hi; b++ {
			p := s.prefix[b*t : (b+1)*t]
			s.allowed = tr.Allowed(semid.ID(p), s.allowed)
			row := logp[b*l : (b+1)*l]
			for _, tok := range s.allowed {
				lp := row[tok]
				if math.IsNaN(float64(lp)) || math.IsInf(float64(lp), -1) {
					continue
				}
				s.push(cand{score: s.score[b] + float64(lp), parent: int32(b), tok: tok}, t)
			}
		}
		lo = hi
		// Heap-sort in place: the worst goes last, leaving best first.
		for i := len(s.heap) - 1; i > 0; i-- {
			s.heap[0], s.heap[i] = s.heap[i], s.heap[0]
			s.down(0, i, t)
		}
		for _, c := range s.heap {
			b := int(c.parent)
			s.nextQuery = append(s.nextQuery, int32(q))
			s.nextPrefix = append(s.nextPrefix, s.prefix[b*t:(b+1)*t]...)
			s.nextPrefix = append(s.nextPrefix, c.tok)
			s.nextScore = append(s.nextScore, c.score)
			s.parents = append(s.parents, b)
		}
	}
	s.start[s.queries] = len(s.nextQuery)
	s.query, s.nextQuery = s.nextQuery, s.query
	s.prefix, s.nextPrefix = s.nextPrefix, s.prefix
	s.score, s.nextScore = s.nextScore, s.score
	if t < s.cfg.M-1 && len(s.query) > 0 {
		if err := sc.Reorder(s.parents); err != nil {
			return fmt.Errorf("beam: reorder after step %d: %w", t, err)
		}
	}
	return nil
}

// worse reports whether candidate a ranks below b: a lower score, or an
// equal score and a lexicographically larger ID. t is the parents' prefix
// length.
func (s *Searcher) worse(a, b cand, t int) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	if a.parent != b.parent {
		pa := s.prefix[int(a.parent)*t : int(a.parent+1)*t]
		pb := s.prefix[int(b.parent)*t : int(b.parent+1)*t]
		if c := semid.ID(pa).Compare(pb); c != 0 {
			return c > 0
		}
	}
	return a.tok > b.tok
}

// push offers c to the min-heap of the Width best candidates, whose root
// s.heap[0] is the worst kept one.
func (s *Searcher) push(c cand, t int) {
	h := s.heap
	if len(h) < s.cfg.Width {
		h = append(h, c)
		s.heap = h
		// Sift up.
		i := len(h) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !s.worse(h[i], h[p], t) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
		return
	}
	if !s.worse(h[0], c, t) {
		return
	}
	h[0] = c
	s.down(0, len(h), t)
}

// down restores the heap order below i within h[:n].
func (s *Searcher) down(i, n int, t int) {
	h := s.heap
	for {
		w := 2*i + 1
		if w >= n {
			return
		}
		if r := w + 1; r < n && s.worse(h[r], h[w], t) {
			w = r
		}
		if !s.worse(h[w], h[i], t) {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// results copies the final beams, cut at TopK per query, into fresh
// memory: three allocations in all.
func (s *Searcher) results() [][]Hypothesis {
	m := s.cfg.M
	out := make([][]Hypothesis, s.queries)
	total := 0
	for q := range s.queries {
		total += min(s.start[q+1]-s.start[q], s.cfg.TopK)
	}
	if total == 0 {
		return out
	}
	hyps := make([]Hypothesis, 0, total)
	ids := make([]int32, total*m)
	for q := range s.queries {
		first := len(hyps)
		for b := s.start[q]; b < s.start[q+1] && len(hyps)-first < s.cfg.TopK; b++ {
			k := len(hyps)
			id := semid.ID(ids[k*m : (k+1)*m : (k+1)*m])
			copy(id, s.prefix[b*m:(b+1)*m])
			hyps = append(hyps, Hypothesis{ID: id, Score: s.score[b]})
		}
		out[q] = hyps[first:len(hyps):len(hyps)]
	}
	return out
}
