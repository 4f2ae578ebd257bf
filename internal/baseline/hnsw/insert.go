package hnsw

import (
	"slices"

	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/vec"
)

// insert adds v as node Len() (Algorithm 1 of the paper) and returns its id.
// The caller holds the write lock.
func (ix *Index) insert(v []float32) int {
	id := int32(len(ix.levels))
	start := len(ix.vecs)
	ix.vecs = append(ix.vecs, v...)
	q := ix.vecs[start : start+ix.dim : start+ix.dim]
	if ix.cfg.Metric == knn.Cosine {
		vec.Normalize(q)
	}
	level := ix.randomLevel()
	ix.levels = append(ix.levels, uint8(level))
	ix.deleted = append(ix.deleted, false)
	ix.links0 = append(ix.links0, make([]int32, ix.m0+1)...)
	var up []int32
	if level > 0 {
		up = make([]int32, level*(ix.cfg.M+1))
	}
	ix.upper = append(ix.upper, up)

	if ix.entry < 0 {
		ix.entry, ix.top = id, level
		return int(id)
	}

	s := ix.build
	s.ensure()
	ep := knn.Result{ID: int(ix.entry), Score: ix.score(q, ix.entry)}
	for l := ix.top; l > level; l-- {
		ep = s.greedy(q, ep, l)
	}
	s.eps = append(s.eps[:0], ep)
	for l := min(level, ix.top); l >= 0; l-- {
		s.searchLayer(q, s.eps, ix.cfg.EfConstruction, l, false)
		// Best first; also the next layer's entry points.
		s.eps = s.res.AppendSorted(s.eps[:0])
		s.sel = ix.selectNeighbors(s.eps, ix.cfg.M, s.sel[:0])
		b := ix.block(id, l)
		b[0] = int32(len(s.sel))
		for i, r := range s.sel {
			b[1+i] = int32(r.ID)
		}
		for _, r := range s.sel {
			ix.link(s, int32(r.ID), id, r.Score, l)
		}
	}
	if level > ix.top {
		ix.entry, ix.top = id, level
	}
	return int(id)
}

// selectNeighbors is the paper's heuristic (Algorithm 4, without extending
// or keeping pruned candidates, as in hnswlib): walking the candidates best
// first, keep one only if it is closer to the base than to every neighbour
// kept so far. This spreads links across directions, which keeps clusters
// connected. cands must be sorted best first, scored against the base.
func (ix *Index) selectNeighbors(cands []knn.Result, m int, dst []knn.Result) []knn.Result {
	if len(cands) <= m {
		return append(dst, cands...)
	}
	for _, c := range cands {
		if len(dst) >= m {
			break
		}
		cv := ix.row(int32(c.ID))
		keep := true
		for _, r := range dst {
			if ix.score(cv, int32(r.ID)) > c.Score {
				keep = false
				break
			}
		}
		if keep {
			dst = append(dst, c)
		}
	}
	return dst
}

// link adds a link from node e to node n on layer l, where sc is their
// score. A full neighbour list is re-selected with the heuristic.
func (ix *Index) link(s *Searcher, e, n int32, sc float32, l int) {
	b := ix.block(e, l)
	cnt := int(b[0])
	if cnt < ix.maxNeighbors(l) {
		b[1+cnt] = n
		b[0]++
		return
	}
	ev := ix.row(e)
	s.prune = s.prune[:0]
	for _, nb := range b[1 : 1+cnt] {
		s.prune = append(s.prune, knn.Result{ID: int(nb), Score: ix.score(ev, nb)})
	}
	s.prune = append(s.prune, knn.Result{ID: int(n), Score: sc})
	slices.SortFunc(s.prune, func(a, b knn.Result) int {
		if candBefore(a, b) {
			return -1
		}
		return 1
	})
	s.kept = ix.selectNeighbors(s.prune, ix.maxNeighbors(l), s.kept[:0])
	b[0] = int32(len(s.kept))
	for i, r := range s.kept {
		b[1+i] = int32(r.ID)
	}
}
