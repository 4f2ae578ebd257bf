// Package vec holds the float32 kernels used by every search stage: dot
// products, squared Euclidean distances, normalisation and the batched
// forms that score one query against a flat row-major matrix.
//
// All functions work on plain []float32. Matrices are flat row-major slices
// with an explicit dim (the stride). Length mismatches are programmer errors
// and panic; callers validate user input (see knn.ErrDim) before calling in.
//
// On amd64 CPUs with AVX2 and FMA, Dot and SquaredL2 (and therefore the
// batch forms) run an assembly kernel; build with -tags purego to force the
// portable Go code. The two agree to within float32 rounding, not bit for bit,
// because the assembly sums in a different order and fuses multiply-adds.
package vec

import "math"

// Dot returns the inner product of x and y. It panics if len(x) != len(y).
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic("vec: Dot length mismatch")
	}
	return dot(x, y)
}

// SquaredL2 returns the squared Euclidean distance between x and y.
// It panics if len(x) != len(y).
func SquaredL2(x, y []float32) float32 {
	if len(x) != len(y) {
		panic("vec: SquaredL2 length mismatch")
	}
	return squaredL2(x, y)
}

// Norm returns the Euclidean length of x.
func Norm(x []float32) float32 {
	return float32(math.Sqrt(float64(dot(x, x))))
}

// NonFinite returns the index of the first NaN or infinite value of x, or
// -1 when every value is finite.
func NonFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}

// Normalize scales x in place to unit Euclidean length and returns the length
// it had. A zero (or non-finite) vector is left unchanged.
func Normalize(x []float32) float32 {
	n := Norm(x)
	if n == 0 || math.IsInf(float64(n), 0) || math.IsNaN(float64(n)) {
		return n
	}
	Scale(1/n, x)
	return n
}

// Scale multiplies every element of x by a, in place.
func Scale(a float32, x []float32) {
	for len(x) >= 8 {
		w := x[:8:8]
		w[0] *= a
		w[1] *= a
		w[2] *= a
		w[3] *= a
		w[4] *= a
		w[5] *= a
		w[6] *= a
		w[7] *= a
		x = x[8:]
	}
	for i := range x {
		x[i] *= a
	}
}

// AXPY computes y += a*x in place. It panics if len(x) != len(y).
func AXPY(a float32, x, y []float32) {
	if len(x) != len(y) {
		panic("vec: AXPY length mismatch")
	}
	for len(x) >= 8 {
		xs, ys := x[:8:8], y[:8:8]
		ys[0] += a * xs[0]
		ys[1] += a * xs[1]
		ys[2] += a * xs[2]
		ys[3] += a * xs[3]
		ys[4] += a * xs[4]
		ys[5] += a * xs[5]
		ys[6] += a * xs[6]
		ys[7] += a * xs[7]
		x, y = x[8:], y[8:]
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// DotBatch scores q against every row of the row-major matrix data:
// out[i] = Dot(q, data[i*dim:(i+1)*dim]). It panics unless len(q) == dim,
// len(data) is a multiple of dim and len(out) >= len(data)/dim.
func DotBatch(q, data []float32, dim int, out []float32) {
	rows := checkBatch(q, data, dim, out)
	out = out[:rows]
	// Four rows per kernel call share the loads of q.
	for i := dotRows4(q, data[:rows*dim], out); i < rows; i++ {
		out[i] = dot(q, data[i*dim:(i+1)*dim:(i+1)*dim])
	}
}

// DotGather scores q against the rows of the row-major matrix data that
// rows names: out[i] = Dot(q, data[rows[i]*dim:(rows[i]+1)*dim]), up to
// rounding (four rows share each load of q, and their memory reads
// overlap: for scattered rows, as a search's candidates are). It panics
// unless len(q) == dim, len(data) is a multiple of dim, every row is in
// range and len(out) >= len(rows).
func DotGather(q, data []float32, dim int, rows []int, out []float32) {
	if dim <= 0 || len(q) != dim || len(data)%dim != 0 {
		panic("vec: batch dimension mismatch")
	}
	n := len(data) / dim
	if len(out) < len(rows) {
		panic("vec: gather output too short")
	}
	for _, r := range rows {
		if r < 0 || r >= n {
			panic("vec: gather row out of range")
		}
	}
	out = out[:len(rows)]
	for i := dotGather4(q, data, rows, out); i < len(rows); i++ {
		r := rows[i]
		out[i] = dot(q, data[r*dim:(r+1)*dim:(r+1)*dim])
	}
}

// SquaredL2Batch is DotBatch for squared Euclidean distance:
// out[i] = SquaredL2(q, data[i*dim:(i+1)*dim]).
func SquaredL2Batch(q, data []float32, dim int, out []float32) {
	rows := checkBatch(q, data, dim, out)
	out = out[:rows]
	for i := range out {
		out[i] = squaredL2(q, data[i*dim:(i+1)*dim:(i+1)*dim])
	}
}

func checkBatch(q, data []float32, dim int, out []float32) int {
	if dim <= 0 || len(q) != dim || len(data)%dim != 0 {
		panic("vec: batch dimension mismatch")
	}
	rows := len(data) / dim
	if len(out) < rows {
		panic("vec: batch output too short")
	}
	return rows
}
