package rq

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// clustered returns n points in dim dimensions around 2-level hierarchical
// cluster centers, so every quantization level has structure to capture.
func clustered(seed uint64, n, dim int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	top := randData(rng, 10, dim)
	sub := randData(rng, 40, dim)
	data := make([]float32, n*dim)
	for i := range n {
		a, b := rng.IntN(10), rng.IntN(40)
		for d := range dim {
			data[i*dim+d] = 8*top[a*dim+d] + 2*sub[b*dim+d] + 0.5*float32(rng.NormFloat64())
		}
	}
	return data
}

func fitTest(t testing.TB, data []float32, dim, m, l int) *Quantizer {
	t.Helper()
	q, err := Fit(data, dim, Config{M: m, L: l, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// mse returns the mean squared reconstruction error from the first m levels.
func mse(t testing.TB, q *Quantizer, data []float32, m int) float64 {
	t.Helper()
	codes, err := q.EncodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, q.Dim)
	var sum float64
	n := len(data) / q.Dim
	for i := range n {
		if err := q.DecodePrefix(codes[i*q.M:(i+1)*q.M], m, out); err != nil {
			t.Fatal(err)
		}
		for d, v := range out {
			e := float64(data[i*q.Dim+d]) - float64(v)
			sum += e * e
		}
	}
	return sum / float64(n)
}

func TestReconstructionFallsPerLevel(t *testing.T) {
	tests := []struct{ n, dim, m, l int }{
		{2000, 16, 4, 16},
		{3000, 32, 4, 64},
		{500, 8, 6, 8},
		{100, 8, 3, 256}, // fewer points than codewords
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/d=%d/M=%d/L=%d", tt.n, tt.dim, tt.m, tt.l), func(t *testing.T) {
			data := clustered(uint64(tt.n), tt.n, tt.dim)
			q := fitTest(t, data, tt.dim, tt.m, tt.l)
			prev := mse(t, q, data, 0)
			for m := 1; m <= tt.m; m++ {
				got := mse(t, q, data, m)
				t.Logf("levels %d: mse %.5g", m, got)
				switch {
				case prev == 0 && got != 0: // exact already: stays exact
					t.Errorf("mse with %d levels = %.6g; want 0", m, got)
				case prev > 0 && got >= prev:
					t.Errorf("mse with %d levels = %.6g; want < %.6g (with %d)", m, got, prev, m-1)
				}
				prev = got
			}
		})
	}
}

// TestEncodeMatchesBruteForce walks the greedy residual path with exact
// float64 distances and checks Encode picks the nearest codeword at every
// level (up to rounding-level ties).
func TestEncodeMatchesBruteForce(t *testing.T) {
	const n, dim = 1000, 24
	data := clustered(3, n, dim)
	q := fitTest(t, data, dim, 4, 32)
	queries := append(clustered(4, 200, dim), randData(rand.New(rand.NewPCG(9, 9)), 200, dim)...)
	codes := make([]int32, q.M)
	r := make([]float32, dim)
	for i := 0; i < len(queries)/dim; i++ {
		x := queries[i*dim : (i+1)*dim]
		if err := q.Encode(x, codes); err != nil {
			t.Fatal(err)
		}
		copy(r, x)
		for m := range q.M {
			want, wantD := bruteNearest(r, q.level(m), dim)
			got := int(codes[m])
			gotD := exactDist(r, q.codeword(m, got))
			if got != want && gotD-wantD > 1e-4*(1+wantD) {
				t.Fatalf("query %d level %d: code %d (d=%.6g); brute force %d (d=%.6g)", i, m, got, gotD, want, wantD)
			}
			sub(r, q.codeword(m, got))
		}
	}
}

func exactDist(x, y []float32) float64 {
	var d float64
	for i := range x {
		e := float64(x[i]) - float64(y[i])
		d += e * e
	}
	return d
}

func TestEncodeBatchMatchesEncode(t *testing.T) {
	const dim = 12
	data := clustered(5, 1500, dim)
	q := fitTest(t, data, dim, 3, 16)
	batch, err := q.EncodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]int32, q.M)
	for i := 0; i < len(data)/dim; i++ {
		if err := q.Encode(data[i*dim:(i+1)*dim], codes); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(codes, batch[i*q.M:(i+1)*q.M]); diff != "" {
			t.Fatalf("row %d: EncodeBatch differs from Encode (-Encode +EncodeBatch):\n%s", i, diff)
		}
	}
}

func TestDecode(t *testing.T) {
	q := &Quantizer{M: 2, L: 2, Dim: 2, Codebooks: []float32{
		1, 0, 0, 1, // level 0
		10, 20, 30, 40, // level 1
	}}
	if err := q.Init(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		codes []int32
		m     int
		want  []float32
		err   error
	}{
		{[]int32{0, 1}, 2, []float32{31, 40}, nil},
		{[]int32{1, 0}, 2, []float32{10, 21}, nil},
		{[]int32{1, 0}, 1, []float32{0, 1}, nil},
		{[]int32{1}, 1, []float32{0, 1}, nil},
		{[]int32{1, 0}, 0, []float32{0, 0}, nil},
		{[]int32{1}, 2, nil, ErrShape},
		{[]int32{2, 0}, 2, nil, ErrShape},
		{[]int32{0, -1}, 2, nil, ErrShape},
		{[]int32{0, 0}, 3, nil, ErrShape},
		{[]int32{0, 0}, -1, nil, ErrShape},
	}
	for _, tt := range tests {
		out := []float32{7, 7}
		err := q.DecodePrefix(tt.codes, tt.m, out)
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodePrefix(%v, %d) error = %v; want %v", tt.codes, tt.m, err, tt.err)
			continue
		}
		if err == nil {
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("DecodePrefix(%v, %d) (-want +got):\n%s", tt.codes, tt.m, diff)
			}
		}
	}
	out := make([]float32, 2)
	if err := q.Decode([]int32{1, 1}, out); err != nil || out[0] != 30 || out[1] != 41 {
		t.Errorf("Decode([1 1]) = %v, %v; want [30 41]", out, err)
	}
	if err := q.Decode([]int32{1, 1}, make([]float32, 3)); !errors.Is(err, ErrShape) {
		t.Errorf("Decode into 3 values: error %v; want ErrShape", err)
	}
}

