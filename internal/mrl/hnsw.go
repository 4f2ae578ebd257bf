package mrl

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/irgen/irgen/internal/hnsw"
	"github.com/irgen/irgen/internal/knn"
)

// DefaultHNSWConfig returns the seed's HNSW32 (faiss IndexHNSWFlat with 32
// neighbours over normalized vectors, L2 distance) with package hnsw's
// construction and search list sizes (200, 64).
func DefaultHNSWConfig() hnsw.Config {
	c := hnsw.DefaultConfig()
	c.M = 32
	c.Metric = knn.L2
	return c
}

// BuildHNSW inserts the L2-normalized full embeddings into a new HNSW
// graph. progress, when not nil, is called with the number inserted so far
// every 1024 images.
func BuildHNSW(ctx context.Context, emb *Embeddings, cfg hnsw.Config, progress func(done int)) (*hnsw.Index, error) {
	if err := emb.check(); err != nil {
		return nil, err
	}
	ix, err := hnsw.New(emb.Dim, cfg)
	if err != nil {
		return nil, err
	}
	rows := NormalizedPrefixes(emb.Data, emb.Dim, emb.Dim)
	for i := range emb.N {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if progress != nil {
				progress(i)
			}
		}
		if _, err := ix.Append(rows[i*emb.Dim : (i+1)*emb.Dim]); err != nil {
			return nil, fmt.Errorf("mrl: hnsw insert %d: %w", i, err)
		}
	}
	if progress != nil {
		progress(emb.N)
	}
	return ix, nil
}

// SearchHNSW searches ix for the queries (nq × Dim embeddings, not
// normalized) and returns up to k results per query, best first, with
// exclude as in Index.Search: the graph is asked for more results until k
// remain after exclusion or the whole graph has been returned.
func SearchHNSW(ix *hnsw.Index, queries []float32, k int, exclude func(q, id int) bool) ([][]knn.Result, error) {
	dim := ix.Dim()
	if len(queries)%dim != 0 {
		return nil, fmt.Errorf("%w: %d query values is not a whole number of %d-dim rows", knn.ErrDim, len(queries), dim)
	}
	if k <= 0 {
		return nil, fmt.Errorf("%w: got %d", knn.ErrK, k)
	}
	nq := len(queries) / dim
	qs := NormalizedPrefixes(queries, dim, dim)
	out := make([][]knn.Result, nq)
	errs := make([]error, nq)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nq) {
		wg.Go(func() {
			s := ix.NewSearcher()
			var buf []knn.Result
			for {
				qi := int(next.Add(1)) - 1
				if qi >= nq {
					return
				}
				q := qs[qi*dim : (qi+1)*dim]
				want := k
				if exclude != nil {
					want++ // room for the query itself
				}
				for ; ; want *= 2 {
					var err error
					buf, err = s.SearchInto(q, want, buf)
					if err != nil {
						errs[qi] = err
						break
					}
					hits := make([]knn.Result, 0, k)
					for _, r := range buf {
						if exclude == nil || !exclude(qi, r.ID) {
							hits = append(hits, r)
						}
						if len(hits) == k {
							break
						}
					}
					out[qi] = hits
					if len(hits) == k || len(buf) < want || want >= ix.Len() {
						break
					}
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
