package tokenizer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/rq"
	"github.com/irgen/irgen/internal/testutil"
)

// quantized is the output of Quantize: codes [B, M], partial
// reconstructions and residuals [M, B, F].
type quantized struct {
	codes              []int64
	partial, residuals []float32
}

// runQuantize runs Quantize on x [n, dim] with codebooks [m, l, dim].
func runQuantize(t *testing.T, codebooks, x []float32, m, l, dim int) quantized {
	t.Helper()
	n := len(x) / dim
	exec, err := graph.NewExec(testutil.Backend(t), func(cb, x *graph.Node) []*graph.Node {
		codes, partial, residuals := Quantize(cb, x, m)
		return []*graph.Node{codes, partial, residuals}
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(tensors.FromFlatDataAndDimensions(codebooks, m, l, dim), tensors.FromFlatDataAndDimensions(x, n, dim))
	if err != nil {
		t.Fatal(err)
	}
	return quantized{
		codes:     tensors.MustCopyFlatData[int64](res[0]),
		partial:   tensors.MustCopyFlatData[float32](res[1]),
		residuals: tensors.MustCopyFlatData[float32](res[2]),
	}
}

func approxEqual(tol float64) cmp.Option {
	return cmp.Comparer(func(a, b float32) bool { return math.Abs(float64(a)-float64(b)) <= tol })
}

// TestQuantizeByHand quantizes the features of handCase, whose codes,
// partial reconstructions and residuals are worked out in its comment.
func TestQuantizeByHand(t *testing.T) {
	c := handCase.c
	got := runQuantize(t, f32(handCase.cb), f32(handCase.f), c.M, c.L, c.FeatureDim)
	if diff := cmp.Diff([]int64{0, 0, 1, 0, 0, 1}, got.codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	partial := []float32{1, 0, 0, 1, 1, 0, 1.2, 0.1, 0.2, 1.1, 0.7, -0.4}
	if diff := cmp.Diff(partial, got.partial, approxEqual(1e-6)); diff != "" {
		t.Errorf("partial reconstructions (-want +got):\n%s", diff)
	}
	residuals := []float32{1, 0, 0.6, 0.8, 0.8, -0.6, 0, 0, 0.6, -0.2, -0.2, -0.6}
	if diff := cmp.Diff(residuals, got.residuals, approxEqual(1e-6)); diff != "" {
		t.Errorf("residuals (-want +got):\n%s", diff)
	}
}

// clustered returns n points around two-level hierarchical centers, so
// that every level of a quantizer has structure to capture.
func clustered(seed uint64, n, dim int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	normal := func(k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	top, sub := normal(6*dim), normal(24*dim)
	x := make([]float32, n*dim)
	for i := range n {
		a, b := rng.IntN(6), rng.IntN(24)
		for d := range dim {
			x[i*dim+d] = float32(4*top[a*dim+d] + sub[b*dim+d] + 0.3*rng.NormFloat64())
		}
	}
	return x
}

// TestQuantizeMatchesRQ checks the graph's greedy quantization, used in
// training, against package rq's, used to assign IDs: same codes, and
// partial reconstructions equal to rq's DecodePrefix.
func TestQuantizeMatchesRQ(t *testing.T) {
	const n, dim, m, l = 300, 8, 3, 16
	x := clustered(5, n, dim)
	q, err := rq.Fit(x, dim, rq.Config{M: m, L: l, Seed: 1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := q.EncodeBatch(x)
	if err != nil {
		t.Fatal(err)
	}
	got := runQuantize(t, q.Codebooks, x, m, l, dim)
	out := make([]float32, dim)
	for i := range n {
		for level := range m {
			if got.codes[i*m+level] != int64(want[i*m+level]) {
				t.Fatalf("point %d level %d: code %d; rq.Encode gives %d", i, level, got.codes[i*m+level], want[i*m+level])
			}
			if err := q.DecodePrefix(want[i*m:(i+1)*m], level+1, out); err != nil {
				t.Fatal(err)
			}
			p := got.partial[(level*n+i)*dim:][:dim]
			if diff := cmp.Diff(out, p, approxEqual(1e-5)); diff != "" {
				t.Fatalf("point %d: partial reconstruction %d (-rq +graph):\n%s", i, level, diff)
			}
		}
	}
}

// TestQuantizeErrorFallsPerLevel checks that the mean squared error of
// the partial reconstruction, from no level (‖x‖²) to all M, falls with
// every level on the data the codebooks were fitted to, which k-means
// guarantees not to increase, and which on generic data strictly falls.
func TestQuantizeErrorFallsPerLevel(t *testing.T) {
	tests := []struct{ n, dim, m, l int }{
		{400, 8, 4, 8},
		{300, 16, 3, 32},
		{200, 4, 6, 4},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n=%d/d=%d/M=%d/L=%d", tc.n, tc.dim, tc.m, tc.l), func(t *testing.T) {
			x := clustered(uint64(tc.n), tc.n, tc.dim)
			q, err := rq.Fit(x, tc.dim, rq.Config{M: tc.m, L: tc.l, Seed: 2, Workers: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := runQuantize(t, q.Codebooks, x, tc.m, tc.l, tc.dim)
			var prev float64
			for _, v := range x {
				prev += float64(v) * float64(v)
			}
			prev /= float64(tc.n)
			for level := range tc.m {
				var mse float64
				for i, v := range x {
					e := float64(v) - float64(got.partial[level*len(x)+i])
					mse += e * e
				}
				mse /= float64(tc.n)
				t.Logf("levels %d: mse %.5g", level+1, mse)
				if mse >= prev {
					t.Errorf("mse with %d levels = %.6g; want < %.6g (with %d)", level+1, mse, prev, level)
				}
				prev = mse
			}
		})
	}
}

// TestQuantizeErrorNonIncreasing covers the case where the error cannot
// fall further: four distinct points, repeated, and four codewords per
// level. Level 0 reconstructs them exactly, and the later levels, fitted
// to zero residuals, must keep the error at zero.
func TestQuantizeErrorNonIncreasing(t *testing.T) {
	const dim, m, l = 3, 3, 4
	points := []float32{1, 2, 3, -1, 0, 2, 4, -2, 0, 0.5, 0.5, -3}
	var x []float32
	for range 10 {
		x = append(x, points...)
	}
	q, err := rq.Fit(x, dim, rq.Config{M: m, L: l, Seed: 3, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := runQuantize(t, q.Codebooks, x, m, l, dim)
	for level := range m {
		var sse float64
		for i, v := range x {
			e := float64(v) - float64(got.partial[level*len(x)+i])
			sse += e * e
		}
		if sse > 1e-10 {
			t.Errorf("squared error with %d levels = %.3g; want 0", level+1, sse)
		}
	}
}