func TestDistances(t *testing.T) {
	const dim = 10
	data := clustered(6, 400, dim)
	q := fitTest(t, data, dim, 2, 13) // L not a multiple of 4
	r := data[:dim]
	dst := make([]float32, q.L)
	for m := range q.M {
		if err := q.Distances(m, r, dst); err != nil {
			t.Fatal(err)
		}
		for c := range q.L {
			want := exactDist(r, q.codeword(m, c))
			if math.Abs(float64(dst[c])-want) > 1e-3*(1+want) {
				t.Errorf("level %d codeword %d: distance %v; want %v", m, c, dst[c], want)
			}
		}
	}
	if err := q.Distances(2, r, dst); !errors.Is(err, ErrShape) {
		t.Errorf("Distances(level 2) error = %v; want ErrShape", err)
	}
	if err := q.Distances(0, r, dst[:5]); !errors.Is(err, ErrShape) {
		t.Errorf("Distances(short dst) error = %v; want ErrShape", err)
	}
}

func TestQuantizerErrors(t *testing.T) {
	data := clustered(1, 50, 4)
	if _, err := Fit(data, 4, Config{M: 0, L: 4}); !errors.Is(err, ErrShape) {
		t.Errorf("Fit(M=0) error = %v; want ErrShape", err)
	}
	if _, err := Fit(data, 4, Config{M: 2, L: 0}); !errors.Is(err, ErrShape) {
		t.Errorf("Fit(L=0) error = %v; want ErrShape", err)
	}
	if _, err := Fit(data[:7], 4, DefaultConfig()); !errors.Is(err, ErrShape) {
		t.Errorf("Fit(ragged) error = %v; want ErrShape", err)
	}
	var zero Quantizer
	if err := zero.Encode(data[:4], make([]int32, 4)); !errors.Is(err, ErrNotInit) {
		t.Errorf("zero Quantizer Encode error = %v; want ErrNotInit", err)
	}
	bad := &Quantizer{M: 2, L: 2, Dim: 2, Codebooks: make([]float32, 7)}
	if err := bad.Init(); !errors.Is(err, ErrShape) {
		t.Errorf("Init with 7 values error = %v; want ErrShape", err)
	}
	q := fitTest(t, data, 4, 2, 4)
	codes := make([]int32, 2)
	if err := q.Encode(data[:3], codes); !errors.Is(err, ErrShape) {
		t.Errorf("Encode(3 values) error = %v; want ErrShape", err)
	}
	if err := q.Encode(data[:4], codes[:1]); !errors.Is(err, ErrShape) {
		t.Errorf("Encode(1 code) error = %v; want ErrShape", err)
	}
	if err := q.Encode([]float32{0, 0, float32(math.NaN()), 0}, codes); !errors.Is(err, ErrNotFinite) {
		t.Errorf("Encode(NaN) error = %v; want ErrNotFinite", err)
	}
	if _, err := q.EncodeBatch(data[:5]); !errors.Is(err, ErrShape) {
		t.Errorf("EncodeBatch(5 values) error = %v; want ErrShape", err)
	}
	if _, err := q.Codeword(2, 0); !errors.Is(err, ErrShape) {
		t.Errorf("Codeword(2, 0) error = %v; want ErrShape", err)
	}
}

func TestEncodeAllocs(t *testing.T) {
	const dim = 128
	data := clustered(2, 600, dim)
	q := fitTest(t, data, dim, 4, 32)
	codes := make([]int32, q.M)
	x := data[:dim]
	dst := make([]float32, q.L)
	if n := testing.AllocsPerRun(100, func() { _ = q.Encode(x, codes) }); n != 0 {
		t.Errorf("Encode allocs = %v; want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = q.Distances(1, x, dst) }); n != 0 {
		t.Errorf("Distances allocs = %v; want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { nearest(x, q.level(0), q.levelNorms(0), 0) }); n != 0 {
		t.Errorf("nearest allocs = %v; want 0", n)
	}
}

// TestConcurrentEncode shares one Quantizer between goroutines; run with
// -race.
func TestConcurrentEncode(t *testing.T) {
	const dim = 8
	data := clustered(11, 400, dim)
	q := fitTest(t, data, dim, 3, 8)
	want, err := q.EncodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 4)
	for g := range 4 {
		go func() {
			codes := make([]int32, q.M)
			for i := g; i < 400; i += 4 {
				if err := q.Encode(data[i*dim:(i+1)*dim], codes); err != nil {
					errc <- err
					return
				}
				if !slices.Equal(codes, want[i*q.M:(i+1)*q.M]) {
					errc <- fmt.Errorf("row %d: %v; want %v", i, codes, want[i*q.M:(i+1)*q.M])
					return
				}
			}
			errc <- nil
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}
