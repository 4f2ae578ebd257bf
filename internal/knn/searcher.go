package knn

import (
	"fmt"

	"github.com/irgen/irgen/internal/vec"
)

// Searcher runs queries against one Index with reusable scratch: the top-k
// heap, a block of scores and a normalised copy of the query. Searchers are
// not safe for concurrent use; give each goroutine its own.
type Searcher struct {
	ix     *Index
	q      []float32
	scores []float32
	top    TopK
}

// NewSearcher returns a Searcher for ix.
func (ix *Index) NewSearcher() *Searcher {
	return &Searcher{
		ix:     ix,
		q:      make([]float32, ix.dim),
		scores: make([]float32, blockRows(ix.dim)),
	}
}

// SearchInto appends the k best live rows for q to dst[:0], best first, and
// returns it. It does not allocate once dst has capacity k and the Searcher
// has served a query of that k.
func (s *Searcher) SearchInto(q []float32, k int, dst []Result) ([]Result, error) {
	return s.search(q, k, -1, dst)
}

// SearchExcluding is SearchInto that also skips row excludeID, as for
// leave-one-out evaluation where the query is itself a gallery row.
func (s *Searcher) SearchExcluding(q []float32, k, excludeID int, dst []Result) ([]Result, error) {
	return s.search(q, k, excludeID, dst)
}

func (s *Searcher) search(q []float32, k, exclude int, dst []Result) ([]Result, error) {
	ix := s.ix
	if len(q) != ix.dim {
		return dst[:0], fmt.Errorf("%w: query has %d values, index %d", ErrDim, len(q), ix.dim)
	}
	if k <= 0 {
		return dst[:0], fmt.Errorf("%w: got %d", ErrK, k)
	}
	if ix.metric == Cosine {
		copy(s.q, q)
		vec.Normalize(s.q)
		q = s.q
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s.top.Reset(min(k, len(ix.deleted)))
	ix.scan(q, exclude, s.scores, &s.top)
	return s.top.AppendSorted(dst[:0]), nil
}

// scan scores q (normalized for Cosine) against every live row of ix
// (except exclude) in blocks of len(scores) rows and pushes the scores
// into top. The caller holds ix.mu for reading.
func (ix *Index) scan(q []float32, exclude int, scores []float32, top *TopK) {
	dim := ix.dim
	n := len(ix.deleted)
	kernel := ix.kernel()
	for lo := 0; lo < n; lo += len(scores) {
		hi := min(lo+len(scores), n)
		sc := scores[:hi-lo]
		kernel(q, ix.data[lo*dim:hi*dim], dim, sc)
		ix.scale(sc, lo)
		pushBlock(top, sc, lo, ix.metric == L2, ix.deleted[lo:hi], ix.ndel > 0, exclude, nil)
	}
}

// scale turns the inner products sc of rows lo, lo+1, ... into cosines
// for Cosine: each times its row's inverse norm.
func (ix *Index) scale(sc []float32, lo int) {
	if ix.inv == nil {
		return
	}
	inv := ix.inv[lo : lo+len(sc)]
	for i := range sc {
		sc[i] *= inv[i]
	}
}

// pushBlock offers block scores sc (rows lo, lo+1, ...) to top, skipping
// deleted rows, exclude and the rows skip (nil: none) reports. neg flips
// distances into scores.
func pushBlock(top *TopK, sc []float32, lo int, neg bool, deleted []bool, anyDeleted bool, exclude int, skip func(id int) bool) {
	deleted = deleted[:len(sc)]
	for i, v := range sc {
		if neg {
			v = -v
		}
		if top.Full() && v < top.h[0].Score {
			continue
		}
		id := lo + i
		if (anyDeleted && deleted[i]) || id == exclude || (skip != nil && skip(id)) {
			continue
		}
		top.Push(id, v)
	}
}
