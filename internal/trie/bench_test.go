package trie

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/irgen/irgen/internal/semid"
)

// BenchmarkInsert builds a gallery trie of n random IDs (M=4, L=256) and
// reports the heap it holds per ID.
func BenchmarkInsert(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		const m, l = 4, 256
		rng := rand.New(rand.NewPCG(1, 1))
		ids := make([]int32, n*m)
		for i := range ids {
			ids[i] = int32(rng.IntN(l))
		}
		b.Run(fmt.Sprintf("n=%d/M=%d/L=%d", n, m, l), func(b *testing.B) {
			b.ReportAllocs()
			var bytesPerID float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				tr, _ := New(m, l)
				for i := range n {
					if err := tr.Insert(semid.ID(ids[i*m:(i+1)*m]), i); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				bytesPerID = float64(after.HeapAlloc-before.HeapAlloc) / float64(tr.Len())
				runtime.KeepAlive(tr)
			}
			b.ReportMetric(bytesPerID, "B/ID")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
		})
	}
}

func BenchmarkAllowed(b *testing.B) {
	tr := randomTrie(b, 4, 256, 1_000_000, 2)
	some := firstID(tr)
	dst := make([]int32, 0, 256)
	for d := range 4 {
		b.Run(fmt.Sprintf("depth=%d", d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dst = tr.Allowed(some[:d], dst)
			}
		})
	}
}
