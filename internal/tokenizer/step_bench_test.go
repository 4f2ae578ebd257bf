package tokenizer

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/testutil"
	"github.com/irgen/irgen/internal/train"
)

// BenchmarkTrainStep times the tokenizer's training step with the
// quantization losses (as after its codebooks are made), on inputs made
// once, on the backend $GOMLX_BACKEND names: the rate that
// train-tokenizer's closing line ("N steps in …, img/s") is to be set
// against (mini-hybrid, 10 classes, batch 128).
func BenchmarkTrainStep(b *testing.B) {
	be, enc := testutil.StepBench(b)
	m, err := New(be, DefaultConfig(enc, 10), 1)
	if err != nil {
		b.Fatal(err)
	}
	tc := DefaultTrainConfig()
	exec, err := newStepExec(m, stepOptimizer(tc, 1000, 100), true)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	images := make([]float32, tc.Batch*enc.ImageSize*enc.ImageSize*enc.Channels)
	for i := range images {
		images[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, tc.Batch)
	for i := range labels {
		labels[i] = int32(rng.IntN(10))
	}
	step := func() {
		if _, err := train.Exec(exec, tensors.FromFlatDataAndDimensions(images, tc.Batch, enc.ImageSize, enc.ImageSize, enc.Channels),
			tensors.FromFlatDataAndDimensions(labels, tc.Batch)); err != nil {
			b.Fatal(err)
		}
	}
	step() // compile
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(tc.Batch*b.N)/b.Elapsed().Seconds(), "img/s")
}
