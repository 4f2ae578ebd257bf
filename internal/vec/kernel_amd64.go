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
	i := 0
	for ; i+4 <= rows; i += 4 {
		block := data[i*dim : (i+4)*dim]
		dot4(q, [4][]float32{block[:dim], block[dim : 2*dim], block[2*dim : 3*dim], block[3*dim:]}, out[i:i+4])
	}
	return i
}

// dotGather4 is dotRows4 for the rows of data that rows names (row r at
// data[r*dim:]), which the caller has checked.
func dotGather4(q, data []float32, rows []int, out []float32) int {
	dim := len(q)
	if !useAVX2 || dim < 8 {
		return 0
	}
	i := 0
	for ; i+4 <= len(rows); i += 4 {
		var r [4][]float32
		for j, id := range rows[i : i+4] {
			r[j] = data[id*dim : (id+1)*dim]
		}
		dot4(q, r, out[i:i+4])
	}
	return i
}

// dot4 writes dot(q, rows[r]) to out[r] for r = 0..3 (len(q) ≥ 8, each
// row len(q) long): the kernel over the multiple of 8, then the tail.
func dot4(q []float32, rows [4][]float32, out []float32) {
	dim := len(q)
	n := dim &^ 7
	ptrs := [4]*float32{&rows[0][0], &rows[1][0], &rows[2][0], &rows[3][0]}
	var s [4]float32
	dot4AVX2(q[:n], &ptrs, &s)
	for j := n; j < dim; j++ {
		qj := q[j]
		for r := range s {
			s[r] += qj * rows[r][j]
		}
	}
	copy(out[:4], s[:])
}

// scorePanel is ScorePanel after its checks:
//
//	for r := range rows {
//		for j := range PanelWidth {
//			s := Σ_i panel[i*PanelWidth+j] * data[r*dim+i]
//			if scale != nil { s *= scale[r] }
//			out[r*PanelWidth+j] = s
//			flags[r] bit j = !(s <= thr[j])
//		}
//	}
func scorePanel(data []float32, dim int, panel, scale []float32, thr *[PanelWidth]float32, out []float32, flags []uint16) bool {
	if !useAVX2 {
		return scorePanelGeneric(data, dim, panel, scale, thr, out, flags)
	}
	var sp *float32
	if scale != nil {
		sp = &scale[0]
	}
	return scorePanelAVX2(&data[0], len(flags), dim, &panel[0], sp, thr, &out[0], &flags[0])
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

// dot4AVX2 computes out[r] = Σ_i q[i]·rows[r][i] for r = 0..3 and
// i < len(q). len(q) must be a multiple of 8 and each row must hold
// len(q) values.
//
//go:noescape
func dot4AVX2(q []float32, rows *[4]*float32, out *[4]float32)

// scorePanelAVX2 is scorePanel over rows rows of data: six rows at a time
// (12 accumulators: six rows × two 8-query vectors, one multiply-add per
// query and row for each broadcast row value), then one at a time. It
// writes out only for groups of rows with a flag set. scale may be nil.
//
//go:noescape
func scorePanelAVX2(data *float32, rows, dim int, panel, scale *float32, thr *[PanelWidth]float32, out *float32, flags *uint16) bool
