// Package knn is exact nearest-neighbour search over a flat row-major
// matrix. It is the ground truth that approximate indexes (hnsw) and the
// generative retriever are measured against, so it favours plain, exact
// scoring: every live row is scored against every query.
package knn

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/irgen/irgen/internal/vec"
)

// Errors returned for bad input.
var (
	ErrDim    = errors.New("knn: dimension mismatch")
	ErrK      = errors.New("knn: k must be positive")
	ErrID     = errors.New("knn: id out of range")
	ErrMetric = errors.New("knn: unknown metric")
)

// Metric selects how vectors are compared. Scores are always "higher is
// better".
type Metric int

const (
	// Cosine normalises vectors on Add and queries on Search, then scores
	// by inner product. Zero vectors stay zero and score 0 against everything.
	Cosine Metric = iota
	// InnerProduct scores by the raw inner product.
	InnerProduct
	// L2 scores by minus the squared Euclidean distance.
	L2
)

var metricNames = [...]string{Cosine: "cosine", InnerProduct: "ip", L2: "l2"}

// String returns the metric's name as accepted by ParseMetric.
func (m Metric) String() string {
	if m.valid() {
		return metricNames[m]
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

func (m Metric) valid() bool { return m >= 0 && int(m) < len(metricNames) }

// ParseMetric returns the metric named s ("cosine", "ip" or "l2").
func ParseMetric(s string) (Metric, error) {
	for m, name := range metricNames {
		if s == name {
			return Metric(m), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrMetric, s)
}

// Index holds vectors for exact search. Searches may run concurrently with
// each other; Add and Delete take a write lock.
type Index struct {
	mu      sync.RWMutex
	dim     int
	metric  Metric
	data    []float32 // n rows of dim, normalised for Cosine
	deleted []bool
	ndel    int
	pool    sync.Pool // *Searcher for Search
}

// New returns an empty index of dim-dimensional vectors.
func New(dim int, metric Metric) (*Index, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("%w: dim %d must be positive", ErrDim, dim)
	}
	if !metric.valid() {
		return nil, fmt.Errorf("%w %d", ErrMetric, int(metric))
	}
	return &Index{dim: dim, metric: metric}, nil
}

// Dim returns the vector dimension.
func (ix *Index) Dim() int { return ix.dim }

// Metric returns the index's metric.
func (ix *Index) Metric() Metric { return ix.metric }

// Len returns the number of rows added, deleted ones included. Row ids run
// from 0 to Len()-1 in the order they were added.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.deleted)
}

// Live returns the number of rows not deleted.
func (ix *Index) Live() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.deleted) - ix.ndel
}

// Add appends the rows of the flat row-major matrix vecs. Their ids continue
// from Len(). It returns ErrDim if len(vecs) is not a multiple of Dim().
func (ix *Index) Add(vecs []float32) error {
	if len(vecs)%ix.dim != 0 {
		return fmt.Errorf("%w: %d values is not a whole number of %d-dim rows", ErrDim, len(vecs), ix.dim)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	start := len(ix.data)
	ix.data = append(ix.data, vecs...)
	if ix.metric == Cosine {
		for off := start; off < len(ix.data); off += ix.dim {
			vec.Normalize(ix.data[off : off+ix.dim])
		}
	}
	ix.deleted = append(ix.deleted, make([]bool, len(vecs)/ix.dim)...)
	return nil
}

// Delete marks row id deleted; searches skip it. Deleting twice is a no-op.
func (ix *Index) Delete(id int) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if id < 0 || id >= len(ix.deleted) {
		return fmt.Errorf("%w: %d not in [0, %d)", ErrID, id, len(ix.deleted))
	}
	if !ix.deleted[id] {
		ix.deleted[id] = true
		ix.ndel++
	}
	return nil
}

// Deleted reports whether row id has been deleted.
func (ix *Index) Deleted(id int) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return id >= 0 && id < len(ix.deleted) && ix.deleted[id]
}

// Search returns the k best live rows for q, best first; fewer when fewer
// rows are live. For repeated searches without allocation use a Searcher.
func (ix *Index) Search(q []float32, k int) ([]Result, error) {
	s, _ := ix.pool.Get().(*Searcher)
	if s == nil {
		s = ix.NewSearcher()
	}
	defer ix.pool.Put(s)
	return s.SearchInto(q, k, nil)
}

// blockRows is how many gallery rows are scored per kernel call: about 64 KiB
// of vectors, so a block stays in cache while a tile of queries reuses it.
func blockRows(dim int) int {
	return max(16, 16384/dim)
}

func (ix *Index) kernel() func(q, data []float32, dim int, out []float32) {
	if ix.metric == L2 {
		return vec.SquaredL2Batch
	}
	return vec.DotBatch
}

// Scores writes the similarity of q to each row of ids into out (the
// index's metric, higher is better, as Search scores); len(out) must be
// len(ids). A query is normalized for Cosine. Deleted rows score -Inf.
func (ix *Index) Scores(q []float32, ids []int, out []float32) error {
	if len(q) != ix.dim || len(out) != len(ids) {
		return fmt.Errorf("%w: query of %d values (dim %d), %d ids for %d scores", ErrDim, len(q), ix.dim, len(ids), len(out))
	}
	qn := q
	if ix.metric == Cosine {
		qn = append([]float32(nil), q...)
		vec.Normalize(qn)
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for i, id := range ids {
		if id < 0 || id >= len(ix.deleted) {
			return fmt.Errorf("%w: %d not in [0, %d)", ErrID, id, len(ix.deleted))
		}
		if ix.deleted[id] {
			out[i] = float32(math.Inf(-1))
			continue
		}
		row := ix.data[id*ix.dim : (id+1)*ix.dim]
		if ix.metric != L2 {
			out[i] = vec.Dot(qn, row)
		} else {
			out[i] = -vec.SquaredL2(qn, row)
		}
	}
	return nil
}
