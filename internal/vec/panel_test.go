package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// panelCase scores rows of data against nq queries through PackPanel and
// ScorePanel, with thresholds thr, and returns the out and flags.
func panelCase(qs, data []float32, dim int, scale []float32, thr *[PanelWidth]float32) ([]float32, []uint16, bool) {
	rows := len(data) / dim
	panel := make([]float32, PanelLen(dim))
	PackPanel(qs, dim, panel)
	out := make([]float32, rows*PanelWidth+1)
	flags := make([]uint16, rows+1)
	out[rows*PanelWidth], flags[rows] = 42, 42 // past the rows: untouched
	found := ScorePanel(data, dim, panel, scale, thr, out, flags)
	return out, flags, found
}

// TestScorePanel checks every flagged score of ScorePanel against float64
// dot products, and every flag against its definition, for widths and row
// counts around the kernel's groups of six rows, partial panels, with and
// without a scale, and thresholds that flag all, some or none.
func TestScorePanel(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	nan := float32(math.NaN())
	for _, dim := range []int{1, 2, 7, 8, 9, 33, 128} {
		for _, nq := range []int{1, 5, 16} {
			for _, rows := range []int{0, 1, 5, 6, 7, 13, 24} {
				qs, data := randVec(r, nq*dim), randVec(r, rows*dim)
				var scale []float32
				if rows%2 == 1 {
					scale = randVec(r, rows)
				}
				var thr [PanelWidth]float32
				for j := range thr {
					thr[j] = []float32{nan, 0, float32(math.Inf(1)), float32(r.NormFloat64())}[(j+rows)%4]
				}
				name := fmt.Sprintf("dim %d nq %d rows %d", dim, nq, rows)
				out, flags, found := panelCase(qs, data, dim, scale, &thr)
				checkPanel(t, name, qs, data, dim, scale, &thr, out, flags, found)
			}
		}
	}
}

// checkPanel checks ScorePanel's results against float64 scores.
func checkPanel(t *testing.T, name string, qs, data []float32, dim int, scale []float32, thr *[PanelWidth]float32, out []float32, flags []uint16, found bool) {
	t.Helper()
	rows := len(data) / dim
	anyFlag := false
	for i := range rows {
		row := data[i*dim : (i+1)*dim]
		for j := range PanelWidth {
			var q []float32
			if (j+1)*dim <= len(qs) {
				q = qs[j*dim : (j+1)*dim]
			} else {
				q = make([]float32, dim) // a missing query scores 0
			}
			want, tol := naiveDot(q, row), absScale(q, row)
			if scale != nil {
				want, tol = want*float64(scale[i]), tol*math.Abs(float64(scale[i]))
			}
			flag := flags[i]&(1<<j) != 0
			if got := out[i*PanelWidth+j]; flags[i] != 0 && !near(got, want, tol, dim) {
				t.Errorf("%s: score[%d][%d] = %v; want %v", name, i, j, got, want)
			} else if flags[i] != 0 && flag != !(got <= thr[j]) {
				t.Errorf("%s: flag[%d][%d] = %v for score %v, threshold %v", name, i, j, flag, got, thr[j])
			}
			if th := float64(thr[j]); !math.IsNaN(th) && math.Abs(want-th) > 1e-4*(1+tol) && flag != (want > th) {
				t.Errorf("%s: flag[%d][%d] = %v for score %v, threshold %v", name, i, j, flag, want, th)
			}
			anyFlag = anyFlag || flag
		}
	}
	if found != anyFlag {
		t.Errorf("%s: ScorePanel = %v; flags set %v", name, found, anyFlag)
	}
	if out[rows*PanelWidth] != 42 || flags[rows] != 42 {
		t.Errorf("%s: wrote past the rows", name)
	}
}

// TestScorePanelNonFinite checks that NaN scores are flagged whatever the
// threshold and that infinities compare as numbers.
func TestScorePanelNonFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	qs := []float32{1, 0, 0, 1} // two 2-dim queries
	data := []float32{float32(math.NaN()), 1, inf, 0, -inf, 0, 1, 1, 2, 2, 3, 3, 4, 4}
	var thr [PanelWidth]float32
	for j := range thr {
		thr[j] = 1
	}
	_, flags, found := panelCase(qs, data, 2, nil, &thr)
	// Query 0 scores NaN, +Inf, -Inf, 1, 2, 3, 4; query 1 scores 1, NaN, NaN
	// (0·∞), 1, 2, 3, 4; the missing queries score 0, or NaN against the
	// first three rows.
	want := []uint16{0xffff, 0xffff, 0xfffe, 0, 3, 3, 3}
	for i, w := range want {
		if flags[i] != w || !found {
			t.Errorf("flags[%d] = %#x; want %#x (found %v)", i, flags[i], w, found)
		}
	}
}

func TestPackPanel(t *testing.T) {
	panel := make([]float32, PanelLen(3))
	for i := range panel {
		panel[i] = 9
	}
	PackPanel([]float32{1, 2, 3, 4, 5, 6}, 3, panel)
	for i := range 3 {
		for j := range PanelWidth {
			want := float32(0)
			if j < 2 {
				want = float32(j*3 + i + 1)
			}
			if got := panel[i*PanelWidth+j]; got != want {
				t.Errorf("panel[%d][%d] = %v; want %v", i, j, got, want)
			}
		}
	}
}

func TestScorePanelZeroAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	const dim, rows = 128, 64
	qs, data := randVec(r, PanelWidth*dim), randVec(r, rows*dim)
	panel, out, flags := make([]float32, PanelLen(dim)), make([]float32, rows*PanelWidth), make([]uint16, rows)
	var thr [PanelWidth]float32
	allocs := testing.AllocsPerRun(100, func() {
		PackPanel(qs, dim, panel)
		ScorePanel(data, dim, panel, nil, &thr, out, flags)
	})
	if allocs != 0 {
		t.Errorf("PackPanel and ScorePanel allocate %v times per run; want 0", allocs)
	}
}

// BenchmarkScorePanel measures the panel kernel's arithmetic rate on a
// block of rows that stays in cache, and DotBatch's per query beside it.
func BenchmarkScorePanel(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const dim, rows = 128, 252
	qs, data := randVec(r, PanelWidth*dim), randVec(r, rows*dim)
	panel, out, flags := make([]float32, PanelLen(dim)), make([]float32, rows*PanelWidth), make([]uint16, rows)
	PackPanel(qs, dim, panel)
	var thr [PanelWidth]float32
	for j := range thr {
		thr[j] = float32(math.Inf(1))
	}
	flops := func(b *testing.B) {
		b.ReportMetric(float64(b.N)*2*PanelWidth*rows*dim/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	b.Run("panel", func(b *testing.B) {
		for b.Loop() {
			ScorePanel(data, dim, panel, nil, &thr, out, flags)
		}
		flops(b)
	})
	b.Run("per-query", func(b *testing.B) {
		for b.Loop() {
			for j := range PanelWidth {
				DotBatch(qs[j*dim:(j+1)*dim], data, dim, out[j*rows:(j+1)*rows])
			}
		}
		flops(b)
	})
}
