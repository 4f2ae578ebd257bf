package knn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkSearch(b *testing.B) {
	for _, size := range []struct{ n, dim int }{{10000, 64}, {60000, 128}} {
		r := rand.New(rand.NewPCG(1, 2))
		data := randMatrix(r, size.n, size.dim)
		qs := randMatrix(r, 256, size.dim)
		for _, metric := range []Metric{Cosine, L2} {
			ix := newIndex(b, size.dim, metric, data)
			name := fmt.Sprintf("n=%d/d=%d/%v", size.n, size.dim, metric)
			b.Run(name+"/searcher", func(b *testing.B) {
				b.ReportAllocs()
				s := ix.NewSearcher()
				dst := make([]Result, 0, 10)
				i := 0
				for b.Loop() {
					q := qs[(i%256)*size.dim : (i%256+1)*size.dim]
					var err error
					if dst, err = s.SearchInto(q, 10, dst); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "QPS")
			})
			b.Run(name+"/batch256", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := ix.SearchBatch(qs, 10, 0); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(i*256)/b.Elapsed().Seconds(), "QPS")
			})
		}
	}
}
