package rq

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/irgen/irgen/internal/vec"
)

var (
	// ErrShape reports data or parameters whose sizes do not fit together.
	ErrShape = errors.New("rq: shape mismatch")
	// ErrNotFinite reports a NaN or infinite input value.
	ErrNotFinite = errors.New("rq: value not finite")
)

// DefaultIters is the number of Lloyd iterations used when Iters is 0.
const DefaultIters = 20

// KMeansConfig configures KMeans.
type KMeansConfig struct {
	// K is the number of centroids; it must be at least 1.
	K int
	// Iters is the maximum number of Lloyd iterations (0 means
	// DefaultIters). Iteration stops early once no assignment changes.
	Iters int
	// Seed seeds k-means++ initialization. Equal inputs and Seed give
	// identical centroids.
	Seed uint64
	// Workers is the number of goroutines for the assignment steps (0 means
	// runtime.GOMAXPROCS(0)). The result does not depend on it.
	Workers int
}

func (cfg KMeansConfig) withDefaults() (KMeansConfig, error) {
	if cfg.K < 1 {
		return cfg, fmt.Errorf("%w: k-means K is %d, want ≥ 1", ErrShape, cfg.K)
	}
	if cfg.Iters < 0 || cfg.Workers < 0 {
		return cfg, fmt.Errorf("%w: k-means Iters %d, Workers %d must not be negative", ErrShape, cfg.Iters, cfg.Workers)
	}
	if cfg.Iters == 0 {
		cfg.Iters = DefaultIters
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	return cfg, nil
}

// KMeans clusters the n = len(data)/dim rows of data (row-major, stride
// dim) into cfg.K centroids, returned row-major (K*dim values).
//
// Initialization is k-means++ (seeded by cfg.Seed), followed by at most
// cfg.Iters Lloyd iterations. A cluster left empty by an assignment step is
// re-seeded with the point farthest from its centroid, taken from a cluster
// that keeps at least one point.
//
// When n ≤ K every point becomes a centroid, in order, and the remaining
// K-n centroids repeat points cyclically: centroid j is row j mod n. The
// duplicates are harmless for quantization, since nearest-codeword search
// breaks ties toward the lowest index and so never picks them.
//
// It returns ErrShape when dim < 1, data is empty or not a multiple of dim,
// and ErrNotFinite for NaN or infinite values.
func KMeans(data []float32, dim int, cfg KMeansConfig) ([]float32, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n, err := rows(data, dim)
	if err != nil {
		return nil, err
	}
	k := cfg.K
	cent := make([]float32, k*dim)
	if n <= k {
		for j := 0; j < k; j++ {
			copy(cent[j*dim:(j+1)*dim], data[(j%n)*dim:])
		}
		return cent, nil
	}
	km := &kmeans{data: data, dim: dim, n: n, k: k, cent: cent, workers: cfg.Workers}
	km.init(cfg.Seed)
	km.lloyd(cfg.Iters)
	return cent, nil
}

// rows checks data against dim and returns the number of rows.
func rows(data []float32, dim int) (int, error) {
	if dim < 1 {
		return 0, fmt.Errorf("%w: dim %d, want ≥ 1", ErrShape, dim)
	}
	if len(data) == 0 || len(data)%dim != 0 {
		return 0, fmt.Errorf("%w: %d values is not a positive multiple of dim %d", ErrShape, len(data), dim)
	}
	if i := vec.NonFinite(data); i >= 0 {
		return 0, fmt.Errorf("%w: row %d column %d is %v", ErrNotFinite, i/dim, i%dim, data[i])
	}
	return len(data) / dim, nil
}

// kmeans holds the state of one clustering run.
type kmeans struct {
	data    []float32
	dim     int
	n, k    int
	cent    []float32 // k*dim
	workers int

	dist   []float32 // per point: squared distance to its centroid
	assign []int32   // per point: its centroid
}

// init picks k centroids by k-means++ (D² sampling).
func (km *kmeans) init(seed uint64) {
	dim, n := km.dim, km.n
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	km.dist = make([]float32, n)
	d2 := km.dist
	for j := 0; j < km.k; j++ {
		var pick int
		if j == 0 {
			pick = rng.IntN(n)
		} else {
			var total float64
			for _, d := range d2 {
				total += float64(d)
			}
			if total == 0 {
				pick = rng.IntN(n) // every point already coincides with a centroid
			} else {
				r := rng.Float64() * total
				pick = -1
				var acc float64
				for i, d := range d2 {
					if d > 0 {
						pick = i // the last positive one if rounding leaves acc ≤ r
						if acc += float64(d); acc > r {
							break
						}
					}
				}
			}
		}
		c := km.cent[j*dim : (j+1)*dim]
		copy(c, km.data[pick*dim:])
		first := j == 0
		parallel(n, km.workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d := sqdist(c, km.data[i*dim:])
				if first || d < d2[i] {
					d2[i] = d
				}
			}
		})
	}
}

