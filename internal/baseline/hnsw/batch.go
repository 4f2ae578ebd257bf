package hnsw

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/irgen/irgen/internal/knn"
)

// Build inserts the rows of vecs (n × dim, row-major) into a new graph, in
// order, so that node i is row i. progress, when not nil, is called every
// 1024 rows and at the end with the number of rows inserted. It stops with
// ctx's error when ctx is cancelled.
func Build(ctx context.Context, vecs []float32, dim int, cfg Config, progress func(done int)) (*Index, error) {
	if dim <= 0 || len(vecs)%dim != 0 {
		return nil, fmt.Errorf("%w: %d values are not rows of %d", knn.ErrDim, len(vecs), dim)
	}
	ix, err := New(dim, cfg)
	if err != nil {
		return nil, err
	}
	n := len(vecs) / dim
	for i := range n {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if progress != nil && i > 0 {
				progress(i)
			}
		}
		if _, err := ix.Append(vecs[i*dim : (i+1)*dim]); err != nil {
			return nil, fmt.Errorf("hnsw: row %d: %w", i, err)
		}
	}
	if progress != nil {
		progress(n)
	}
	return ix, nil
}

// SearchBatch searches every row of the flat row-major query matrix qs and
// returns one best-first list of up to k live nodes per query. It spreads
// the queries over workers goroutines (GOMAXPROCS when workers <= 0), each
// with its own Searcher.
func (ix *Index) SearchBatch(qs []float32, k, workers int) ([][]knn.Result, error) {
	return ix.SearchBatchExclude(qs, k, workers, nil)
}

// SearchBatchExclude is SearchBatch that skips every node id for which
// exclude(queryIdx, id) is true; queryIdx is the query's row in qs. The
// graph is asked for k results, k+1 with exclude (room for a query that is
// a gallery vector, leave-one-out), and again for twice as many while
// fewer than k remain after exclusion and the graph has more. A nil
// exclude skips nothing.
func (ix *Index) SearchBatchExclude(qs []float32, k, workers int, exclude func(queryIdx, id int) bool) ([][]knn.Result, error) {
	dim := ix.dim
	if len(qs)%dim != 0 {
		return nil, fmt.Errorf("%w: %d query values is not a whole number of %d-dim rows", knn.ErrDim, len(qs), dim)
	}
	if k <= 0 {
		return nil, fmt.Errorf("%w: got %d", knn.ErrK, k)
	}
	nq := len(qs) / dim
	out := make([][]knn.Result, nq)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, nq))
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			s, _ := ix.pool.Get().(*Searcher)
			if s == nil {
				s = ix.NewSearcher()
			}
			defer ix.pool.Put(s)
			var buf []knn.Result
			for {
				qi := int(next.Add(1)) - 1
				if qi >= nq {
					return
				}
				var err error
				out[qi], buf, err = s.searchExclude(qs[qi*dim:(qi+1)*dim], qi, k, exclude, buf)
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// searchExclude returns the first k results for query qi that exclude
// keeps, asking the graph for more while exclusion leaves fewer than k.
// buf is scratch, returned for reuse.
func (s *Searcher) searchExclude(q []float32, qi, k int, exclude func(int, int) bool, buf []knn.Result) ([]knn.Result, []knn.Result, error) {
	want := k
	if exclude != nil {
		want++
	}
	n := s.ix.Len()
	for ; ; want *= 2 {
		var err error
		buf, err = s.SearchInto(q, want, buf)
		if err != nil {
			return nil, buf, err
		}
		hits := make([]knn.Result, 0, min(k, len(buf)))
		for _, r := range buf {
			if exclude == nil || !exclude(qi, r.ID) {
				hits = append(hits, r)
				if len(hits) == k {
					break
				}
			}
		}
		if len(hits) == k || len(buf) < want || want >= n {
			return hits, buf, nil
		}
	}
}
