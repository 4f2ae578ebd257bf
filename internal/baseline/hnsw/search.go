package hnsw

import (
	"fmt"

	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/vec"
)

// Searcher runs queries against one Index with reusable scratch: a visited
// epoch array, the candidate and result heaps, and a normalised copy of the
// query. Searchers are not safe for concurrent use; give each goroutine its
// own.
type Searcher struct {
	// Ef is the candidate list size; 0 means the index's Config.EfSearch.
	// A query for k results uses max(Ef, k).
	Ef int

	ix      *Index
	q       []float32
	visited []uint32 // visited[id] == epoch: seen in the current layer search
	epoch   uint32
	cand    candHeap
	res     knn.TopK
	eps     []knn.Result // entry points for the next layer
	sel     []knn.Result // neighbours selected for a new node
	prune   []knn.Result // candidates when re-selecting a full list
	kept    []knn.Result
	sorted  []knn.Result
}

// NewSearcher returns a Searcher for ix.
func (ix *Index) NewSearcher() *Searcher {
	return &Searcher{ix: ix, q: make([]float32, ix.dim)}
}

// SearchInto appends up to k live nodes near q to dst[:0], best first, and
// returns it. It does not allocate once dst has capacity k and the Searcher
// has served a query of the same k on an index of the same size.
func (s *Searcher) SearchInto(q []float32, k int, dst []knn.Result) ([]knn.Result, error) {
	ix := s.ix
	dst = dst[:0]
	if err := ix.checkVec(q); err != nil {
		return dst, fmt.Errorf("hnsw: query: %w", err)
	}
	if k <= 0 {
		return dst, fmt.Errorf("%w: got %d", knn.ErrK, k)
	}
	if ix.cfg.Metric == knn.Cosine {
		copy(s.q, q)
		vec.Normalize(s.q)
		q = s.q
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.entry < 0 {
		return dst, nil
	}
	s.ensure()
	ep := knn.Result{ID: int(ix.entry), Score: ix.score(q, ix.entry)}
	for l := ix.top; l > 0; l-- {
		ep = s.greedy(q, ep, l)
	}
	ef := s.Ef
	if ef <= 0 {
		ef = ix.cfg.EfSearch
	}
	s.eps = append(s.eps[:0], ep)
	s.searchLayer(q, s.eps, min(max(ef, k), len(ix.levels)), 0, ix.ndel > 0)
	s.sorted = s.res.AppendSorted(s.sorted[:0])
	return append(dst, s.sorted[:min(k, len(s.sorted))]...), nil
}

// ensure sizes the visited array for the current graph. Caller holds a lock.
func (s *Searcher) ensure() {
	n := len(s.ix.levels)
	if len(s.visited) < n {
		grown := make([]uint32, n+n/4+64)
		copy(grown, s.visited)
		s.visited = grown
	}
}

// nextEpoch starts a new layer search; all nodes become unvisited.
func (s *Searcher) nextEpoch() {
	s.epoch++
	if s.epoch == 0 { // wrapped: stale marks could collide, so clear them
		clear(s.visited)
		s.epoch = 1
	}
}

// greedy walks layer l from ep to a local best for q (the ef=1 search used
// on the upper layers).
func (s *Searcher) greedy(q []float32, ep knn.Result, l int) knn.Result {
	ix := s.ix
	for changed := true; changed; {
		changed = false
		for _, nb := range ix.neighbors(int32(ep.ID), l) {
			if sc := ix.score(q, nb); sc > ep.Score {
				ep = knn.Result{ID: int(nb), Score: sc}
				changed = true
			}
		}
	}
	return ep
}

// searchLayer is Algorithm 2 of the paper: a best-first search of layer l
// from eps that leaves the ef best nodes found in s.res. With skipDeleted,
// deleted nodes are expanded (they still route) but not kept as results.
func (s *Searcher) searchLayer(q []float32, eps []knn.Result, ef, l int, skipDeleted bool) {
	ix := s.ix
	s.nextEpoch()
	epoch, visited := s.epoch, s.visited
	s.cand = s.cand[:0]
	s.res.Reset(ef)
	for _, e := range eps {
		visited[e.ID] = epoch
		s.cand.push(e)
		if !skipDeleted || !ix.deleted[e.ID] {
			s.res.Push(e.ID, e.Score)
		}
	}
	for len(s.cand) > 0 {
		c := s.cand.pop()
		if s.res.Full() && c.Score < s.res.Worst().Score {
			break // every remaining candidate is worse than the worst kept
		}
		for _, nb := range ix.neighbors(int32(c.ID), l) {
			if visited[nb] == epoch {
				continue
			}
			visited[nb] = epoch
			sc := ix.score(q, nb)
			if s.res.Full() && sc < s.res.Worst().Score {
				continue
			}
			s.cand.push(knn.Result{ID: int(nb), Score: sc})
			if !skipDeleted || !ix.deleted[nb] {
				s.res.Push(int(nb), sc)
			}
		}
	}
}
