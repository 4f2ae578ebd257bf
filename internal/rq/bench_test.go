package rq

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func randQuantizer(b *testing.B, m, l, dim int) *Quantizer {
	q := &Quantizer{M: m, L: l, Dim: dim, Codebooks: randData(rand.New(rand.NewPCG(3, 3)), m*l, dim)}
	if err := q.Init(); err != nil {
		b.Fatal(err)
	}
	return q
}

// BenchmarkEncodeBatch is the bulk indexing cost: IRGen's M=4, L=256.
func BenchmarkEncodeBatch(b *testing.B) {
	for _, n := range []int{10000, 60000} {
		const dim, m, l = 128, 4, 256
		q := randQuantizer(b, m, l, dim)
		data := clustered(1, n, dim)
		b.Run(fmt.Sprintf("n=%d/d=%d", n, dim), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(4 * len(data)))
			for b.Loop() {
				if _, err := q.EncodeBatch(data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	const dim = 128
	q := randQuantizer(b, 4, 256, dim)
	x := clustered(2, 1, dim)
	codes := make([]int32, q.M)
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Encode(x, codes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFit(b *testing.B) {
	for _, n := range []int{10000, 60000} {
		const dim = 128
		data := clustered(1, n, dim)
		b.Run(fmt.Sprintf("n=%d/d=%d/M=4/L=256", n, dim), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Fit(data, dim, DefaultConfig()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
