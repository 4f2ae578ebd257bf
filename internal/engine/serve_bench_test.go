package engine_test

import (
	"fmt"
	"testing"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/testmodel"
)

// BenchmarkServedQuery times Engine.Search as the server runs it: graphs
// compiled for single queries, or n queries of a batch of requests
// (Options.Batch). On a decoder with a frozen encoder, irgen runs with
// one encoder pass per query (one) or two (two).
func BenchmarkServedQuery(b *testing.B) {
	dir := testmodel.Copy(b)
	freeze(b, dir, false)
	e := testmodel.MustOpen(b, dir)
	e.Tokenizer.Batch, e.QueryBatch = 1, 1
	images, _ := testmodel.Queries(b, e)
	size := e.Transform.Len()
	for _, n := range []int{1, 16} {
		for _, m := range []string{"irgen-two", "irgen-one", "knn"} {
			b.Run(fmt.Sprintf("%s/n=%d", m, n), func(b *testing.B) {
				method := engine.Method(m)
				if m != "knn" {
					method = engine.IRGen
					e.SetOnePass(m == "irgen-one")
				}
				x, opt := images[:n*size], engine.Options{K: 10, Batch: n}
				if _, _, err := e.Search(method, x, n, opt); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := e.Search(method, x, n, opt); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*n), "ms/query")
			})
		}
	}
}
