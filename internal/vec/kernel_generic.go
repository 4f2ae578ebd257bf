//go:build !amd64 || purego

package vec

// dot is the inner product of x and y (len(y) >= len(x)):
//
//	for i := range x {
//		s += x[i] * y[i]
//	}
func dot(x, y []float32) float32 { return dotGeneric(x, y) }

// squaredL2 is the squared Euclidean distance of x and y (len(y) >= len(x)):
//
//	for i := range x {
//		d := x[i] - y[i]
//		s += d * d
//	}
func squaredL2(x, y []float32) float32 { return squaredL2Generic(x, y) }

// dotRows4 handles no rows without the assembly kernels.
func dotRows4(q, data []float32, out []float32) int { return 0 }

// dotGather4 handles no rows without the assembly kernels.
func dotGather4(q, data []float32, rows []int, out []float32) int { return 0 }

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
	return scorePanelGeneric(data, dim, panel, scale, thr, out, flags)
}

// Accelerated reports whether an assembly kernel is in use.
func Accelerated() bool { return false }
