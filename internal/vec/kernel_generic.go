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

// dotTile is the multi-query kernel; without assembly it handles none.
func dotTile(qs, data []float32, dim int, out []float32) int { return 0 }

// Accelerated reports whether an assembly kernel is in use.
func Accelerated() bool { return false }
