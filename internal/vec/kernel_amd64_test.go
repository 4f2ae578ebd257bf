//go:build amd64 && !purego

package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAVX2MatchesGeneric checks the assembly kernels against the Go twins.
func TestAVX2MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("CPU lacks AVX2+FMA")
	}
	r := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 300; n++ {
		x, y := randVec(r, n), randVec(r, n)
		if got, want := dotAVX2(x, y), dotGeneric(x, y); !near(got, float64(want), absScale(x, y), n) {
			t.Errorf("dotAVX2(n=%d) = %v; generic %v", n, got, want)
		}
		want := squaredL2Generic(x, y)
		if got := squaredL2AVX2(x, y); !near(got, float64(want), float64(want), n) {
			t.Errorf("squaredL2AVX2(n=%d) = %v; generic %v", n, got, want)
		}
	}
	// Unaligned starts: the kernels use unaligned loads.
	buf := randVec(r, 1100)
	for off := 1; off < 8; off++ {
		x, y := buf[off:off+1000], buf[100-off:1100-off]
		if got, want := dotAVX2(x, y), naiveDot(x, y); !near(got, want, absScale(x, y), 1000) {
			t.Errorf("dotAVX2(offset %d) = %v; want %v", off, got, want)
		}
	}
	// Non-finite inputs propagate the same way.
	inf := []float32{1, 2, float32(math.Inf(1)), 4, 5, 6, 7, 8, 9}
	if got := dotAVX2(inf, inf); !math.IsInf(float64(got), 1) {
		t.Errorf("dotAVX2(+Inf) = %v; want +Inf", got)
	}
}

// TestGenericPath runs the public API with the assembly switched off.
func TestGenericPath(t *testing.T) {
	saved := useAVX2
	useAVX2 = false
	defer func() { useAVX2 = saved }()
	TestDot(t)
	TestSquaredL2(t)
	TestExact(t)
	TestBatch(t)
	TestDotTile(t)
}

// TestDotRows4MatchesGeneric checks the four-row kernel, through DotBatch,
// against the Go twin for widths with and without a tail of fewer than 8.
func TestDotRows4MatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("CPU lacks AVX2+FMA")
	}
	r := rand.New(rand.NewPCG(15, 16))
	for _, dim := range []int{1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 100, 128, 129, 768} {
		for _, rows := range []int{0, 1, 3, 4, 5, 8, 11} {
			q, data := randVec(r, dim), randVec(r, dim*rows)
			out := make([]float32, rows+1)
			out[rows] = 42 // past the rows: untouched
			DotBatch(q, data, dim, out)
			for i := range rows {
				row := data[i*dim : (i+1)*dim]
				if want := dotGeneric(q, row); !near(out[i], float64(want), absScale(q, row), dim) {
					t.Errorf("dim %d rows %d: out[%d] = %v; generic %v", dim, rows, i, out[i], want)
				}
			}
			if out[rows] != 42 {
				t.Errorf("dim %d rows %d: wrote past the rows", dim, rows)
			}
		}
	}
}
