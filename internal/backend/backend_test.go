package backend

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testBackend creates the backend named by $IRGEN_TEST_BACKEND (default
// Default), so that the same tests run on every backend:
//
//	IRGEN_TEST_BACKEND=onnx:cpu go test -tags onnx ./internal/backend/
func testBackend(t *testing.T) compute.Backend {
	t.Helper()
	config := os.Getenv("IRGEN_TEST_BACKEND")
	b, err := New(config)
	if err != nil {
		t.Fatalf("New(%q): %v", config, err)
	}
	t.Cleanup(b.Finalize)
	t.Logf("backend %q: %s", config, b.Description())
	return b
}

// call runs fn once on b with the given inputs and returns its outputs as
// flat float32 slices.
func call[F ExecGraphFn](t *testing.T, b compute.Backend, fn F, args ...any) [][]float32 {
	t.Helper()
	exec, err := NewExec(b, fn)
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	defer exec.Finalize()
	outs, err := exec.Call(args...)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	flat := make([][]float32, len(outs))
	for i, o := range outs {
		flat[i] = o.Value().([]float32)
		if o.Rank() != 1 {
			t.Fatalf("output %d has rank %d, want 1", i, o.Rank())
		}
	}
	return flat
}

var approx = cmpopts.EquateApprox(1e-5, 1e-5)

// seq returns n float32 values in [-1, 1): a fixed, seed-free pattern.
func seq(n int, mul float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.Sin(float64(i+1)*mul)) * 0.9
	}
	return x
}

func TestMatMulReduce(t *testing.T) {
	b := testBackend(t)
	const m, k, n = 7, 33, 5
	x, w := seq(m*k, 0.37), seq(k*n, 1.13)
	// Reference: row sums of x·w.
	want := make([]float32, m)
	for i := range m {
		var s float64
		for j := range n {
			for l := range k {
				s += float64(x[i*k+l]) * float64(w[l*n+j])
			}
		}
		want[i] = float32(s)
	}
	got := call(t, b, func(x, w *Node) *Node {
		x = Reshape(x, m, k)
		w = Reshape(w, k, n)
		return ReduceSum(MatMul(x, w), -1)
	}, x, w)[0]
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("row sums of x·w (-want +got):\n%s", diff)
	}
}

