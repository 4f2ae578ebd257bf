package hnsw

import (
	"fmt"
	"sync"
	"testing"

	"github.com/irgen/irgen/internal/knn"
)

// benchSet is one gallery with its queries, exact answers and both indexes,
// built once and shared by the sub-benchmarks.
type benchSet struct {
	n, dim int
	qs     []float32
	truth  [][]knn.Result
	exact  *knn.Index
	graph  *Index
}

var (
	benchMu   sync.Mutex
	benchSets = map[string]*benchSet{}
)

const benchQueries, benchK = 500, 10

// Benchmark data kinds: "iso" is clustered, whose clusters are isotropic
// Gaussians of full dimension and so as hard as random data within a
// cluster; "rank16" is embedded with a 16-dimensional latent space, closer
// to real image embeddings.
var benchKinds = []string{"iso", "rank16"}

func benchData(kind string, seed uint64, n, dim int) []float32 {
	if kind == "iso" {
		return clustered(seed, n, dim, 100)
	}
	return embedded(seed, n, dim, 100, 16)
}

func getBenchSet(b *testing.B, kind string, n, dim int) *benchSet {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprintf("%s/%d/%d", kind, n, dim)
	if s, ok := benchSets[key]; ok {
		return s
	}
	data := benchData(kind, 31, n, dim)
	s := &benchSet{n: n, dim: dim, qs: benchData(kind, 32, benchQueries, dim)}
	s.exact = exactIndex(b, dim, knn.Cosine, data)
	var err error
	if s.truth, err = s.exact.SearchBatch(s.qs, benchK, 0); err != nil {
		b.Fatal(err)
	}
	s.graph = build(b, dim, DefaultConfig(), data)
	benchSets[key] = s
	return s
}

// BenchmarkSearch compares exact search with HNSW at several ef on the same
// gallery, for each data kind, reporting recall@10 against the exact answers and
// single-goroutine queries per second.
func BenchmarkSearch(b *testing.B) {
	for _, size := range []struct{ n, dim int }{{60000, 64}} {
		for _, kind := range benchKinds {
			benchSearch(b, kind, size.n, size.dim)
		}
	}
}

func benchSearch(b *testing.B, kind string, n, dim int) {
	name := fmt.Sprintf("n=%d/d=%d/%s", n, dim, kind)
	b.Run(name+"/exact", func(b *testing.B) {
		s := getBenchSet(b, kind, n, dim)
		loopQueries(b, s, s.exact.NewSearcher().SearchInto)
		b.ReportMetric(1, "recall@10")
	})
	for _, ef := range []int{16, 32, 64, 128, 256} {
		b.Run(fmt.Sprintf("%s/hnsw/ef=%d", name, ef), func(b *testing.B) {
			s := getBenchSet(b, kind, n, dim)
			hs := s.graph.NewSearcher()
			hs.Ef = ef
			loopQueries(b, s, hs.SearchInto)
			b.ReportMetric(recallAt(b, hs, s.truth, s.qs, s.dim, benchK), "recall@10")
		})
	}
}

// loopQueries runs search on the set's queries in turn, benchK results
// each, until b is done, and reports queries per second.
func loopQueries(b *testing.B, s *benchSet, search func(q []float32, k int, dst []knn.Result) ([]knn.Result, error)) {
	dst := make([]knn.Result, 0, benchK)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		qi := i % benchQueries
		var err error
		if dst, err = search(s.qs[qi*s.dim:(qi+1)*s.dim], benchK, dst); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "QPS")
}

// BenchmarkBuild measures single-threaded insertion with DefaultConfig.
func BenchmarkBuild(b *testing.B) {
	for _, size := range []struct{ n, dim int }{{10000, 64}} {
		data := clustered(33, size.n, size.dim, 100)
		b.Run(fmt.Sprintf("n=%d/d=%d", size.n, size.dim), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				build(b, size.dim, DefaultConfig(), data)
				i++
			}
			b.ReportMetric(float64(i*size.n)/b.Elapsed().Seconds(), "inserts/s")
		})
	}
}
