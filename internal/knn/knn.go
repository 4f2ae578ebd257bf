// Package knn is exact nearest-neighbour search over a flat row-major
// matrix. It is the ground truth that approximate indexes (hnsw) and the
// generative retriever are measured against, so it favours plain, exact
// scoring: every live row is scored against every query.
package knn

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
	// Cosine scores by the inner product of the normalized query and the
	// normalized row: queries are normalized on Search, and a row's score
	// is its inner product with the query times its inverse norm, kept on
	// Add. Zero vectors score 0 against everything.
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
// each other; Add, Attach and Delete take a write lock.
//
// The rows are kept as added. Cosine scores a row by its inner product
// with the normalized query times the row's inverse norm, so the index
// needs no normalized copy of the rows and can score rows it shares with
// their owner (Attach).
type Index struct {
	mu      sync.RWMutex
	dim     int
	metric  Metric
	data    []float32 // n rows of dim, as added
	inv     []float32 // Cosine: each row's invNorm; nil for other metrics
	shared  bool      // data belongs to the caller of Attach
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

// Add appends a copy of the rows of the flat row-major matrix vecs. Their
// ids continue from Len(). It returns ErrDim if len(vecs) is not a
// multiple of Dim().
func (ix *Index) Add(vecs []float32) error {
	if len(vecs)%ix.dim != 0 {
		return fmt.Errorf("%w: %d values is not a whole number of %d-dim rows", ErrDim, len(vecs), ix.dim)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	data := ix.data
	if ix.shared {
		// Never append into the caller's array: copy instead.
		data, ix.shared = data[:len(data):len(data)], false
	}
	ix.grow(append(data, vecs...))
	return nil
}

// Attach makes data, a flat row-major matrix, the index's rows without
// copying them: its first Len() rows must be the rows the index holds
// (the same values, perhaps moved to a new array, as append moves them),
// and the rows after them are added as Add adds them. The index reads
// data until the next Attach or Add, so the caller must not change those
// rows. Attach lets the index share its rows with their owner, such as a
// gallery's features, instead of keeping a copy: grow the owner's slice,
// then Attach it again. It returns ErrDim if len(data) is not a multiple
// of Dim() or holds fewer rows than the index.
func (ix *Index) Attach(data []float32) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if len(data)%ix.dim != 0 || len(data) < len(ix.data) {
		return fmt.Errorf("%w: %d values for at least %d rows of %d", ErrDim, len(data), len(ix.deleted), ix.dim)
	}
	ix.shared = true
	ix.grow(data)
	return nil
}

// grow makes data, whose first rows are those the index holds, the
// index's rows, and indexes the rows after them. The caller holds mu.
func (ix *Index) grow(data []float32) {
	dim, start, added := ix.dim, len(ix.deleted), len(data)/ix.dim-len(ix.deleted)
	ix.data = data[:len(data):len(data)]
	if ix.metric == Cosine {
		ix.inv = slices.Grow(ix.inv, added)
		for off := start * dim; off < len(data); off += dim {
			ix.inv = append(ix.inv, invNorm(data[off:off+dim]))
		}
	}
	ix.deleted = append(ix.deleted, make([]bool, added)...)
}

// invNorm is the factor that scales x as vec.Normalize does: 1/|x|, or 1
// for the vectors Normalize leaves unchanged (zero, or of infinite or NaN
// length).
func invNorm(x []float32) float32 {
	n := vec.Norm(x)
	if n == 0 || math.IsInf(float64(n), 0) || math.IsNaN(float64(n)) {
		return 1
	}
	return 1 / n
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
	n := len(ix.deleted)
	for _, id := range ids {
		if id < 0 || id >= n {
			return fmt.Errorf("%w: %d not in [0, %d)", ErrID, id, n)
		}
	}
	if ix.metric == L2 {
		for i, id := range ids {
			out[i] = -vec.SquaredL2(qn, ix.data[id*ix.dim:(id+1)*ix.dim])
		}
	} else {
		// Candidates are scattered rows: four at a time, so that their
		// cache misses overlap.
		vec.DotGather(qn, ix.data[:n*ix.dim], ix.dim, ids, out)
	}
	for i, id := range ids {
		switch {
		case ix.deleted[id]:
			out[i] = float32(math.Inf(-1))
		case ix.metric == Cosine:
			out[i] *= ix.inv[id]
		}
	}
	return nil
}