// TestSliceGradient takes the gradient of a Slice, whose VJP is a Pad, and
// of a Concatenate, whose VJP is a Slice.
func TestSliceGradient(t *testing.T) {
	b := testBackend(t)
	const rows, cols = 3, 6
	x := seq(rows*cols, 0.71)
	tests := []struct {
		name string
		// loss builds a scalar from x [rows, cols].
		loss func(x *Node) *Node
		// grad is d loss / d x[i][j].
		grad func(i, j int) float32
	}{
		{
			name: "slice",
			// Σ x[:, 1:4]²
			loss: func(x *Node) *Node {
				return ReduceAllSum(Square(SliceAxis(x, 1, AxisRange(1, 4))))
			},
			grad: func(i, j int) float32 {
				if j >= 1 && j < 4 {
					return 2 * x[i*cols+j]
				}
				return 0
			},
		},
		{
			name: "slice_elem",
			// Σ x[1, :]·3, the pattern of SelfAttention's q/k/v split.
			loss: func(x *Node) *Node {
				return ReduceAllSum(MulScalar(Squeeze(SliceAxis(x, 0, AxisElem(1)), 0), 3))
			},
			grad: func(i, j int) float32 {
				if i == 1 {
					return 3
				}
				return 0
			},
		},
		{
			name: "concatenate",
			// Σ concat(x, 2x)³ along axis 0, the pattern of the class token.
			loss: func(x *Node) *Node {
				return ReduceAllSum(PowScalar(Concatenate([]*Node{x, MulScalar(x, 2)}, 0), 3))
			},
			grad: func(i, j int) float32 {
				v := x[i*cols+j]
				return 3*v*v + 2*3*(2*v)*(2*v)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]float32, rows*cols)
			for i := range rows {
				for j := range cols {
					want[i*cols+j] = tc.grad(i, j)
				}
			}
			got := call(t, b, func(x *Node) *Node {
				x = Reshape(x, rows, cols)
				return Reshape(Gradient(tc.loss(x), x)[0], -1)
			}, x)[0]
			if diff := cmp.Diff(want, got, approx); diff != "" {
				t.Errorf("gradient (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		config  string
		wantErr string // substring; "" for success
	}{
		{config: ""},
		{config: "go"},
		{config: "go:parallelism=2"},
		{config: "nosuch", wantErr: "unknown backend"},
	}
	if !hasName("onnx") {
		tests = append(tests, struct{ config, wantErr string }{"onnx:cpu", "-tags onnx"})
	}
	if !hasName("xla") {
		tests = append(tests, struct{ config, wantErr string }{"xla:cpu", "-tags xla"})
	}
	for _, tc := range tests {
		t.Run(tc.config, func(t *testing.T) {
			b, err := New(tc.config)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New(%q) error = %v; want one containing %q", tc.config, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tc.config, err)
			}
			b.Finalize()
		})
	}
}

func TestHasOption(t *testing.T) {
	tests := []struct {
		opts string
		want bool
	}{
		{"", false},
		{"parallelism=4", true},
		{"ops_sequential, parallelism=-1", true},
		{"parallelismx=1", false},
	}
	for _, tc := range tests {
		if got := hasOption(tc.opts, "parallelism"); got != tc.want {
			t.Errorf("hasOption(%q) = %v; want %v", tc.opts, got, tc.want)
		}
	}
}

func hasName(name string) bool {
	for _, n := range Names() {
		if n == name {
			return true
		}
	}
	return false
}

// padRef is XLA's Pad on a row-major tensor: interior, then edges.
func padRef(x []float32, dims []int, fill float32, cfg []compute.PadAxis) ([]float32, []int) {
	for axis, p := range cfg {
		outer, inner := 1, 1
		for _, d := range dims[:axis] {
			outer *= d
		}
		for _, d := range dims[axis+1:] {
			inner *= d
		}
		d := dims[axis]
		// Source index along the axis for each output position, or -1 for fill.
		var src []int
		for range max(p.Start, 0) {
			src = append(src, -1)
		}
		var mid []int
		for i := range d {
			if i > 0 {
				for range p.Interior {
					mid = append(mid, -1)
				}
			}
			mid = append(mid, i)
		}
		mid = mid[max(-p.Start, 0) : len(mid)-max(-p.End, 0)]
		src = append(src, mid...)
		for range max(p.End, 0) {
			src = append(src, -1)
		}
		y := make([]float32, 0, outer*len(src)*inner)
		for o := range outer {
			for _, s := range src {
				for in := range inner {
					if s < 0 {
						y = append(y, fill)
					} else {
						y = append(y, x[(o*d+s)*inner+in])
					}
				}
			}
		}
		x = y
		dims = slices.Clone(dims)
		dims[axis] = len(src)
	}
	return x, dims
}

// TestPad checks Pad, native or emulated, and the emulation itself
// (withPad forced) against padRef.
func TestPad(t *testing.T) {
	b := testBackend(t)
	tests := []struct {
		name string
		dims []int
		cfg  []compute.PadAxis
		// crop marks negative padding: the Go backend's own Pad (compute
		// v0.1.2) panics on it, so only the emulation is tested.
		crop bool
	}{
		{"edges", []int{3, 4}, []compute.PadAxis{{Start: 1, End: 2}, {Start: 0, End: 3}}, false},
		{"last_axis_only", []int{2, 3, 4}, []compute.PadAxis{{}, {}, {Start: 2, End: 1}}, false},
		{"interior", []int{3, 4}, []compute.PadAxis{{Interior: 2}, {Start: 1, Interior: 1, End: 1}}, false},
		{"crop", []int{5, 4}, []compute.PadAxis{{Start: -1, End: -2}, {Start: 2, End: -1}}, true},
		{"interior_crop", []int{4}, []compute.PadAxis{{Start: -2, Interior: 1, End: -1}}, true},
		{"slice_vjp", []int{1, 2, 5}, []compute.PadAxis{{Start: 1, End: 1}, {Start: 0, End: 0}, {Start: 0, End: 0}}, false},
	}
	for _, emulated := range []bool{false, true} {
		pb := b
		if emulated {
			pb = withPad(b, true)
		}
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/emulated=%v", tc.name, emulated), func(t *testing.T) {
				if tc.crop && !emulated {
					t.Skip("negative padding: only the emulation is tested")
				}
				n := 1
				for _, d := range tc.dims {
					n *= d
				}
				x := seq(n, 0.53)
				want, _ := padRef(x, tc.dims, -7, tc.cfg)
				got := call(t, pb, func(x *Node) *Node {
					x = Reshape(x, tc.dims...)
					return Reshape(Pad(x, Scalar(x.Graph(), x.DType(), -7), tc.cfg...), -1)
				}, x)[0]
				if diff := cmp.Diff(want, got, approx); diff != "" {
					t.Errorf("Pad(%v, %+v) (-want +got):\n%s", tc.dims, tc.cfg, diff)
				}
			})
		}
	}
}

// TestPadBackendChain feeds an on-device output of the Pad-emulating
// wrapper back in: GoMLX refuses tensors whose buffers report another
// backend than the one executing.
func TestPadBackendChain(t *testing.T) {
	b := withPad(testBackend(t), true)
	exec, err := NewExec(b, func(x *Node) *Node {
		return Pad(AddScalar(x, 1), ScalarZero(x.Graph(), x.DType()), compute.PadAxis{Start: 1})
	})
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	defer exec.Finalize()
	outs, err := exec.Call([]float32{1, 2})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if outs, err = exec.Call(outs[0]); err != nil {
		t.Fatalf("Call on an output: %v", err)
	}
	want := []float32{0, 1, 3, 4}
	if diff := cmp.Diff(want, outs[0].Value().([]float32)); diff != "" {
		t.Errorf("pad(pad(x+1)+1) (-want +got):\n%s", diff)
	}
}

// TestIsGo pins the pure-Go backend's name, which IsGo matches.
func TestIsGo(t *testing.T) {
	b, err := New("go")
	if err != nil {
		t.Fatal(err)
	}
	if !IsGo(b) {
		t.Errorf("IsGo(%q) = false for the go backend", b.Name())
	}
}
