package knn

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/irgen/irgen/internal/vec"
)

// queryTile is how many queries share one pass over each gallery block.
const queryTile = 16

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
	ntiles := (nq + queryTile - 1) / queryTile
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, ntiles)

	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var tops [queryTile]TopK
			scores := make([]float32, blockRows(dim))
			for {
				t := int(next.Add(1)) - 1
				if t >= ntiles {
					return
				}
				lo, hi := t*queryTile, min((t+1)*queryTile, nq)
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
// gallery block by block.
func (ix *Index) scanTile(qs []float32, lo, k int, tops []TopK, scores []float32, exclude func(int, int) bool) {
	dim := ix.dim
	n := len(ix.deleted)
	neg := ix.metric == L2
	kernel := ix.kernel()
	for j := range tops {
		tops[j].Reset(min(k, n))
	}
	for blo := 0; blo < n; blo += len(scores) {
		bhi := min(blo+len(scores), n)
		block := ix.data[blo*dim : bhi*dim]
		sc := scores[:bhi-blo]
		for j := range tops {
			qi := lo + j
			kernel(qs[qi*dim:(qi+1)*dim], block, dim, sc)
			if exclude == nil {
				pushBlock(&tops[j], sc, blo, neg, ix.deleted[blo:bhi], ix.ndel > 0, -1)
				continue
			}
			top := &tops[j]
			for i, v := range sc {
				if neg {
					v = -v
				}
				if top.Full() && v < top.h[0].Score {
					continue
				}
				id := blo + i
				if ix.deleted[id] || exclude(qi, id) {
					continue
				}
				top.Push(id, v)
			}
		}
	}
}
