package rq

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// blobs returns k well-separated centers in dim dimensions and per points
// drawn around each with unit noise, shuffled.
func blobs(rng *rand.Rand, k, per, dim int, spread float64) (centers, data []float32) {
	centers = make([]float32, k*dim)
	for i := range centers {
		centers[i] = float32(rng.NormFloat64() * spread)
	}
	n := k * per
	data = make([]float32, n*dim)
	perm := rng.Perm(n)
	for i, p := range perm {
		c := centers[(p%k)*dim:]
		for d := range dim {
			data[i*dim+d] = c[d] + float32(rng.NormFloat64())
		}
	}
	return centers, data
}

func TestKMeansBlobs(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		rng := rand.New(rand.NewPCG(seed, 99))
		const k, per, dim = 8, 200, 16
		centers, data := blobs(rng, k, per, dim, 50)
		got, err := KMeans(data, dim, KMeansConfig{K: k, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		// Every true center has exactly one centroid near it (the mean of
		// 200 unit-noise points is within ~0.3 of it).
		used := make([]bool, k)
		for i := range k {
			c := centers[i*dim : (i+1)*dim]
			j, d := bruteNearest(c, got, dim)
			if d > 1 {
				t.Errorf("seed %d: center %d: nearest centroid at squared distance %.3f; want < 1", seed, i, d)
				continue
			}
			if used[j] {
				t.Errorf("seed %d: centroid %d is nearest to two centers", seed, j)
			}
			used[j] = true
		}
	}
}

func TestKMeansDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	_, data := blobs(rng, 20, 100, 8, 3)
	var first []float32
	for _, w := range []int{1, 2, 3, 8} {
		got, err := KMeans(data, 8, KMeansConfig{K: 16, Seed: 42, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = got
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("Workers=%d changed the centroids (-1 worker +%d):\n%s", w, w, diff)
		}
	}
}

func TestKMeansFewPoints(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6} // 3 points in 2 dims
	tests := []struct {
		k    int
		want []float32
	}{
		{3, []float32{1, 2, 3, 4, 5, 6}},
		{5, []float32{1, 2, 3, 4, 5, 6, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		got, err := KMeans(data, 2, KMeansConfig{K: tt.k})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("K=%d (-want +got):\n%s", tt.k, diff)
		}
	}
}

// TestKMeansDuplicates has fewer distinct points than clusters but more
// points: empty clusters must be re-seeded and every point must end up at
// distance 0 from a centroid, without NaNs.
func TestKMeansDuplicates(t *testing.T) {
	distinct := []float32{0, 0, 10, 0, 0, 10}
	var data []float32
	for range 50 {
		data = append(data, distinct...)
	}
	got, err := KMeans(data, 2, KMeansConfig{K: 5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if math.IsNaN(float64(v)) {
			t.Fatalf("centroid value %d is NaN", i)
		}
	}
	for i := range 3 {
		if _, d := bruteNearest(distinct[2*i:2*i+2], got, 2); d != 0 {
			t.Errorf("point %v: nearest centroid at %v; want 0", distinct[2*i:2*i+2], d)
		}
	}
}

// TestKMeansEmptyCluster runs 12 clusters over 3 tight, far-apart groups,
// where Lloyd steps easily empty a cluster; after re-seeding every centroid
// must own at least one point.
func TestKMeansEmptyCluster(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	_, data := blobs(rng, 3, 100, 4, 100)
	for seed := range uint64(20) {
		got, err := KMeans(data, 4, KMeansConfig{K: 12, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 12)
		for i := 0; i < len(data)/4; i++ {
			j, _ := bruteNearest(data[i*4:(i+1)*4], got, 4)
			counts[j]++
		}
		for j, c := range counts {
			if c == 0 {
				t.Errorf("seed %d: centroid %d has no points", seed, j)
			}
		}
	}
}

// TestUpdateReseeds checks the re-seeding rule directly: an empty cluster
// takes the point farthest from its centroid, from a cluster that can spare it.
func TestUpdateReseeds(t *testing.T) {
	km := &kmeans{
		data:   []float32{0, 1, 2, 9, 100},
		dim:    1,
		n:      5,
		k:      3,
		cent:   make([]float32, 3),
		assign: []int32{0, 0, 0, 0, 1},
		dist:   []float32{9, 4, 1, 36, 0},
	}
	km.update(make([]float64, 3), make([]int, 3))
	want := []float32{1, 100, 9}
	if diff := cmp.Diff(want, km.cent); diff != "" {
		t.Errorf("centroids (-want +got):\n%s", diff)
	}
	if km.assign[3] != 2 {
		t.Errorf("farthest point assigned to %d; want 2", km.assign[3])
	}
}

func TestKMeansErrors(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		data []float32
		dim  int
		cfg  KMeansConfig
		want error
	}{
		{"zero dim", []float32{1, 2}, 0, KMeansConfig{K: 1}, ErrShape},
		{"ragged", []float32{1, 2, 3}, 2, KMeansConfig{K: 1}, ErrShape},
		{"empty", nil, 2, KMeansConfig{K: 1}, ErrShape},
		{"zero k", []float32{1, 2}, 2, KMeansConfig{K: 0}, ErrShape},
		{"negative iters", []float32{1, 2}, 2, KMeansConfig{K: 1, Iters: -1}, ErrShape},
		{"nan", []float32{1, nan}, 2, KMeansConfig{K: 1}, ErrNotFinite},
		{"inf", []float32{float32(math.Inf(1)), 0}, 2, KMeansConfig{K: 1}, ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := KMeans(tt.data, tt.dim, tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Errorf("KMeans error = %v; want %v", err, tt.want)
			}
		})
	}
}

// bruteNearest returns the row of cb nearest to x in float64 and its
// squared distance.
func bruteNearest(x, cb []float32, dim int) (int, float64) {
	best, bestD := -1, math.Inf(1)
	for j := 0; j < len(cb)/dim; j++ {
		var d float64
		for i, v := range x {
			e := float64(v) - float64(cb[j*dim+i])
			d += e * e
		}
		if d < bestD {
			best, bestD = j, d
		}
	}
	return best, bestD
}
