package irt

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/testutil"
)

// lossFn is a loss of embeddings emb [B, D] with labels [B], and, for the
// memory form, a reference set ref [R, D] with labels [R].
type lossFn func(emb, labels, ref, refLabels *Node) *Node

// evalLoss returns the loss and its gradient with respect to emb, in
// float64.
func evalLoss(t *testing.T, f lossFn, emb []float64, d int, labels []int32, ref []float64, refLabels []int32) (float64, []float64) {
	t.Helper()
	b := len(labels)
	args := []any{tensors.FromFlatDataAndDimensions(emb, b, d), tensors.FromFlatDataAndDimensions(labels, b)}
	if ref != nil {
		args = append(args, tensors.FromFlatDataAndDimensions(ref, len(refLabels), d), tensors.FromFlatDataAndDimensions(refLabels, len(refLabels)))
	}
	exec := model.MustNewExec(testutil.Backend(t), model.NewStore(), func(scope *model.Scope, in []*Node) []*Node {
		var r, rl *Node
		if len(in) > 2 {
			r, rl = in[2], in[3]
		}
		loss := f(in[0], in[1], r, rl)
		return []*Node{loss, Gradient(loss, in[0])[0]}
	})
	out := exec.MustExec(args...)
	return tensors.ToScalar[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
}

func contrastive(margin float64) lossFn {
	return func(emb, labels, ref, refLabels *Node) *Node { return Contrastive(emb, labels, ref, refLabels, margin) }
}

func koleo(emb, _, _, _ *Node) *Node { return KoLeo(emb) }

// Four unit vectors in 2-D: e0 = (1, 0), e1 = (0.6, 0.8), e2 = (0, 1),
// e3 = (-0.6, 0.8), labels 0, 0, 1, 1. Cosines: s01 0.6, s02 0, s03 -0.6,
// s12 0.8, s13 0.28, s23 0.8.
var (
	quad       = []float64{1, 0, 0.6, 0.8, 0, 1, -0.6, 0.8}
	quadLabels = []int32{0, 0, 1, 1}
)

func TestContrastiveByHand(t *testing.T) {
	tests := []struct {
		name      string
		margin    float64
		ref       []float64
		refLabels []int32
		want      float64
	}{
		// Positive ordered pairs (0,1), (1,0): 1 - 0.6 = 0.4; (2,3), (3,2):
		// 0.2; mean 1.2/4 = 0.3. Negatives above β = 0.5: (1,2), (2,1)
		// with 0.8 - 0.5 = 0.3; mean 0.3. Total 0.6.
		{"batch", 0.5, nil, nil, 0.6},
		// β = 0.7: the negatives (1,2), (2,1) give 0.1 each: 0.3 + 0.1.
		{"batch margin 0.7", 0.7, nil, nil, 0.4},
		// β = 0.9: no negative above the margin: the positive mean alone.
		{"batch no negatives", 0.9, nil, nil, 0.3},
		// Memory r0 = (1, 0) label 1, r1 = (0, 1) label 0, r2 = e1 empty.
		// Positives: e0·r1 = 0 → 1, e1·r1 = 0.8 → 0.2, e2·r0 = 0 → 1,
		// e3·r0 = -0.6 → 1.6: mean 3.8/4 = 0.95. Negatives above 0.5:
		// e0·r0 = 1 → 0.5, e1·r0 = 0.6 → 0.1, e2·r1 = 1 → 0.5,
		// e3·r1 = 0.8 → 0.3: mean 1.4/4 = 0.35. Total 1.3.
		{"memory", 0.5, []float64{1, 0, 0, 1, 0.6, 0.8}, []int32{1, 0, -1}, 1.3},
		// A positive pair at cosine 1 adds nothing and is not counted:
		// memory r0 = e0 label 0 alone: positives e0 → 0 (dropped),
		// e1 → 0.4: mean 0.4; negatives e2·r0 = 0, e3·r0 = -0.6: none.
		{"memory self pair", 0.5, []float64{1, 0}, []int32{0}, 0.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := evalLoss(t, contrastive(tc.margin), quad, 2, quadLabels, tc.ref, tc.refLabels)
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("loss %.12f; want %.12f", got, tc.want)
			}
		})
	}
}

