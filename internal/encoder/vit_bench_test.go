package encoder

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"os"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/nn"
)

// BenchmarkTrainStep measures one classification train step (forward,
// backward, AdamW) of a named size.
func BenchmarkTrainStep(b *testing.B) {
	for _, tc := range []struct {
		size  string
		batch int
	}{{"mini", 128}, {"mini-hybrid", 128}, {"tiny", 8}} {
		b.Run(fmt.Sprintf("%s/batch=%d", tc.size, tc.batch), func(b *testing.B) {
			cfg, _ := Size(tc.size)
			backend, err := backend.New(os.Getenv("GOMLX_BACKEND"))
			if err != nil {
				b.Fatal(err)
			}
			store := model.NewStore()
			opt := nn.DefaultAdamW(1000, 10)
			exec, err := model.NewExec(backend, store, func(scope *model.Scope, images, labels *Node) *Node {
				feat := ClassToken(Forward(scope.In("encoder"), cfg, images))
				logits := nn.Dense(scope.In("head"), feat, 10, true)
				loss := ReduceAllMean(Neg(ReduceSum(Mul(OneHot(labels, 10, logits.DType()), LogSoftmax(logits, -1)), -1)))
				opt.Update(scope, loss)
				return loss
			})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			img := make([]float32, tc.batch*cfg.ImageSize*cfg.ImageSize*cfg.Channels)
			for i := range img {
				img[i] = float32(rng.NormFloat64())
			}
			lab := make([]int32, tc.batch)
			it := tensors.FromFlatDataAndDimensions(img, tc.batch, cfg.ImageSize, cfg.ImageSize, cfg.Channels)
			lt := tensors.FromFlatDataAndDimensions(lab, tc.batch)
			if _, err := exec.Exec(it, lt); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				out, err := exec.Exec(it, lt)
				if err != nil {
					b.Fatal(err)
				}
				out[0].FinalizeAll()
			}
			b.ReportMetric(float64(tc.batch)*float64(b.N)/b.Elapsed().Seconds(), "img/s")
			b.ReportMetric(3*cfg.GFLOPs()*float64(tc.batch)*float64(b.N)/b.Elapsed().Seconds(), "GFLOP/s")
		})
	}
}
