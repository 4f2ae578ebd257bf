// Package testutil holds what the tests of several packages share: the
// backend they run on, tiny random gray images and a ViT small enough to
// train in a test. Only tests import it.
package testutil

import (
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/nn"
)

var shared = sync.OnceValues(func() (compute.Backend, error) {
	return backend.New(os.Getenv("IRGEN_TEST_BACKEND"))
})

// Backend returns the backend named by $IRGEN_TEST_BACKEND (by default the
// pure-Go one), created once per test binary and shared by its tests.
func Backend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Gray returns n random 8×8 gray images drawn from seed, image i of class
// i % classes, with the key prefix "tiny".
func Gray(n, classes int, seed uint64) *dataset.Gray {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	g := &dataset.Gray{W: 8, H: 8, Pix: make([]uint8, n*64), Labels: make([]int, n), Prefix: "tiny"}
	for i := range g.Pix {
		g.Pix[i] = uint8(rng.IntN(256))
	}
	for i := range g.Labels {
		g.Labels[i] = i % classes
	}
	return g
}

// Loader returns a loader over Gray(n, 3, 5) with the default transform of
// 8×8 gray images, its random crops down to 0.6 of the area.
func Loader(n int) *dataset.Loader {
	tf := imageproc.DefaultTransform(8, 1)
	tf.ScaleMin = 0.6
	return dataset.NewLoader(Gray(n, 3, 5), tf, 1)
}

// Encoder returns a one-block ViT of width 16 over 8×8 gray images (the
// images of Gray), small enough to train in a test.
func Encoder() encoder.Config {
	return encoder.Config{ImageSize: 8, Patch: 4, Channels: 1, Dim: 16, Depth: 1, Heads: 2, MLPDim: 32, Activation: nn.GELU, Eps: 1e-6}
}

// StepBench returns what the train-step benchmarks run on: the backend
// $GOMLX_BACKEND names (as irgen's commands use it) and the mini-hybrid
// encoder, irgen's default.
func StepBench(tb testing.TB) (compute.Backend, encoder.Config) {
	tb.Helper()
	be, err := backend.New(os.Getenv("GOMLX_BACKEND"))
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := encoder.Size("mini-hybrid")
	if err != nil {
		tb.Fatal(err)
	}
	return be, enc
}
