package dataset

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/irgen/irgen/internal/imageproc"
)

// blobs returns n 16×16 gray images of two classes: a bright square at
// the left or right edge (mirrored: a flip turns one class into the other)
// or at the top or bottom edge (symmetric: a flip keeps the class), at a
// random position along that edge, over noise. With noise only, the label
// is unrelated to the pixels.
func blobs(n int, layout string) *Gray {
	const w = 16
	rng := rand.New(rand.NewPCG(7, 7))
	g := &Gray{W: w, H: w, Pix: make([]uint8, n*w*w), Labels: make([]int, n)}
	for i := range n {
		c := i % 2
		g.Labels[i] = c
		px := g.Pixels(i)
		for j := range px {
			px[j] = uint8(rng.IntN(60))
		}
		if layout == "noise" {
			continue
		}
		along := rng.IntN(w - 4)
		x, y := along, []int{1, w - 5}[c]
		if layout == "mirrored" {
			x, y = []int{1, w - 5}[c], along
		}
		for dy := range 4 {
			for dx := range 4 {
				px[(y+dy)*w+x+dx] = 250
			}
		}
	}
	return g
}

func TestCheckFlips(t *testing.T) {
	tf := imageproc.Transform{Size: 16, Channels: 1}
	for _, tc := range []struct {
		layout string
		keeps  bool
	}{
		{"mirrored", false},
		{"symmetric", true},
		{"noise", true}, // nothing to tell from: flips stay on
	} {
		g := blobs(400, tc.layout)
		idx := make([]int, g.Len())
		for i := range idx {
			idx[i] = i
		}
		c, err := CheckFlips(g, idx, tf, 300, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v", tc.layout, c)
		if c.Probes != 150 || c.Chance < 0.4 || c.Chance > 0.6 {
			t.Errorf("%s: %d probes, chance %.3f; want 150 and ≈ 0.5", tc.layout, c.Probes, c.Chance)
		}
		if c.Keeps() != tc.keeps {
			t.Errorf("%s: Keeps() = %v, want %v (%v)", tc.layout, c.Keeps(), tc.keeps, c)
		}
	}
	if _, err := CheckFlips(blobs(3, "noise"), []int{0, 1, 2}, tf, 10, 1, 1); err == nil {
		t.Error("3 images: no error")
	}
}

func TestFlipCheckKeeps(t *testing.T) {
	for _, tc := range []struct {
		orig, flipped, chance float64
		keeps                 bool
	}{
		{0.93, 0.41, 0.10, false}, // digits: 0.31 of the lift kept
		{0.79, 0.62, 0.10, true},  // Fashion-MNIST: 0.75 of the lift kept
		{0.60, 0.36, 0.10, true},  // just over half the lift
		{0.60, 0.34, 0.10, false},
		{0.14, 0.00, 0.10, true}, // 0.04 over chance: too little to tell
	} {
		c := FlipCheck{Original: tc.orig, Flipped: tc.flipped, Chance: tc.chance}
		if c.Keeps() != tc.keeps {
			t.Errorf("%+v: Keeps() = %v, want %v", c, c.Keeps(), tc.keeps)
		}
	}
}

func TestMirror(t *testing.T) {
	// 2×2 RGB, HWC: pixels (r,g,b) a b / c d → b a / d c.
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	want := []float32{4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9}
	if got := mirror(x, 2, 3); !slices.Equal(got, want) {
		t.Errorf("mirror = %v, want %v", got, want)
	}
}

func TestChance(t *testing.T) {
	// References: 3 of class 0, 1 of class 1. Probes 0, 1: (3/4 + 1/4) / 2.
	if got := chance([]int32{0, 1}, []int32{0, 0, 0, 1}); got != 0.5 {
		t.Errorf("chance = %v, want 0.5", got)
	}
	if got := chance([]int32{0, 0}, []int32{0, 0, 0, 1}); got != 0.75 {
		t.Errorf("chance = %v, want 0.75", got)
	}
}
