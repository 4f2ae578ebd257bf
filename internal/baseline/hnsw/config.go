// Package hnsw is a hierarchical navigable small world graph (Malkov and
// Yashunin, 2018) for approximate nearest-neighbour search, the ANN
// baseline that the generative retriever is compared with. Exact results
// come from package knn, which the tests use as ground truth.
//
// Compared with github.com/coder/hnsw, whose shape it follows, it keeps
// size-ef min-heaps whose root is the worst kept candidate, tracks visited
// nodes in an epoch array owned by a per-goroutine Searcher instead of a map
// per query, selects neighbours with the paper's heuristic (Algorithm 4),
// stores vectors flat, and returns errors rather than panicking on bad input.
package hnsw

import (
	"errors"
	"fmt"
	"math"

	"github.com/irgen/irgen/internal/knn"
)

// Errors returned for bad input. Dimension and k errors wrap knn.ErrDim and
// knn.ErrK so callers can treat both indexes alike.
var (
	ErrConfig = errors.New("hnsw: invalid config")
	ErrID     = errors.New("hnsw: invalid id")
	ErrFormat = errors.New("hnsw: invalid index data")
	ErrValue  = errors.New("hnsw: vector has a NaN or infinite value")
)

// Limits checked by New and Load.
const (
	maxM     = 512
	maxLevel = 32 // levels are drawn in [0, maxLevel]
	maxDim   = 1 << 20
	maxEf    = 1 << 20
)

// Config holds the graph's hyperparameters.
type Config struct {
	// M is the number of neighbours kept per node on layers above 0; layer
	// 0 keeps 2*M. Larger M raises recall and memory. At least 2.
	M int
	// EfConstruction is the candidate list size used while inserting.
	// Larger builds a better graph, more slowly.
	EfConstruction int
	// EfSearch is the default candidate list size for queries; a query for
	// k results uses max(EfSearch, k). Searcher.Ef overrides it.
	EfSearch int
	// Ml scales the level distribution: a node's top layer is
	// floor(-ln(U)·Ml) for U uniform in (0, 1]. Zero means 1/ln(M), the
	// paper's choice.
	Ml float64
	// Seed seeds the level generator, so builds are reproducible.
	Seed int64
	// Metric selects the similarity, as in knn.
	Metric knn.Metric
}

// DefaultConfig returns M=16, EfConstruction=200, EfSearch=64, Ml=1/ln(16),
// Seed=1 and the cosine metric.
func DefaultConfig() Config {
	return Config{
		M:              16,
		EfConstruction: 200,
		EfSearch:       64,
		Ml:             1 / math.Log(16),
		Seed:           1,
		Metric:         knn.Cosine,
	}
}

// withDefaults fills in Ml and validates.
func (c Config) withDefaults() (Config, error) {
	if c.M < 2 || c.M > maxM {
		return c, fmt.Errorf("%w: M=%d not in [2, %d]", ErrConfig, c.M, maxM)
	}
	if c.EfConstruction < 1 || c.EfConstruction > maxEf {
		return c, fmt.Errorf("%w: EfConstruction=%d not in [1, %d]", ErrConfig, c.EfConstruction, maxEf)
	}
	if c.EfSearch < 1 || c.EfSearch > maxEf {
		return c, fmt.Errorf("%w: EfSearch=%d not in [1, %d]", ErrConfig, c.EfSearch, maxEf)
	}
	if c.Ml == 0 {
		c.Ml = 1 / math.Log(float64(c.M))
	}
	if !(c.Ml > 0 && c.Ml <= 10) { // also rejects NaN
		return c, fmt.Errorf("%w: Ml=%v not in (0, 10]", ErrConfig, c.Ml)
	}
	if _, err := knn.ParseMetric(c.Metric.String()); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return c, nil
}
