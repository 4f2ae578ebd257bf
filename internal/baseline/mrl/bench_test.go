package mrl

import (
	"fmt"
	"testing"

	"github.com/irgen/irgen/internal/knn"
)

// BenchmarkCascade compares exact search with adaptive and funnel
// retrieval at seed 004's defaults on clustered random embeddings,
// reporting recall@10 against exact search at the full width.
func BenchmarkCascade(b *testing.B) {
	const n, dim, nq, k = 20000, 128, 64, 10
	emb := clustered(n, dim, 21)
	ix, _ := NewIndex(emb)
	qs := clustered(nq, dim, 22)
	exact, _ := ix.Search(qs.Data, k, Exact(dim), nil)
	for _, c := range []struct {
		name string
		c    Cascade
	}{
		{"exact", Exact(dim)},
		{"adaptive", DefaultAdaptive(dim)},
		{"funnel", DefaultFunnel(dim)},
		{"exact16", Exact(16)},
		{"shortlist16", Cascade{16, []int{16}, []int{200}}},
	} {
		b.Run(fmt.Sprintf("%s/n=%d/d=%d", c.name, n, dim), func(b *testing.B) {
			ix.Search(qs.Data, k, c.c, nil) // build the prefix indexes
			b.ReportAllocs()
			var res [][]knn.Result
			for b.Loop() {
				res, _ = ix.Search(qs.Data, k, c.c, nil)
			}
			b.ReportMetric(recall(exact, res), "recall@10")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*nq), "µs/query")
		})
	}
}
