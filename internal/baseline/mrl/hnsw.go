package mrl

import (
	"context"
	"fmt"

	"github.com/irgen/irgen/internal/baseline/hnsw"
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
// graph (hnsw.Build). progress, when not nil, is called with the number
// inserted so far every 1024 images.
func BuildHNSW(ctx context.Context, emb *Embeddings, cfg hnsw.Config, progress func(done int)) (*hnsw.Index, error) {
	if err := emb.check(); err != nil {
		return nil, err
	}
	ix, err := hnsw.Build(ctx, NormalizedPrefixes(emb.Data, emb.Dim, emb.Dim), emb.Dim, cfg, progress)
	if err != nil {
		return nil, fmt.Errorf("mrl: %w", err)
	}
	return ix, nil
}

// SearchHNSW searches ix for the queries (nq × Dim embeddings, not
// normalized) and returns up to k results per query, best first, with
// exclude as in Index.Search (hnsw.Index.SearchBatchExclude).
func SearchHNSW(ix *hnsw.Index, queries []float32, k int, exclude func(q, id int) bool) ([][]knn.Result, error) {
	dim := ix.Dim()
	if len(queries)%dim != 0 {
		return nil, fmt.Errorf("%w: %d query values is not a whole number of %d-dim rows", knn.ErrDim, len(queries), dim)
	}
	return ix.SearchBatchExclude(NormalizedPrefixes(queries, dim, dim), k, 0, exclude)
}
