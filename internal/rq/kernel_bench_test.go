package rq

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkNearest(b *testing.B) {
	for _, dim := range []int{64, 128, 768} {
		const k = 256
		rng := rand.New(rand.NewPCG(1, 2))
		cb := randData(rng, k, dim)
		x := randData(rng, 1, dim)
		norms := make([]float32, k)
		for j := range norms {
			norms[j] = dot(cb[j*dim:(j+1)*dim], cb[j*dim:(j+1)*dim])
		}
		b.Run(fmt.Sprintf("k=%d/d=%d", k, dim), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				nearest(x, cb, norms, 0)
			}
			b.ReportMetric(float64(k*dim)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

func randData(rng *rand.Rand, n, dim int) []float32 {
	x := make([]float32, n*dim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}
