package knn

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/irgen/irgen/internal/vec"
)

// maxTile is the most queries that share one pass over each gallery block:
// a multiple of the three queries vec.DotTile scores per row load. The scan
// is bound by reading the gallery from memory, once per tile: at 100k × 128
// on 2 threads, tiles of 240 queries ran 1.3× faster than tiles of 36
// (bench/perf -mode exact, 2026-11-23), with their queries (120 KiB) in L2.
const maxTile = 240

// tileBlockRows is how many gallery rows a tile of queries scores at a time:
// about 32 KiB of vectors.
func tileBlockRows(dim int) int { return max(16, 8192/dim) }

// tileSize spreads nq queries over workers in tiles of a multiple of three,
// at most maxTile.
func tileSize(nq, workers int) int {
	t := (nq + workers - 1) / workers
	t = (t + 2) / 3 * 3
	return max(3, min(maxTile, t))
}

// SearchBatch searches every row of the flat row-major query matrix qs and
// returns one best-first result list per query. It spreads tiles of queries
// over workers goroutines (GOMAXPROCS when workers <= 0) and walks the
// gallery in cache-sized blocks, scoring a whole tile against each block
// before moving on.
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

	out := make([][]Result, nq)
	per := min(k, len(ix.deleted)-ix.ndel)
	backing := make([]Result, nq*per)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	tile := tileSize(nq, workers)
	ntiles := (nq + tile - 1) / tile
	workers = min(workers, ntiles)

	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			tops := make([]TopK, tile)
			scores := make([]float32, tile*tileBlockRows(dim))
			for {
				t := int(next.Add(1)) - 1
				if t >= ntiles {
					return
				}
				lo, hi := t*tile, min((t+1)*tile, nq)
				ix.scanTile(qs, lo, k, tops[:hi-lo], scores, exclude)
				for j := range hi - lo {
					qi := lo + j
					out[qi] = tops[j].AppendSorted(backing[qi*per : qi*per : (qi+1)*per])
				}
			}
		})
	}
	wg.Wait()
	return out, nil
}

// scanTile scores the len(tops) queries of qs starting at row lo against the
// gallery block by block; scores holds len(scores)/tileBlockRows blocks of
// scores, at least len(tops). Inner
// products score the whole tile per block in one vec.DotTile call.
func (ix *Index) scanTile(qs []float32, lo, k int, tops []TopK, scores []float32, exclude func(int, int) bool) {
	dim := ix.dim
	n := len(ix.deleted)
	neg := ix.metric == L2
	kernel := ix.kernel()
	for j := range tops {
		tops[j].Reset(min(k, n))
	}
	step := tileBlockRows(dim)
	for blo := 0; blo < n; blo += step {
		bhi := min(blo+step, n)
		block := ix.data[blo*dim : bhi*dim]
		rows := bhi - blo
		if !neg {
			vec.DotTile(qs[lo*dim:(lo+len(tops))*dim], block, dim, scores)
		}
		for j := range tops {
			qi := lo + j
			sc := scores[j*rows : (j+1)*rows]
			if neg {
				kernel(qs[qi*dim:(qi+1)*dim], block, dim, sc)
			}
			var skip func(id int) bool
			if exclude != nil {
				skip = func(id int) bool { return exclude(qi, id) }
			}
			pushBlock(&tops[j], sc, blo, neg, ix.deleted[blo:bhi], ix.ndel > 0, -1, skip)
		}
	}
}