func TestKoLeoByHand(t *testing.T) {
	// e0, e1, e2 of quad: nearest neighbours 0 → 1 (cos 0.6), 1 → 2
	// (0.8), 2 → 1 (0.8); distances √0.8, √0.4, √0.4.
	got, _ := evalLoss(t, koleo, quad[:6], 2, []int32{0, 0, 1}, nil, nil)
	want := -(0.5*math.Log(0.8) + math.Log(0.4)) / 3
	if math.Abs(got-want) > 1e-5 { // the 1e-6 and 1e-8 epsilons
		t.Errorf("KoLeo %.9f; want %.9f", got, want)
	}
}

// randomCase draws b unit embeddings of dim d and labels in [0, 3) whose
// cosines are all at least 0.02 away from the margin (and from 1), so
// that the losses are smooth around them.
func randomCase(rng *rand.Rand, b, d int, margin float64, ref int) (emb []float64, labels []int32, refEmb []float64, refLabels []int32) {
	unit := func(n int) []float64 {
		x := make([]float64, n*d)
		for i := range n {
			var s float64
			for j := range d {
				v := rng.NormFloat64()
				x[i*d+j] = v
				s += v * v
			}
			for j := range d {
				x[i*d+j] /= math.Sqrt(s)
			}
		}
		return x
	}
	for {
		emb, refEmb = unit(b), unit(ref)
		labels, refLabels = make([]int32, b), make([]int32, ref)
		for i := range labels {
			labels[i] = int32(rng.IntN(3))
		}
		for i := range refLabels {
			refLabels[i] = int32(rng.IntN(4)) - 1 // -1: empty slot
		}
		ok := true
		all := append(append([]float64(nil), emb...), refEmb...)
		for i := range b {
			for j := range b + ref {
				if i == j {
					continue
				}
				var s float64
				for k := range d {
					s += emb[i*d+k] * all[j*d+k]
				}
				ok = ok && math.Abs(s-margin) > 0.02 && s < 0.98
			}
		}
		if ok {
			return
		}
	}
}

// TestGradients compares the graph gradients of the losses with central
// finite differences.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const b, d, margin = 6, 4, 0.3
	emb, labels, ref, refLabels := randomCase(rng, b, d, margin, 5)
	for _, tc := range []struct {
		name string
		f    lossFn
		ref  bool
	}{
		{"contrastive batch", contrastive(margin), false},
		{"contrastive memory", contrastive(margin), true},
		{"koleo", koleo, false},
		{"total", func(e, l, r, rl *Node) *Node {
			return Add(Add(Contrastive(e, l, nil, nil, margin), Contrastive(e, l, r, rl, margin)), MulScalar(KoLeo(e), 0.7))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r []float64
			var rl []int32
			if tc.ref {
				r, rl = ref, refLabels
			}
			loss, grad := evalLoss(t, tc.f, emb, d, labels, r, rl)
			if loss == 0 {
				t.Fatal("zero loss: the case tests nothing")
			}
			const h = 1e-6
			for i := range emb {
				x := append([]float64(nil), emb...)
				x[i] += h
				up, _ := evalLoss(t, tc.f, x, d, labels, r, rl)
				x[i] -= 2 * h
				down, _ := evalLoss(t, tc.f, x, d, labels, r, rl)
				fd := (up - down) / (2 * h)
				if math.Abs(fd-grad[i]) > 1e-5*math.Max(1, math.Abs(fd)) {
					t.Errorf("d loss / d emb[%d]: graph %.8f, finite difference %.8f", i, grad[i], fd)
				}
			}
		})
	}
}
