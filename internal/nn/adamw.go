package nn

import (
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// OptimizerScope is where AdamW keeps its step counter and moments. It is
// saved with the model so that training resumes exactly.
const OptimizerScope = "/adamw"

// AdamW is decoupled-weight-decay Adam (Loshchilov & Hutter) with a linear
// warm-up followed by a cosine decay, and per-scope learning-rate
// multipliers (IRGen trains its encoder at 1% of the head's rate).
type AdamW struct {
	LR           float64 // peak learning rate
	WarmupLR     float64 // learning rate at step 0 of the warm-up
	MinLR        float64 // learning rate at the end of the cosine decay
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64
	WarmupSteps  int
	TotalSteps   int
	ClipNorm     float64 // clip the global gradient norm to this when > 0

	// Multipliers scales the learning rate of every variable whose path
	// starts with the key ("/encoder" → 0.01). The longest match wins.
	Multipliers map[string]float64
}

// DefaultAdamW returns the IRGen settings: betas (0.9, 0.96), weight decay
// 0.05, peak rate 5e-4 reached from 5e-7 by linear warm-up.
func DefaultAdamW(totalSteps, warmupSteps int) AdamW {
	return AdamW{
		LR: 5e-4, WarmupLR: 5e-7, MinLR: 1e-6,
		Beta1: 0.9, Beta2: 0.96, Eps: 1e-8, WeightDecay: 0.05,
		WarmupSteps: warmupSteps, TotalSteps: totalSteps,
	}
}

func (o AdamW) scheduleGraph(step *Node) *Node {
	g := step.Graph()
	warm := float64(max(o.WarmupSteps, 0))
	span := float64(max(o.TotalSteps-o.WarmupSteps, 1))
	warmLR := AddScalar(MulScalar(step, (o.LR-o.WarmupLR)/math.Max(warm, 1)), o.WarmupLR)
	p := MinScalar(MulScalar(AddScalar(step, -warm), 1/span), 1)
	cosLR := AddScalar(MulScalar(OnePlus(Cos(MulScalar(p, math.Pi))), 0.5*(o.LR-o.MinLR)), o.MinLR)
	if o.WarmupSteps <= 0 {
		return cosLR
	}
	return Where(LessOrEqual(step, Scalar(g, dtypes.Float32, warm)), warmLR, cosLR)
}

func (o AdamW) multiplier(path string) float64 {
	best, m := -1, 1.0
	for prefix, v := range o.Multipliers {
		if strings.HasPrefix(path, prefix) && len(prefix) > best {
			best, m = len(prefix), v
		}
	}
	return m
}

// decays reports whether weight decay applies: not to biases, norm gains,
// embeddings tokens or codebooks, as in timm.
func decays(v *model.Variable) bool {
	switch v.Name() {
	case "bias", "gain", "cls", "pos", "query_pos", "token_embed":
		return false
	}
	return v.Shape().Rank() >= 2 && !strings.Contains(v.Scope(), "/rq")
}

// Update adds to loss's graph the gradient step for every trainable
// variable under scope. It returns the learning rate used at this step.
func (o AdamW) Update(scope *model.Scope, loss *Node) *Node {
	g := loss.Graph()
	store := scope.Store()
	stepVar := store.Scope(OptimizerScope).VariableWithValue("step", float32(0)).SetTrainable(false)
	step := OnePlus(stepVar.NodeValue(g))
	stepVar.SetNodeValue(step)
	lr := o.scheduleGraph(step)

	var vars []*model.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	if o.ClipNorm > 0 {
		var sq *Node
		for _, gr := range grads {
			s := ReduceAllSum(Square(gr))
			if sq == nil {
				sq = s
			} else {
				sq = Add(sq, s)
			}
		}
		scale := Min(Scalar(g, dtypes.Float32, 1), Div(Scalar(g, dtypes.Float32, o.ClipNorm), AddScalar(Sqrt(sq), 1e-6)))
		for i := range grads {
			grads[i] = Mul(grads[i], scale)
		}
	}
	// The bias corrections are scalars: w ← w·(1 − r·wd) − r·c1 · m / (√s·√c2 + eps)
	// with c1 = 1/(1 − β1^t), c2 = 1/(1 − β2^t), the same update as
	// r·(m·c1 / (√(s·c2) + eps) + wd·w) in fewer passes over each weight.
	debias1 := Reciprocal(OneMinus(Pow(Scalar(g, dtypes.Float32, o.Beta1), step)))
	rootDebias2 := Sqrt(Reciprocal(OneMinus(Pow(Scalar(g, dtypes.Float32, o.Beta2), step))))
	for i, v := range vars {
		grad := grads[i]
		mVar := store.VariableWithShape(OptimizerScope+"/m"+v.Path(), v.Shape(), Zeros).SetTrainable(false)
		vVar := store.VariableWithShape(OptimizerScope+"/v"+v.Path(), v.Shape(), Zeros).SetTrainable(false)
		m := Add(MulScalar(mVar.NodeValue(g), o.Beta1), MulScalar(grad, 1-o.Beta1))
		s := Add(MulScalar(vVar.NodeValue(g), o.Beta2), MulScalar(Square(grad), 1-o.Beta2))
		mVar.SetNodeValue(m)
		vVar.SetNodeValue(s)
		vlr := MulScalar(lr, o.multiplier(v.Path()))
		dir := Div(m, AddScalar(Mul(Sqrt(s), rootDebias2), o.Eps))
		value := v.NodeValue(g)
		if o.WeightDecay > 0 && decays(v) {
			value = Mul(value, OneMinus(MulScalar(vlr, o.WeightDecay)))
		}
		v.SetNodeValue(Sub(value, Mul(Mul(vlr, debias1), dir)))
	}
	return lr
}
