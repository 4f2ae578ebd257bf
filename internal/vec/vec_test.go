package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// awkward lengths straddle the 8- and 32-wide unrolled loops.
var awkward = []int{0, 1, 7, 8, 9, 31, 32, 33, 63, 100, 1000}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func naiveDot(x, y []float32) float64 {
	var s float64
	for i := range x {
		s += float64(x[i]) * float64(y[i])
	}
	return s
}

func naiveL2(x, y []float32) float64 {
	var s float64
	for i := range x {
		d := float64(x[i]) - float64(y[i])
		s += d * d
	}
	return s
}

// near reports whether got is within float32 rounding of want, with the
// error bound scaled by the magnitude of the summed terms.
func near(got float32, want, scale float64, n int) bool {
	tol := 1e-6 * scale * math.Sqrt(float64(n)+1)
	if tol < 1e-6 {
		tol = 1e-6
	}
	return math.Abs(float64(got)-want) <= tol
}

func absScale(x, y []float32) float64 {
	var s float64
	for i := range x {
		s += math.Abs(float64(x[i]) * float64(y[i]))
	}
	return s
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range awkward {
		x, y := randVec(r, n), randVec(r, n)
		want := naiveDot(x, y)
		if got := Dot(x, y); !near(got, want, absScale(x, y), n) {
			t.Errorf("Dot(n=%d) = %v; want %v", n, got, want)
		}
		if got := dotGeneric(x, y); !near(got, want, absScale(x, y), n) {
			t.Errorf("dotGeneric(n=%d) = %v; want %v", n, got, want)
		}
	}
}

func TestSquaredL2(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range awkward {
		x, y := randVec(r, n), randVec(r, n)
		want := naiveL2(x, y)
		if got := SquaredL2(x, y); !near(got, want, want, n) {
			t.Errorf("SquaredL2(n=%d) = %v; want %v", n, got, want)
		}
		if got := squaredL2Generic(x, y); !near(got, want, want, n) {
			t.Errorf("squaredL2Generic(n=%d) = %v; want %v", n, got, want)
		}
		if got := SquaredL2(x, x); got != 0 {
			t.Errorf("SquaredL2(x, x) (n=%d) = %v; want 0", n, got)
		}
	}
}

func TestExact(t *testing.T) {
	// Small integers are exact in float32, so every summation order agrees.
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	y := []float32{9, 8, 7, 6, 5, 4, 3, 2, 1}
	// 9+16+21+24+25+24+21+16+9 = 165
	if got := Dot(x, y); got != 165 {
		t.Errorf("Dot = %v; want 165", got)
	}
	// (8²+6²+4²+2²)·2 + 0 = (64+36+16+4)·2 = 240
	if got := SquaredL2(x, y); got != 240 {
		t.Errorf("SquaredL2 = %v; want 240", got)
	}
}

func TestNormalize(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range awkward[1:] {
		x := randVec(r, n)
		want := math.Sqrt(naiveDot(x, x))
		orig := append([]float32(nil), x...)
		got := Normalize(x)
		if math.Abs(float64(got)-want) > 1e-5*want {
			t.Errorf("Normalize(n=%d) returned %v; want %v", n, got, want)
		}
		if l := math.Sqrt(naiveDot(x, x)); math.Abs(l-1) > 1e-5 {
			t.Errorf("after Normalize(n=%d) length = %v; want 1", n, l)
		}
		for i := range x {
			if w := float64(orig[i]) / want; math.Abs(float64(x[i])-w) > 1e-6 {
				t.Fatalf("Normalize(n=%d)[%d] = %v; want %v", n, i, x[i], w)
			}
		}
	}
	zero := make([]float32, 9)
	if got := Normalize(zero); got != 0 {
		t.Errorf("Normalize(zero) = %v; want 0", got)
	}
	for i, v := range zero {
		if v != 0 {
			t.Fatalf("Normalize(zero)[%d] = %v; want 0", i, v)
		}
	}
	if got := Normalize(nil); got != 0 {
		t.Errorf("Normalize(nil) = %v; want 0", got)
	}
}

func TestScaleAXPY(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range awkward {
		x, y := randVec(r, n), randVec(r, n)
		xs := append([]float32(nil), x...)
		Scale(-2.5, xs)
		for i := range x {
			if want := -2.5 * x[i]; xs[i] != want {
				t.Fatalf("Scale(n=%d)[%d] = %v; want %v", n, i, xs[i], want)
			}
		}
		ys := append([]float32(nil), y...)
		AXPY(0.5, x, ys)
		for i := range x {
			want := float64(y[i]) + 0.5*float64(x[i])
			if math.Abs(float64(ys[i])-want) > 1e-6*(1+math.Abs(want)) {
				t.Fatalf("AXPY(n=%d)[%d] = %v; want %v", n, i, ys[i], want)
			}
		}
	}
}

func TestBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, dim := range []int{1, 7, 8, 9, 33, 128} {
		for _, rows := range []int{0, 1, 5} {
			q := randVec(r, dim)
			data := randVec(r, rows*dim)
			dots := make([]float32, rows+2) // longer than needed is fine
			l2s := make([]float32, rows)
			DotBatch(q, data, dim, dots)
			SquaredL2Batch(q, data, dim, l2s)
			for i := 0; i < rows; i++ {
				row := data[i*dim : (i+1)*dim]
				// Summed in another order than Dot: equal up to rounding.
				if got, want := dots[i], Dot(q, row); !near(got, float64(want), absScale(q, row), dim) {
					t.Errorf("DotBatch(dim=%d)[%d] = %v; want %v", dim, i, got, want)
				}
				if got, want := l2s[i], SquaredL2(q, row); got != want {
					t.Errorf("SquaredL2Batch(dim=%d)[%d] = %v; want %v", dim, i, got, want)
				}
			}
		}
	}
}

// TestDotGather checks DotGather against the generic dot of each named
// row, for widths with and without a tail of fewer than 8 and row lists
// around the kernel's groups of four, repeats and any order included.
func TestDotGather(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, dim := range []int{1, 7, 8, 9, 33, 128} {
		data := randVec(r, 20*dim)
		for _, n := range []int{0, 1, 3, 4, 5, 8, 11} {
			q := randVec(r, dim)
			rows := make([]int, n)
			for i := range rows {
				rows[i] = r.IntN(20)
			}
			out := make([]float32, n+1)
			out[n] = 42 // past the rows: untouched
			DotGather(q, data, dim, rows, out)
			for i, id := range rows {
				row := data[id*dim : (id+1)*dim]
				if want := dotGeneric(q, row); !near(out[i], float64(want), absScale(q, row), dim) {
					t.Errorf("dim %d, %d rows: out[%d] (row %d) = %v; generic %v", dim, n, i, id, out[i], want)
				}
			}
			if out[n] != 42 {
				t.Errorf("dim %d, %d rows: wrote past the rows", dim, n)
			}
		}
	}
}

func TestPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"Dot", func() { Dot(make([]float32, 3), make([]float32, 4)) }},
		{"SquaredL2", func() { SquaredL2(make([]float32, 4), make([]float32, 3)) }},
		{"AXPY", func() { AXPY(1, make([]float32, 3), make([]float32, 4)) }},
		{"DotBatch/ragged", func() { DotBatch(make([]float32, 3), make([]float32, 7), 3, make([]float32, 3)) }},
		{"DotBatch/short out", func() { DotBatch(make([]float32, 3), make([]float32, 9), 3, make([]float32, 2)) }},
		{"SquaredL2Batch/dim", func() { SquaredL2Batch(make([]float32, 2), make([]float32, 9), 3, make([]float32, 3)) }},
		{"DotBatch/zero dim", func() { DotBatch(nil, nil, 0, nil) }},
		{"DotGather/row", func() { DotGather(make([]float32, 3), make([]float32, 9), 3, []int{0, 3}, make([]float32, 2)) }},
		{"DotGather/negative row", func() { DotGather(make([]float32, 3), make([]float32, 9), 3, []int{-1}, make([]float32, 1)) }},
		{"DotGather/short out", func() { DotGather(make([]float32, 3), make([]float32, 9), 3, []int{0, 1}, make([]float32, 1)) }},
		{"DotGather/dim", func() { DotGather(make([]float32, 2), make([]float32, 9), 3, nil, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f()
		})
	}
}

func TestZeroAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x, y := randVec(r, 128), randVec(r, 128)
	data := randVec(r, 128*64)
	out := make([]float32, 64)
	var sink float32
	allocs := testing.AllocsPerRun(100, func() {
		sink += Dot(x, y) + SquaredL2(x, y)
		DotBatch(x, data, 128, out)
		SquaredL2Batch(x, data, 128, out)
		AXPY(0.1, x, y)
		Scale(0.9, y)
		Normalize(y)
	})
	if allocs != 0 {
		t.Errorf("kernels allocate %v times per run; want 0", allocs)
	}
	_ = sink
}

var benchSink float32

func BenchmarkDot(b *testing.B) { benchPair(b, Dot, dotGeneric) }

func BenchmarkSquaredL2(b *testing.B) { benchPair(b, SquaredL2, squaredL2Generic) }

// benchPair runs a two-vector kernel and its generic twin over sizes.
func benchPair(b *testing.B, kernel, generic func(x, y []float32) float32) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{32, 64, 128, 768} {
		x, y := randVec(r, n), randVec(r, n)
		for _, v := range []struct {
			suffix string
			f      func(x, y []float32) float32
		}{{"", kernel}, {"/generic", generic}} {
			b.Run(fmt.Sprintf("d=%d%s", n, v.suffix), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(8 * n))
				for b.Loop() {
					benchSink += v.f(x, y)
				}
			})
		}
	}
}

func BenchmarkDotBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const rows = 1024
	for _, dim := range []int{64, 128, 768} {
		q, data := randVec(r, dim), randVec(r, rows*dim)
		out := make([]float32, rows)
		b.Run(fmt.Sprintf("n=%d/d=%d", rows, dim), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(4 * rows * dim))
			for b.Loop() {
				DotBatch(q, data, dim, out)
			}
		})
	}
}
