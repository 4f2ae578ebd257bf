package hnsw

import (
	"math/rand/v2"
	"testing"

	"github.com/irgen/irgen/internal/knn"
)

// clustered returns n dim-dimensional vectors drawn around nc Gaussian
// centres, flat and row-major, like image embeddings of nc classes.
func clustered(seed uint64, n, dim, nc int) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	centres := make([]float32, nc*dim)
	for i := range centres {
		centres[i] = float32(r.NormFloat64())
	}
	data := make([]float32, n*dim)
	for i := range n {
		c := r.IntN(nc)
		for j := range dim {
			data[i*dim+j] = centres[c*dim+j] + 0.35*float32(r.NormFloat64())
		}
	}
	return data
}

// embedded returns n dim-dimensional vectors with low intrinsic dimension,
// closer to real image embeddings than clustered: a Gaussian mixture of nc
// clusters in a rank-dimensional latent space, mapped into dim dimensions
// by a fixed random linear map, plus a little isotropic noise.
func embedded(seed uint64, n, dim, nc, rank int) []float32 {
	r := rand.New(rand.NewPCG(seed, 11))
	// The map and centres depend only on the shape, so galleries and queries
	// drawn with different seeds share them.
	fixed := rand.New(rand.NewPCG(uint64(dim*1000+rank), uint64(nc)))
	proj := make([]float32, dim*rank)
	for i := range proj {
		proj[i] = float32(fixed.NormFloat64())
	}
	centres := make([]float32, nc*rank)
	for i := range centres {
		centres[i] = float32(fixed.NormFloat64())
	}
	data := make([]float32, n*dim)
	z := make([]float32, rank)
	for i := range n {
		c := r.IntN(nc)
		for j := range z {
			z[j] = centres[c*rank+j] + 0.35*float32(r.NormFloat64())
		}
		row := data[i*dim : (i+1)*dim]
		for d := range row {
			var s float32
			for j, zj := range z {
				s += proj[d*rank+j] * zj
			}
			row[d] = s + 0.05*float32(r.NormFloat64())
		}
	}
	return data
}

func build(t testing.TB, dim int, cfg Config, data []float32) *Index {
	t.Helper()
	ix, err := New(dim, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for id := 0; id*dim < len(data); id++ {
		if err := ix.Add(id, data[id*dim:(id+1)*dim]); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

func exactIndex(t testing.TB, dim int, metric knn.Metric, data []float32) *knn.Index {
	t.Helper()
	ex, err := knn.New(dim, metric)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Add(data); err != nil {
		t.Fatal(err)
	}
	return ex
}

// recallAt returns the mean fraction of the exact top k that the searcher
// found, over the rows of qs.
func recallAt(t testing.TB, s *Searcher, truth [][]knn.Result, qs []float32, dim, k int) float64 {
	t.Helper()
	var dst []knn.Result
	found := 0
	for qi := range truth {
		var err error
		dst, err = s.SearchInto(qs[qi*dim:(qi+1)*dim], k, dst)
		if err != nil {
			t.Fatal(err)
		}
		found += knn.Hits(truth[qi], dst)
	}
	return float64(found) / float64(len(truth)*k)
}
