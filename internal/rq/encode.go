package rq

import (
	"fmt"
	"runtime"

	"github.com/irgen/irgen/internal/vec"
)

// stackDim is the largest Dim whose residual Encode keeps on the stack, so
// that it does not allocate.
const stackDim = 1024

// Encode writes the M codes of x to codes[:M]. It does not allocate when
// Dim ≤ 1024. It returns ErrShape when len(x) != Dim or len(codes) < M,
// ErrNotFinite for NaN or infinite values, and ErrNotInit before Init.
func (q *Quantizer) Encode(x []float32, codes []int32) error {
	if err := q.ready(); err != nil {
		return err
	}
	if len(x) != q.Dim || len(codes) < q.M {
		return fmt.Errorf("%w: encode %d values into %d codes, want %d into %d", ErrShape, len(x), len(codes), q.Dim, q.M)
	}
	if vec.NonFinite(x) >= 0 {
		return fmt.Errorf("%w: encode input", ErrNotFinite)
	}
	var buf [stackDim]float32
	var r []float32
	if q.Dim <= stackDim {
		r = buf[:q.Dim]
	} else {
		r = make([]float32, q.Dim)
	}
	copy(r, x)
	q.encode(r, codes)
	return nil
}

// encode quantizes the residual r in place, writing codes[:M].
func (q *Quantizer) encode(r []float32, codes []int32) {
	for m := range q.M {
		c, _ := nearest(r, q.level(m), q.levelNorms(m), dot(r, r))
		codes[m] = int32(c)
		if m < q.M-1 {
			sub(r, q.codeword(m, c))
		}
	}
}

// EncodeBatch encodes the n = len(data)/Dim rows of data in parallel and
// returns their codes row-major (n*M values, stride M).
func (q *Quantizer) EncodeBatch(data []float32) ([]int32, error) {
	if err := q.ready(); err != nil {
		return nil, err
	}
	n, err := rows(data, q.Dim)
	if err != nil {
		return nil, fmt.Errorf("rq: encode batch: %w", err)
	}
	codes := make([]int32, n*q.M)
	dim := q.Dim
	parallel(n, runtime.GOMAXPROCS(0), func(lo, hi int) {
		r := make([]float32, dim)
		for i := lo; i < hi; i++ {
			copy(r, data[i*dim:(i+1)*dim])
			q.encode(r, codes[i*q.M:(i+1)*q.M])
		}
	})
	return codes, nil
}

// Decode writes the reconstruction Σ_m codeword(m, codes[m]) to out.
func (q *Quantizer) Decode(codes []int32, out []float32) error {
	return q.DecodePrefix(codes, q.M, out)
}

// DecodePrefix writes the partial reconstruction from the first m levels,
// Σ_{j<m} codeword(j, codes[j]), to out (zeros when m is 0). It returns
// ErrShape when m is not in [0, M], len(codes) < m, a code is not in
// [0, L) or len(out) != Dim.
func (q *Quantizer) DecodePrefix(codes []int32, m int, out []float32) error {
	if err := q.ready(); err != nil {
		return err
	}
	if m < 0 || m > q.M || len(codes) < m || len(out) != q.Dim {
		return fmt.Errorf("%w: decode %d of %d codes into %d values, want ≤ %d levels into %d", ErrShape, m, len(codes), len(out), q.M, q.Dim)
	}
	for j, c := range codes[:m] {
		if c < 0 || int(c) >= q.L {
			return fmt.Errorf("%w: code %d at level %d, want [0,%d)", ErrShape, c, j, q.L)
		}
	}
	clear(out)
	for j, c := range codes[:m] {
		w := q.codeword(j, int(c))
		for i := range out {
			out[i] += w[i]
		}
	}
	return nil
}

// Distances writes ||r - codeword(m, c)||² to dst[c] for every c in [0, L),
// computed as ||r||² - 2r·c + ||c||² and clamped at 0. It does not allocate.
func (q *Quantizer) Distances(m int, r, dst []float32) error {
	if err := q.ready(); err != nil {
		return err
	}
	if m < 0 || m >= q.M || len(r) != q.Dim || len(dst) < q.L {
		return fmt.Errorf("%w: distances at level %d for %d values into %d, want level < %d, %d values, %d outputs", ErrShape, m, len(r), len(dst), q.M, q.Dim, q.L)
	}
	distances(r, q.level(m), q.levelNorms(m), dst, dot(r, r))
	return nil
}
