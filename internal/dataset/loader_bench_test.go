package dataset

import (
	"math/rand/v2"
	"testing"

	"github.com/irgen/irgen/internal/imageproc"
)

// BenchmarkFill is a training batch's input as the tokenizer loads it:
// 128 Fashion-MNIST-sized gray images through the random crop and flip,
// on two workers. Set against the step's compute, it is what train.Ahead
// overlaps.
func BenchmarkFill(b *testing.B) {
	const n, size = 1024, 28
	rng := rand.New(rand.NewPCG(1, 1))
	g := &Gray{W: size, H: size, Pix: make([]uint8, n*size*size), Labels: make([]int, n)}
	for i := range g.Pix {
		g.Pix[i] = uint8(rng.IntN(256))
	}
	t := imageproc.DefaultTransform(size, 1)
	t.ScaleMin = 0.85
	l := NewLoader(g, t, 2)
	idx := rng.Perm(n)[:128]
	images, labels := make([]float32, 128*t.Len()), make([]int32, 128)
	b.ResetTimer()
	for i := range b.N {
		if err := l.Fill(idx, int64(i), images, labels); err != nil {
			b.Fatal(err)
		}
	}
}
