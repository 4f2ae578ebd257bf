package knn

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/irgen/irgen/internal/vec"
)

// minPanelQueries is the fewest queries that a batch scores in panels of
// vec.PanelWidth (panel.go): a panel costs sixteen queries' arithmetic
// whatever its number of queries, so smaller batches, and L2 distances,
// score each query on its own (scanTile).
const minPanelQueries = 8

// maxTile is the most queries that share one pass over each gallery block
// in scanTile, so that the gallery comes from memory once per tile.
const maxTile = 240

// tileBlockRows is how many gallery rows a tile of queries scores at a time
// in scanTile: about 32 KiB of vectors.
func tileBlockRows(dim int) int { return max(16, 8192/dim) }

// SearchBatch searches every row of the flat row-major query matrix qs and
// returns one best-first result list per query. It spreads the work over
// workers goroutines (GOMAXPROCS when workers <= 0): tiles of queries, and
// parts of the gallery when there are fewer tiles than workers. A tile
// scores each cache-sized block of the gallery before moving on.
func (ix *Index) SearchBatch(qs []float32, k, workers int) ([][]Result, error) {
	return ix.SearchBatchExclude(qs, k, workers, nil)
}

// SearchBatchExclude is SearchBatch that skips every row id for which
// exclude(queryIdx, id) is true; queryIdx is the query's row in qs. For
// leave-one-out evaluation over the gallery itself pass
// func(q, id int) bool { return q == id }. A nil exclude skips nothing.
func (ix *Index) SearchBatchExclude(qs []float32, k, workers int, exclude func(queryIdx, id int) bool) ([][]Result, error) {
	dim := ix.dim
	if len(qs)%dim != 0 {
		return nil, fmt.Errorf("%w: %d query values is not a whole number of %d-dim rows", ErrDim, len(qs), dim)
	}
	if k <= 0 {
		return nil, fmt.Errorf("%w: got %d", ErrK, k)
	}
	nq := len(qs) / dim
	if ix.metric == Cosine {
		qs = append([]float32(nil), qs...)
		for off := 0; off < len(qs); off += dim {
			vec.Normalize(qs[off : off+dim])
		}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	b := batch{qs: qs, nq: nq, k: k, exclude: exclude, out: make([][]Result, nq)}
	b.per = min(k, len(ix.deleted)-ix.ndel)
	b.backing = make([]Result, nq*b.per)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case len(ix.deleted) == 0:
		for q := range b.out {
			b.out[q] = b.backing[:0:0]
		}
	case ix.metric == L2 || nq < minPanelQueries:
		ix.searchTiles(&b, workers)
	default:
		ix.searchPanels(&b, workers)
	}
	return b.out, nil
}

// batch is one SearchBatchExclude call: its queries (normalized for
// Cosine), and its results, per best-first lists in backing.
type batch struct {
	qs      []float32
	nq, k   int
	per     int // results per query at most: min(k, live rows)
	exclude func(q, id int) bool
	out     [][]Result
	backing []Result
}

// finish stores query q's results from top, best first.
func (b *batch) finish(q int, top *TopK) {
	b.out[q] = top.AppendSorted(b.backing[q*b.per : q*b.per : (q+1)*b.per])
}

// parallel runs do(state, item) for items 0 to items-1 over at most
// workers goroutines, each with its own state from newState.
func parallel[S any](workers, items int, newState func() S, do func(s S, item int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, items) {
		wg.Go(func() {
			s := newState()
			for {
				it := int(next.Add(1)) - 1
				if it >= items {
					return
				}
				do(s, it)
			}
		})
	}
	wg.Wait()
}

// searchTiles scores the queries of b one at a time, in tiles of queries
// spread over workers that score each block of the gallery in turn.
func (ix *Index) searchTiles(b *batch, workers int) {
	tile := max(1, min(maxTile, (b.nq+workers-1)/workers))
	ntiles := (b.nq + tile - 1) / tile
	type scratch struct {
		tops   []TopK
		scores []float32
	}
	newScratch := func() *scratch {
		return &scratch{tops: make([]TopK, tile), scores: make([]float32, tileBlockRows(ix.dim))}
	}
	parallel(workers, ntiles, newScratch, func(s *scratch, t int) {
		lo, hi := t*tile, min((t+1)*tile, b.nq)
		ix.scanTile(b, lo, s.tops[:hi-lo], s.scores)
		for j := range hi - lo {
			b.finish(lo+j, &s.tops[j])
		}
	})
}

// scanTile scores the len(tops) queries of b starting at row lo against
// the gallery block by block, len(scores) rows at a time.
func (ix *Index) scanTile(b *batch, lo int, tops []TopK, scores []float32) {
	dim := ix.dim
	n := len(ix.deleted)
	neg := ix.metric == L2
	kernel := ix.kernel()
	for j := range tops {
		tops[j].Reset(min(b.k, n))
	}
	for blo := 0; blo < n; blo += len(scores) {
		bhi := min(blo+len(scores), n)
		block := ix.data[blo*dim : bhi*dim]
		sc := scores[:bhi-blo]
		for j := range tops {
			qi := lo + j
			kernel(b.qs[qi*dim:(qi+1)*dim], block, dim, sc)
			ix.scale(sc, blo)
			var skip func(id int) bool
			if b.exclude != nil {
				skip = func(id int) bool { return b.exclude(qi, id) }
			}
			pushBlock(&tops[j], sc, blo, neg, ix.deleted[blo:bhi], ix.ndel > 0, -1, skip)
		}
	}
}
