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
