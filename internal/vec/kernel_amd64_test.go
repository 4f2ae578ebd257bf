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
	TestScorePanel(t)
	TestScorePanelNonFinite(t)
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

// TestScorePanelMatchesGeneric checks the panel kernel against its Go
// twin: the same scores up to rounding and the same flags, for row counts
// around its groups of six.
func TestScorePanelMatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Skip("CPU lacks AVX2+FMA")
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, dim := range []int{1, 3, 8, 64, 129} {
		for _, rows := range []int{1, 5, 6, 11, 30} {
			panel, data, scale := randVec(r, PanelLen(dim)), randVec(r, rows*dim), randVec(r, rows)
			var thr [PanelWidth]float32 // flags about half
			got, want := make([]float32, rows*PanelWidth), make([]float32, rows*PanelWidth)
			gotF, wantF := make([]uint16, rows), make([]uint16, rows)
			gotAny := scorePanel(data, dim, panel, scale, &thr, got, gotF)
			wantAny := scorePanelGeneric(data, dim, panel, scale, &thr, want, wantF)
			if gotAny != wantAny {
				t.Errorf("dim %d rows %d: found %v; generic %v", dim, rows, gotAny, wantAny)
			}
			for i := range rows {
				for j := range PanelWidth {
					g, w := got[i*PanelWidth+j], want[i*PanelWidth+j]
					if gotF[i] != 0 && !near(g, float64(w), 10*math.Abs(float64(w))+1, dim) {
						t.Errorf("dim %d rows %d: score[%d][%d] = %v; generic %v", dim, rows, i, j, g, w)
					}
					if gf, wf := gotF[i]&(1<<j) != 0, wantF[i]&(1<<j) != 0; gf != wf && math.Abs(float64(w)) > 1e-4 {
						t.Errorf("dim %d rows %d: flag[%d][%d] = %v; generic %v (score %v)", dim, rows, i, j, gf, wf, w)
					}
				}
			}
		}
	}
}
