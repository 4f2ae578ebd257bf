package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// adamwRef is AdamW in float64 as Loshchilov & Hutter (and PyTorch) write
// it: m, v moments with bias correction, the decay applied to the weight
// times the rate, with AdamW's warm-up then cosine schedule.
type adamwRef struct {
	o    AdamW
	m, v map[string][]float64
}

func (r *adamwRef) rate(step int) float64 {
	o := r.o
	if step <= o.WarmupSteps && o.WarmupSteps > 0 {
		return o.WarmupLR + float64(step)*(o.LR-o.WarmupLR)/float64(o.WarmupSteps)
	}
	p := math.Min(float64(step-o.WarmupSteps)/float64(max(o.TotalSteps-o.WarmupSteps, 1)), 1)
	return o.MinLR + 0.5*(o.LR-o.MinLR)*(1+math.Cos(math.Pi*p))
}

// step applies step number step (from 1) to w with gradient g.
func (r *adamwRef) step(name string, step int, w, g []float64, decay bool, mult float64) {
	o := r.o
	if r.m[name] == nil {
		r.m[name], r.v[name] = make([]float64, len(w)), make([]float64, len(w))
	}
	m, v := r.m[name], r.v[name]
	lr := r.rate(step) * mult
	c1, c2 := 1-math.Pow(o.Beta1, float64(step)), 1-math.Pow(o.Beta2, float64(step))
	for i := range w {
		m[i] = o.Beta1*m[i] + (1-o.Beta1)*g[i]
		v[i] = o.Beta2*v[i] + (1-o.Beta2)*g[i]*g[i]
		u := (m[i] / c1) / (math.Sqrt(v[i]/c2) + o.Eps)
		if decay {
			u += o.WeightDecay * w[i]
		}
		w[i] -= lr * u
	}
}

// TestAdamW runs AdamW.Update for six steps on the loss Σ c ⊙ w² of a
// decayed kernel under a scope with a rate multiplier and an undecayed
// bias, and checks the weights after every step against adamwRef: the
// warm-up, the cosine decay, the bias correction, the decoupled decay,
// the multiplier and the decay exclusions.
func TestAdamW(t *testing.T) {
	be := testBackend(t)
	r := rand.New(rand.NewPCG(45, 46))
	const n = 12
	kernel, bias, c := randn(r, n), randn(r, 3), randn(r, n)
	opt := DefaultAdamW(5, 2)
	opt.LR, opt.WarmupLR, opt.WeightDecay = 0.05, 0.001, 0.1
	opt.Multipliers = map[string]float64{"/enc": 0.5}
	store := model.NewStore()
	kv := store.VariableWithValue("/enc/kernel", tensors.FromFlatDataAndDimensions(kernel, 4, 3))
	bv := store.VariableWithValue("/head/bias", tensors.FromFlatDataAndDimensions(bias, 3))
	exec := model.MustNewExec(be, store, func(scope *model.Scope, g *Graph) *Node {
		cw := Const(g, tensors.FromFlatDataAndDimensions(c, 4, 3))
		k, b := kv.NodeValue(g), bv.NodeValue(g)
		loss := Add(ReduceAllSum(Mul(cw, Square(k))), ReduceAllSum(Square(b)))
		return opt.Update(scope, loss)
	})
	ref := &adamwRef{o: opt, m: map[string][]float64{}, v: map[string][]float64{}}
	wk, wb := float64s(kernel), float64s(bias)
	for step := 1; step <= 6; step++ {
		gk, gb := make([]float64, n), make([]float64, len(wb))
		for i := range wk {
			gk[i] = 2 * float64(c[i]) * wk[i]
		}
		for i := range wb {
			gb[i] = 2 * wb[i]
		}
		ref.step("kernel", step, wk, gk, true, 0.5)
		ref.step("bias", step, wb, gb, false, 1)
		lr := tensors.ToScalar[float32](exec.MustExec()[0])
		if want := ref.rate(step); math.Abs(float64(lr)-want) > 1e-6*(1+want) {
			t.Errorf("step %d: rate %v; want %v", step, lr, want)
		}
		for _, w := range []struct {
			name string
			got  []float32
			want []float64
		}{
			{"kernel", tensors.MustCopyFlatData[float32](kv.MustValue()), wk},
			{"bias", tensors.MustCopyFlatData[float32](bv.MustValue()), wb},
		} {
			for i := range w.want {
				if math.Abs(float64(w.got[i])-w.want[i]) > 1e-5*(1+math.Abs(w.want[i])) {
					t.Fatalf("step %d: %s[%d] = %v; want %v", step, w.name, i, w.got[i], w.want[i])
				}
			}
		}
	}
}

func float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
