package tokenizer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/testutil"
)

// classifierPath is the cosine classifier's kernel [FeatureDim, Classes].
const classifierPath = HeadScope + "/classifier/kernel"

// lossCase is the input of featureLoss: features f [B, FeatureDim] with
// labels [B], the classifier kernel w and the codebooks cb [M, L, F].
type lossCase struct {
	c      Config
	f      []float64
	labels []int32
	w, cb  []float64
}

// lossOut is what the graph computes: the terms of Losses, and the
// gradients of Total with respect to f, w and (when quantizing) cb.
type lossOut struct {
	terms
	gradF, gradW, gradCB []float64
}

func f32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// runLoss evaluates featureLoss and its gradients on the pure-Go backend.
func runLoss(t *testing.T, lc lossCase, quantize bool) lossOut {
	t.Helper()
	c, b := lc.c, len(lc.labels)
	store := model.NewStore()
	w, err := store.CreateVariable(classifierPath, tensors.FromFlatDataAndDimensions(f32(lc.w), c.FeatureDim, c.Classes))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := store.CreateVariable(CodebookPath, tensors.FromFlatDataAndDimensions(f32(lc.cb), c.M, c.L, c.FeatureDim))
	if err != nil {
		t.Fatal(err)
	}
	exec, err := model.NewExec(testutil.Backend(t), store, func(scope *model.Scope, f, labels *Node) []*Node {
		l := featureLoss(scope, c, f, labels, quantize)
		wrt := []*Node{f, w.NodeValue(f.Graph())}
		if quantize {
			wrt = append(wrt, cb.NodeValue(f.Graph()))
		}
		return append([]*Node{l.Total, l.Classify, l.Reconstruct, l.Commit, l.Accuracy}, Gradient(l.Total, wrt...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(tensors.FromFlatDataAndDimensions(f32(lc.f), b, c.FeatureDim), tensors.FromFlatDataAndDimensions(lc.labels, b))
	if err != nil {
		t.Fatal(err)
	}
	if n := store.NumVariables(); n != 2 {
		t.Fatalf("the loss made %d variables; want the 2 the test set (classifier, codebooks)", n)
	}
	scalar := func(i int) float64 { return float64(tensors.ToScalar[float32](res[i])) }
	out := lossOut{terms: terms{total: scalar(0), classify: scalar(1), reconstruct: scalar(2), commit: scalar(3), accuracy: scalar(4)},
		gradF: f64(tensors.MustCopyFlatData[float32](res[5])), gradW: f64(tensors.MustCopyFlatData[float32](res[6]))}
	if quantize {
		out.gradCB = f64(tensors.MustCopyFlatData[float32](res[7]))
	}
	return out
}

// softplus is log(1 + e^z): the cross-entropy of two classes whose logits
// differ by z, wrong minus right.
func softplus(z float64) float64 { return math.Log1p(math.Exp(z)) }

// handCase is worked out on paper. Features f0 = (1, 0) label 0,
// f1 = (0.6, 0.8) label 1, f2 = (0.8, -0.6) label 1; the classifier's
// columns are e0 and e1, so the logits are 2·normalize(x). Level 0 holds
// (1, 0) and (0, 1), level 1 (0.2, 0.1) and (-0.3, -0.4).
//
// Level 0: f0 → code 0 (squared distances 0, 2), f1 → 1 (0.8, 0.4),
// f2 → 0 (0.4, 3.2). Residuals (0, 0), (0.6, -0.2), (-0.2, -0.6).
// Level 1: f0 → 0 (0.05, 0.25), f1 → 0 (0.25, 0.85), f2 → 1 (0.65, 0.05).
// Partial reconstructions: level 0 (1, 0), (0, 1), (1, 0); level 1
// (1.2, 0.1), (0.2, 1.1), (0.7, -0.4).
var handCase = lossCase{
	c:      Config{FeatureDim: 2, Classes: 2, M: 2, L: 2, Scale: 2, RQWeight: 0.5, CommitWeight: 0.25},
	f:      []float64{1, 0, 0.6, 0.8, 0.8, -0.6},
	labels: []int32{0, 1, 1},
	w:      []float64{1, 0, 0, 1},
	cb:     []float64{1, 0, 0, 1, 0.2, 0.1, -0.3, -0.4},
}

func TestLossByHand(t *testing.T) {
	// Logits of the features: (2, 0), (1.2, 1.6), (1.6, -1.2); f2 is the
	// one misclassified.
	classify := (softplus(-2) + softplus(-0.4) + softplus(2.8)) / 3
	// Level 0 reconstructions (1, 0) label 0, (0, 1) label 1, (1, 0)
	// label 1; level 1 the normalized partial sums above.
	level0 := (softplus(-2) + softplus(-2) + softplus(2)) / 3
	level1 := (softplus(2*(0.1-1.2)/math.Sqrt(1.45)) + softplus(2*(0.2-1.1)/math.Sqrt(1.25)) + softplus(2*(0.7+0.4)/math.Sqrt(0.65))) / 3
	// Squared residual-to-codeword distances: level 0: 0, 0.4, 0.4;
	// level 1: 0.05, 0.25, 0.05; mean 1.15/6. Both VQ terms have this
	// value; the commitment one is weighted by β.
	vq := 1.15 / 6
	tests := []struct {
		name     string
		quantize bool
		rqWeight float64
		want     terms
	}{
		{"classification only", false, 0.5, terms{classify, classify, 0, 0, 2.0 / 3}},
		{"quantized", true, 0.5, terms{classify + 0.5*(level0+level1) + 1.25*vq, classify, level0 + level1, 1.25 * vq, 2.0 / 3}},
		// RQWeight 0 (seed 000's ablation) leaves the reconstruction
		// losses out of the total, not the VQ terms.
		{"rq weight 0", true, 0, terms{classify + 1.25*vq, classify, level0 + level1, 1.25 * vq, 2.0 / 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lc := handCase
			lc.c.RQWeight = tc.rqWeight
			got := runLoss(t, lc, tc.quantize)
			checkTerms(t, "", got.terms, tc.want, func(float64) float64 { return 1e-5 })
		})
	}
}

// terms are the tokenizer objective's terms (Losses), as the graph or
// refLoss computes them.
type terms struct {
	total, classify, reconstruct, commit, accuracy float64
}

// checkTerms reports each term of got that differs from want's by more
// than tol(want), its message prefixed with prefix.
func checkTerms(t *testing.T, prefix string, got, want terms, tol func(want float64) float64) {
	t.Helper()
	for _, v := range []struct {
		name      string
		got, want float64
	}{
		{"total", got.total, want.total},
		{"classify", got.classify, want.classify},
		{"reconstruct", got.reconstruct, want.reconstruct},
		{"commit", got.commit, want.commit},
		{"accuracy", got.accuracy, want.accuracy},
	} {
		if math.Abs(v.got-v.want) > tol(v.want) {
			t.Errorf("%s%s = %.7f; want %.7f", prefix, v.name, v.got, v.want)
		}
	}
}

// refLoss computes the tokenizer objective in float64 from its
// definition (seed 000 §3): the cosine-classifier cross-entropy of the
// features x, RQWeight times that of each of the M partial
// reconstructions, and the VQ terms ‖sg(r) − c‖² + β‖r − sg(c)‖². Values
// behind a stop-gradient are taken from xs and cbs (which also choose the
// codes), the others from x and cb: at x = xs, cb = cbs it is the loss,
// and its partial derivatives in x, w and cb are the gradients a training
// step must follow.
func refLoss(c Config, x, xs, w, cb, cbs []float64, labels []int32, quantize bool) terms {
	f, k, b := c.FeatureDim, c.Classes, len(labels)
	wn := slices.Clone(w) // columns normalized
	for j := range k {
		var s float64
		for i := range f {
			s += w[i*k+j] * w[i*k+j]
		}
		for i := range f {
			wn[i*k+j] = w[i*k+j] / math.Sqrt(s)
		}
	}
	// ce returns the mean cross-entropy of the rows of v and the fraction
	// classified right.
	ce := func(v []float64) (loss, acc float64) {
		for r := range b {
			row := v[r*f : (r+1)*f]
			norm := math.Sqrt(dot64(row, row))
			logits := make([]float64, k)
			best := 0
			for j := range k {
				for i := range f {
					logits[j] += c.Scale * row[i] / norm * wn[i*k+j]
				}
				if logits[j] > logits[best] {
					best = j
				}
			}
			var z float64
			for _, l := range logits {
				z += math.Exp(l - logits[best])
			}
			loss += logits[best] + math.Log(z) - logits[labels[r]]
			if best == int(labels[r]) {
				acc++
			}
		}
		return loss / float64(b), acc / float64(b)
	}
	var out terms
	out.classify, out.accuracy = ce(x)
	out.total = out.classify
	if !quantize {
		return out
	}
	partial := make([][]float64, c.M) // [M][B*F]
	for m := range partial {
		partial[m] = make([]float64, b*f)
	}
	var codebookTerm, commitTerm float64
	for r := range b {
		rs := slices.Clone(xs[r*f : (r+1)*f]) // residual, stopped
		rx := slices.Clone(x[r*f : (r+1)*f])  // residual, differentiable in x
		sum := make([]float64, f)
		for m := range c.M {
			code, bestD := 0, math.Inf(1)
			for l := range c.L {
				if d := sqDist64(rs, cbs[(m*c.L+l)*f:][:f]); d < bestD {
					code, bestD = l, d
				}
			}
			cw := cb[(m*c.L+code)*f:][:f]
			cws := cbs[(m*c.L+code)*f:][:f]
			for i := range f {
				sum[i] += cw[i]
			}
			copy(partial[m][r*f:], sum)
			codebookTerm += sqDist64(rs, cw)
			commitTerm += sqDist64(rx, cws)
			for i := range f {
				rs[i] -= cws[i]
				rx[i] -= cws[i]
			}
		}
	}
	for m := range c.M {
		l, _ := ce(partial[m])
		out.reconstruct += l
	}
	n := float64(c.M * b)
	out.commit = codebookTerm/n + c.CommitWeight*commitTerm/n
	if c.RQWeight > 0 {
		out.total += c.RQWeight * out.reconstruct
	}
	out.total += out.commit
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func sqDist64(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// randomLossCase draws unit features, a Gaussian classifier and
// codebooks, and labels.
func randomLossCase(seed uint64) lossCase {
	rng := rand.New(rand.NewPCG(seed, 3))
	c := Config{FeatureDim: 4, Classes: 3, M: 3, L: 3, Scale: 4, RQWeight: 0.7, CommitWeight: 0.25}
	const b = 5
	normal := func(n int, std float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = std * rng.NormFloat64()
		}
		return x
	}
	x := normal(b*c.FeatureDim, 1)
	for r := range b {
		row := x[r*c.FeatureDim : (r+1)*c.FeatureDim]
		norm := math.Sqrt(dot64(row, row))
		for i := range row {
			row[i] /= norm
		}
	}
	labels := make([]int32, b)
	for i := range labels {
		labels[i] = int32(rng.IntN(c.Classes))
	}
	return lossCase{c: c, f: x, labels: labels, w: normal(c.FeatureDim*c.Classes, 1), cb: normal(c.M*c.L*c.FeatureDim, 0.5)}
}

// TestLossMatchesReference checks the graph's terms against refLoss on
// random cases, with and without quantization.
func TestLossMatchesReference(t *testing.T) {
	for seed := range uint64(4) {
		lc := randomLossCase(seed)
		for _, quantize := range []bool{false, true} {
			got := runLoss(t, lc, quantize)
			want := refLoss(lc.c, lc.f, lc.f, lc.w, lc.cb, lc.cb, lc.labels, quantize)
			checkTerms(t, fmt.Sprintf("seed %d quantize %v: ", seed, quantize), got.terms, want,
				func(want float64) float64 { return 1e-5 * math.Max(1, math.Abs(want)) })
		}
	}
}

// TestLossGradients checks the gradients of the total loss with respect
// to the features, the classifier and the codebooks against central
// finite differences of refLoss, whose stop-gradient values stay fixed.
// The codes therefore do not change under the perturbation, and the
// differences measure exactly the straight paths the loss defines: the
// codebooks learn from the reconstruction and codebook terms, the
// features from the classification and commitment terms.
func TestLossGradients(t *testing.T) {
	const h = 1e-5
	for seed := range uint64(3) {
		lc := randomLossCase(seed)
		got := runLoss(t, lc, true)
		check := func(name string, grad, param []float64, loss func(p []float64) float64) {
			t.Helper()
			for i := range param {
				p := slices.Clone(param)
				p[i] = param[i] + h
				up := loss(p)
				p[i] = param[i] - h
				fd := (up - loss(p)) / (2 * h)
				if math.Abs(grad[i]-fd) > 1e-4+1e-3*math.Abs(fd) {
					t.Errorf("seed %d: d total / d %s[%d] = %.6f; finite difference %.6f", seed, name, i, grad[i], fd)
				}
			}
		}
		c, x, w, cb, labels := lc.c, lc.f, lc.w, lc.cb, lc.labels
		check("features", got.gradF, x, func(p []float64) float64 { return refLoss(c, p, x, w, cb, cb, labels, true).total })
		check("classifier", got.gradW, w, func(p []float64) float64 { return refLoss(c, x, x, p, cb, cb, labels, true).total })
		check("codebooks", got.gradCB, cb, func(p []float64) float64 { return refLoss(c, x, x, w, p, cb, labels, true).total })
	}
}
