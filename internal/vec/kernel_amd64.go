//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2+FMA kernels; tests flip it to compare the two.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dot is the inner product of x and y (len(y) >= len(x)):
//
//	for i := range x {
//		s += x[i] * y[i]
//	}
func dot(x, y []float32) float32 {
	if useAVX2 {
		return dotAVX2(x, y[:len(x)])
	}
	return dotGeneric(x, y)
}

// squaredL2 is the squared Euclidean distance of x and y (len(y) >= len(x)):
//
//	for i := range x {
//		d := x[i] - y[i]
//		s += d * d
//	}
func squaredL2(x, y []float32) float32 {
	if useAVX2 {
		return squaredL2AVX2(x, y[:len(x)])
	}
	return squaredL2Generic(x, y)
}

// dotRows4 scores q against rows of data (row-major, dim = len(q)) four
// at a time, writing out[i] = dot(q, row i) for the leading rows it
// handles, and returns how many that is (a multiple of 4).
func dotRows4(q, data []float32, out []float32) int {
	dim := len(q)
	if !useAVX2 || dim < 8 {
		return 0
	}
	rows := len(data) / dim
	n := dim &^ 7
	var s [4]float32
	i := 0
	for ; i+4 <= rows; i += 4 {
		block := data[i*dim : (i+4)*dim]
		dot4AVX2(q[:n], block, dim, &s)
		for j := n; j < dim; j++ {
			qj := q[j]
			s[0] += qj * block[j]
			s[1] += qj * block[dim+j]
			s[2] += qj * block[2*dim+j]
			s[3] += qj * block[3*dim+j]
		}
		copy(out[i:i+4], s[:])
	}
	return i
}

// dotTile scores the queries of qs (row-major, dim wide) three at a time
// against every row of data, writing out[j*rows+i] = dot(q_j, row i), and
// returns how many leading queries it handled (a multiple of 3). Each
// 3-query × 4-row kernel call loads a chunk of every operand once for 12
// FMAs, where dotRows4 loads the rows again for each query.
func dotTile(qs, data []float32, dim int, out []float32) int {
	if !useAVX2 || dim < 8 {
		return 0
	}
	nq, rows := len(qs)/dim, len(data)/dim
	nq3 := nq - nq%3
	n := dim &^ 7
	// Rows outside, queries inside: four rows stay in L1 while every group
	// of three queries (also in L1 for a tile of a few dozen) passes over
	// them, so each gallery row comes from memory once per call.
	i := 0
	for ; i+4 <= rows; i += 4 {
		block := data[i*dim : (i+4)*dim]
		for j := 0; j < nq3; j += 3 {
			q := qs[j*dim : (j+3)*dim]
			o := out[j*rows+i : (j+2)*rows+i+4]
			dot3x4AVX2(q[:n], dim, block, dim, o, rows)
			for t := n; t < dim; t++ {
				for qj := range 3 {
					v, oq := q[qj*dim+t], o[qj*rows:qj*rows+4]
					oq[0] += v * block[t]
					oq[1] += v * block[dim+t]
					oq[2] += v * block[2*dim+t]
					oq[3] += v * block[3*dim+t]
				}
			}
		}
	}
	for ; i < rows; i++ {
		row := data[i*dim : (i+1)*dim : (i+1)*dim]
		for j := range nq3 {
			out[j*rows+i] = dot(qs[j*dim:(j+1)*dim], row)
		}
	}
	return nq3
}

// Accelerated reports whether an assembly kernel is in use.
func Accelerated() bool { return useAVX2 }

// dotAVX2 is dotGeneric with 4×8-lane FMA accumulators. len(y) must equal len(x).
//
//go:noescape
func dotAVX2(x, y []float32) float32

// squaredL2AVX2 is squaredL2Generic with 4×8-lane FMA accumulators.
// len(y) must equal len(x).
//
//go:noescape
func squaredL2AVX2(x, y []float32) float32

// dot4AVX2 computes out[r] = Σ_i q[i]·rows[r*stride+i] for r = 0..3 and
// i < len(q). len(q) must be a multiple of 8 and rows must hold
// 3*stride+len(q) values.
//
//go:noescape
func dot4AVX2(q, rows []float32, stride int, out *[4]float32)

// dot3x4AVX2 sets out[j*ostride+r] = Σ_i q[j*qstride+i]·rows[r*rstride+i]
// for queries j = 0..2, rows r = 0..3 and i < len(q). len(q) must be a
// multiple of 8; q must hold 2*qstride+len(q) values, rows 3*rstride+len(q)
// and out 2*ostride+4.
//
//go:noescape
func dot3x4AVX2(q []float32, qstride int, rows []float32, rstride int, out []float32, ostride int)
