package weights

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gridPos builds a [1+g², 2] position embedding with cls row (-1, -2) and
// grid row (y, x) holding (10y + x, -(10y + x)).
func gridPos(g int) Tensor {
	t := Tensor{Shape: []int{1 + g*g, 2}, Data: []float32{-1, -2}}
	for y := range g {
		for x := range g {
			v := float32(10*y + x)
			t.Data = append(t.Data, v, -v)
		}
	}
	return t
}

func TestResizePos(t *testing.T) {
	// Half-pixel source coordinates of a 2→4 upsampling are -0.25 (clamped
	// to 0), 0.25, 0.75 and 1.25 (clamped to 1), giving these weights.
	up := []float32{0, 0.25, 0.75, 1}
	want4 := Tensor{Shape: []int{17, 2}, Data: []float32{-1, -2}}
	for _, y := range up {
		for _, x := range up {
			v := 10*y + x
			want4.Data = append(want4.Data, v, -v)
		}
	}
	for _, tc := range []struct {
		name string
		pos  Tensor
		newN int
		want Tensor
	}{
		{"identity", gridPos(3), 9, gridPos(3)},
		{"identity/1x1", gridPos(1), 1, gridPos(1)},
		{"up/2to4", gridPos(2), 16, want4},
		// One output pixel samples the centre of the 2×2 grid: the mean.
		{"down/2to1", gridPos(2), 1, Tensor{Shape: []int{2, 2}, Data: []float32{-1, -2, 5.5, -5.5}}},
		// 4→2: source coordinates 0.5 and 2.5, midway between pixels.
		{"down/4to2", gridPos(4), 4, Tensor{Shape: []int{5, 2}, Data: []float32{-1, -2, 5.5, -5.5, 7.5, -7.5, 25.5, -25.5, 27.5, -27.5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResizePos(tc.pos, tc.newN)
			if err != nil {
				t.Fatalf("ResizePos: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ResizePos mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResizePosLinear(t *testing.T) {
	// Interior samples of an upsampled linear ramp stay on the ramp.
	got, err := ResizePos(gridPos(7), 14*14)
	if err != nil {
		t.Fatal(err)
	}
	scale := 7.0 / 14.0
	for y := 1; y < 13; y++ {
		for x := 1; x < 13; x++ {
			sy, sx := (float64(y)+0.5)*scale-0.5, (float64(x)+0.5)*scale-0.5
			want := 10*sy + sx
			if g := got.Data[(1+y*14+x)*2]; math.Abs(float64(g)-want) > 1e-4 {
				t.Errorf("(%d, %d): got %v; want %v", y, x, g, want)
			}
		}
	}
}

func TestResizePosCopies(t *testing.T) {
	pos := gridPos(2)
	got, err := ResizePos(pos, 4)
	if err != nil {
		t.Fatal(err)
	}
	got.Data[0] = 99
	if pos.Data[0] != -1 {
		t.Error("ResizePos of the identity size aliases its input")
	}
}

func TestResizePosErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		pos  Tensor
		newN int
	}{
		{"rank", Tensor{Shape: []int{5}, Data: make([]float32, 5)}, 4},
		{"no-grid", Tensor{Shape: []int{1, 2}, Data: make([]float32, 2)}, 4},
		{"short-data", Tensor{Shape: []int{5, 2}, Data: make([]float32, 9)}, 4},
		{"non-square-grid", Tensor{Shape: []int{7, 2}, Data: make([]float32, 14)}, 4},
		{"non-square-target", gridPos(2), 6},
		{"zero-target", gridPos(2), 0},
		{"negative-target", gridPos(2), -4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ResizePos(tc.pos, tc.newN); !errors.Is(err, ErrShape) {
				t.Errorf("ResizePos = %v; want %v", err, ErrShape)
			}
		})
	}
}

func TestViTResize(t *testing.T) {
	b := fakeCLIP("", false).bytes(t)
	v, err := ReadViT(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Resize(36); err != nil {
		t.Fatal(err)
	}
	if v.Arch.NumPatches != 36 {
		t.Errorf("got NumPatches %d; want 36", v.Arch.NumPatches)
	}
	if err := v.Check(); err != nil {
		t.Errorf("Check after Resize: %v", err)
	}
}