// lloyd runs at most iters assignment/update rounds.
func (km *kmeans) lloyd(iters int) {
	dim, n, k := km.dim, km.n, km.k
	xnorm := make([]float32, n)
	parallel(n, km.workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := km.data[i*dim : (i+1)*dim]
			xnorm[i] = dot(x, x)
		}
	})
	km.assign = make([]int32, n)
	next := make([]int32, n)
	norms := make([]float32, k)
	sums := make([]float64, k*dim)
	counts := make([]int, k)
	for it := 0; it < iters; it++ {
		for j := range norms {
			c := km.cent[j*dim : (j+1)*dim]
			norms[j] = dot(c, c)
		}
		parallel(n, km.workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				c, d := nearest(km.data[i*dim:(i+1)*dim], km.cent, norms, xnorm[i])
				next[i], km.dist[i] = int32(c), d
			}
		})
		changed := it == 0
		for i := range next {
			if next[i] != km.assign[i] {
				changed = true
				break
			}
		}
		km.assign, next = next, km.assign
		if !changed {
			return // centroids are already the means of this assignment
		}
		km.update(sums, counts)
	}
}

// update sets every centroid to the mean of its points, re-seeding empty
// clusters first. It runs sequentially in float64, so the result does not
// depend on the number of workers.
func (km *kmeans) update(sums []float64, counts []int) {
	dim := km.dim
	clear(sums)
	clear(counts)
	for i, c := range km.assign {
		counts[c]++
		s := sums[int(c)*dim : int(c+1)*dim]
		for d, v := range km.data[i*dim : (i+1)*dim] {
			s[d] += float64(v)
		}
	}
	for j := range counts {
		if counts[j] > 0 {
			continue
		}
		// Move the farthest point whose cluster can spare it.
		far, farD := -1, float32(-1)
		for i, d := range km.dist {
			if d > farD && counts[km.assign[i]] > 1 {
				far, farD = i, d
			}
		}
		if far < 0 {
			break // fewer points than clusters: cannot happen for n > k
		}
		old := km.assign[far]
		x := km.data[far*dim : (far+1)*dim]
		so := sums[int(old)*dim : int(old+1)*dim]
		sj := sums[j*dim : (j+1)*dim]
		for d, v := range x {
			so[d] -= float64(v)
			sj[d] = float64(v)
		}
		counts[old]--
		counts[j] = 1
		km.assign[far] = int32(j)
		km.dist[far] = -1 // never picked again
	}
	for j, cnt := range counts {
		if cnt == 0 {
			continue
		}
		c := km.cent[j*dim : (j+1)*dim]
		s := sums[j*dim : (j+1)*dim]
		inv := 1 / float64(cnt)
		for d := range c {
			c[d] = float32(s[d] * inv)
		}
	}
}

// parallel calls fn on contiguous row ranges covering [0, n), using at most
// workers goroutines (none when one suffices).
func parallel(n, workers int, fn func(lo, hi int)) {
	const minRows = 256
	w := min(workers, (n+minRows-1)/minRows)
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}
