package rq

import (
	"errors"
	"fmt"
	"runtime"
)

// ErrNotInit reports a Quantizer used before Fit, ReadFrom or Init.
var ErrNotInit = errors.New("rq: quantizer not initialized")

// Config configures Fit.
type Config struct {
	// M is the number of levels (tokens per ID), 1 to MaxLevels.
	M int
	// L is the number of codewords per level, 1 to MaxCodewords.
	L int
	// Iters is the number of Lloyd iterations per level (0 means
	// DefaultIters).
	Iters int
	// Seed seeds k-means++; level m uses Seed+m.
	Seed uint64
	// Workers is the number of goroutines (0 means runtime.GOMAXPROCS(0)).
	Workers int
}

// DefaultConfig returns the IRGen setting: M=4 levels of L=256 codewords,
// 20 Lloyd iterations, seed 1.
func DefaultConfig() Config {
	return Config{M: 4, L: 256, Iters: DefaultIters, Seed: 1}
}

// Limits on quantizer shapes, also enforced when reading a saved one.
const (
	MaxLevels    = 64
	MaxCodewords = 1 << 16
	MaxDim       = 1 << 16
)

// A Quantizer is a residual quantizer: M codebooks of L codewords of Dim
// values. Codeword c of level m is Codebooks[(m*L+c)*Dim:][:Dim]. A vector x
// is encoded greedily: code m is the codeword of level m nearest to the
// residual x - Σ_{j<m} codeword(j, code j), and decoded as that sum.
//
// Make one with Fit or ReadFrom. A Quantizer built by hand, or whose
// Codebooks were changed, must call Init before use. After that it is
// read-only and safe for concurrent use.
type Quantizer struct {
	M, L, Dim int
	Codebooks []float32 // M*L*Dim, row-major

	norms []float32 // M*L: squared norm of every codeword
}

// Fit learns an M-level quantizer of the n = len(data)/dim rows of data:
// level m runs k-means with L centroids on the residuals left by levels
// 0..m-1. Fewer than L rows is allowed (see KMeans).
func Fit(data []float32, dim int, cfg Config) (*Quantizer, error) {
	if err := checkShape(cfg.M, cfg.L, dim); err != nil {
		return nil, err
	}
	n, err := rows(data, dim)
	if err != nil {
		return nil, err
	}
	if cfg.Iters < 0 || cfg.Workers < 0 {
		return nil, fmt.Errorf("%w: Iters %d, Workers %d must not be negative", ErrShape, cfg.Iters, cfg.Workers)
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	q := &Quantizer{M: cfg.M, L: cfg.L, Dim: dim, Codebooks: make([]float32, cfg.M*cfg.L*dim)}
	q.norms = make([]float32, cfg.M*cfg.L)
	res := append([]float32(nil), data...)
	for m := range cfg.M {
		kc := KMeansConfig{K: cfg.L, Iters: cfg.Iters, Seed: cfg.Seed + uint64(m), Workers: workers}
		cb, err := KMeans(res, dim, kc)
		if err != nil {
			return nil, fmt.Errorf("rq: fit level %d: %w", m, err)
		}
		copy(q.level(m), cb)
		q.initNorms(m)
		if m == cfg.M-1 {
			break
		}
		parallel(n, workers, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r := res[i*dim : (i+1)*dim]
				c, _ := nearest(r, q.level(m), q.levelNorms(m), dot(r, r))
				sub(r, q.codeword(m, c))
			}
		})
	}
	return q, nil
}

func checkShape(m, l, dim int) error {
	if m < 1 || m > MaxLevels || l < 1 || l > MaxCodewords || dim < 1 || dim > MaxDim {
		return fmt.Errorf("%w: M=%d L=%d Dim=%d, want M in [1,%d], L in [1,%d], Dim in [1,%d]",
			ErrShape, m, l, dim, MaxLevels, MaxCodewords, MaxDim)
	}
	return nil
}

// Init validates the shape of q and precomputes codeword norms. Call it
// after building a Quantizer by hand or changing Codebooks.
func (q *Quantizer) Init() error {
	if err := checkShape(q.M, q.L, q.Dim); err != nil {
		return err
	}
	if len(q.Codebooks) != q.M*q.L*q.Dim {
		return fmt.Errorf("%w: %d codebook values, want M*L*Dim = %d", ErrShape, len(q.Codebooks), q.M*q.L*q.Dim)
	}
	q.norms = make([]float32, q.M*q.L)
	for m := range q.M {
		q.initNorms(m)
	}
	return nil
}

func (q *Quantizer) initNorms(m int) {
	for c := range q.L {
		w := q.codeword(m, c)
		q.norms[m*q.L+c] = dot(w, w)
	}
}

// ready reports ErrNotInit unless Init (or Fit, ReadFrom) has run on the
// current shape.
func (q *Quantizer) ready() error {
	if len(q.norms) != q.M*q.L || len(q.Codebooks) != q.M*q.L*q.Dim || q.M < 1 {
		return ErrNotInit
	}
	return nil
}

func (q *Quantizer) level(m int) []float32 {
	return q.Codebooks[m*q.L*q.Dim : (m+1)*q.L*q.Dim]
}

func (q *Quantizer) levelNorms(m int) []float32 {
	return q.norms[m*q.L : (m+1)*q.L]
}

func (q *Quantizer) codeword(m, c int) []float32 {
	return q.Codebooks[(m*q.L+c)*q.Dim : (m*q.L+c+1)*q.Dim]
}

// Codeword returns codeword c of level m as a view into Codebooks (do not
// modify it). It returns ErrShape when m or c is out of range.
func (q *Quantizer) Codeword(m, c int) ([]float32, error) {
	if m < 0 || m >= q.M || c < 0 || c >= q.L || len(q.Codebooks) != q.M*q.L*q.Dim {
		return nil, fmt.Errorf("%w: codeword (%d,%d) of M=%d L=%d", ErrShape, m, c, q.M, q.L)
	}
	return q.codeword(m, c), nil
}

// sub sets r -= c.
func sub(r, c []float32) {
	c = c[:len(r)]
	for i := range r {
		r[i] -= c[i]
	}
}
