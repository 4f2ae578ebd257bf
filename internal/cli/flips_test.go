package cli

import (
	"path/filepath"
	"testing"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/store"
)

// mirroredClasses returns 200 16×16 images of two classes that are each
// other's mirror image: a bright column near the left or the right edge.
func mirroredClasses() (*dataset.Gray, []int) {
	g := &dataset.Gray{W: 16, H: 16, Pix: make([]uint8, 200*256), Labels: make([]int, 200)}
	idx := make([]int, 200)
	for i := range idx {
		idx[i], g.Labels[i] = i, i%2
		x := []int{2 + i%3, 13 - i%3}[i%2]
		for y := range 16 {
			g.Pixels(i)[y*16+x] = 255
		}
	}
	return g, idx
}

func TestFlips(t *testing.T) {
	g, idx := mirroredClasses()
	tf := imageproc.Transform{Size: 16, Channels: 1, Flip: true}
	for _, tc := range []struct {
		mode     string
		recorded *bool // transform already in the model (a resumed run)
		want     bool
	}{
		{"auto", nil, false}, // mirrored classes: the check turns flips off
		{"on", nil, true},
		{"off", nil, false},
		{"auto", new(true), true}, // resuming: what the model was started with
	} {
		b, err := store.Create(filepath.Join(t.TempDir(), "m"))
		if err != nil {
			t.Fatal(err)
		}
		if tc.recorded != nil {
			old := tf
			old.Flip = *tc.recorded
			b.SetConfig(cfgTransform, old)
		}
		f := tokenizerFlags{flip: tc.mode, seed: 1}
		got, err := f.flips(b, g, idx, tf)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("--flip %s (recorded %v): flips %v, want %v", tc.mode, tc.recorded, got, tc.want)
		}
	}
}
