package hnsw

import (
	"testing"

	"github.com/irgen/irgen/internal/knn"
)

// TestSearchIntoZeroAllocsEfSweep covers the path bench/perf times: the
// inner-product metric and one Searcher whose Ef changes between queries.
// Once the Searcher has served its largest Ef, no query allocates.
func TestSearchIntoZeroAllocsEfSweep(t *testing.T) {
	const n, dim, k = 1000, 32, 10
	cfg := DefaultConfig()
	cfg.Metric = knn.InnerProduct
	ix := build(t, dim, cfg, clustered(11, n, dim, 10))
	qs := clustered(12, 4, dim, 10)
	s := ix.NewSearcher()
	dst := make([]knn.Result, 0, k)
	efs := []int{256, 16, 64, 128}
	search := func() {
		for i, ef := range efs {
			s.Ef = ef
			var err error
			if dst, err = s.SearchInto(qs[i*dim:(i+1)*dim], k, dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	search() // warm-up at the largest Ef
	if allocs := testing.AllocsPerRun(20, search); allocs != 0 {
		t.Errorf("SearchInto over efSearch %v allocates %v times per run; want 0", efs, allocs)
	}
}
