package decoder

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/testutil"
	"github.com/irgen/irgen/internal/tokenizer"
	"github.com/irgen/irgen/internal/train"
)

// tokenizerVars returns the variables of an untrained tokenizer over enc,
// created by encoding one image: the encoder a decoder starts from (and,
// frozen, keeps).
func tokenizerVars(b *testing.B, be compute.Backend, enc encoder.Config) *model.Store {
	tok, err := tokenizer.New(be, tokenizer.DefaultConfig(enc, 10), 1)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tok.Features(make([]float32, enc.ImageSize*enc.ImageSize*enc.Channels), 1); err != nil {
		b.Fatal(err)
	}
	return tok.Vars
}

// BenchmarkTrainStep times the decoder's training step alone, on inputs
// made once, on the backend $GOMLX_BACKEND names: the rate that
// train-decoder's closing line ("N steps in …, img/s") is to be set
// against (the default decoder over the mini-hybrid encoder, M 4, L 256,
// batch 128; encoder frozen, the default, or trained at 0.01 of the rate).
func BenchmarkTrainStep(b *testing.B) {
	for _, mult := range []float64{0, 0.01} {
		b.Run(fmt.Sprintf("encoder-lr-mult=%g", mult), func(b *testing.B) {
			be, enc := testutil.StepBench(b)
			m, err := New(be, DefaultConfig(4, 256), enc, tokenizerVars(b, be, enc), 1)
			if err != nil {
				b.Fatal(err)
			}
			tc := DefaultTrainConfig()
			tc.EncoderLRMult = mult
			exec, err := newStepExec(m, stepOptimizer(m, tc, 1000, 100))
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			in := newStepInput(m, tc.Batch)
			for i := range in.images {
				in.images[i] = float32(rng.NormFloat64())
			}
			for i := range in.codes {
				in.codes[i] = int32(rng.IntN(m.Config.L))
			}
			noise := newStepNoise(m, tc.Batch)
			step := func() {
				args := []any{tensors.FromFlatDataAndDimensions(in.images, tc.Batch, enc.ImageSize, enc.ImageSize, enc.Channels),
					tensors.FromFlatDataAndDimensions(in.codes, tc.Batch, m.Config.M)}
				if _, err := train.Exec(exec, append(args, noise.draw(rng)...)...); err != nil {
					b.Fatal(err)
				}
			}
			step() // compile
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(tc.Batch*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
