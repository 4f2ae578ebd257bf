package mrl

import (
	"math"
	"testing"

	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/testutil"
)

func TestEvalMethods(t *testing.T) {
	const dim = 16
	adaptive, funnel := DefaultAdaptive(dim), Cascade{RetrieveDim: 4, RerankDims: []int{8, 16}, Shortlists: []int{600, 600}}
	ms, err := EvalMethods("", []int{8, 16}, dim, adaptive, funnel)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, csv string }{
		{"mrl@8", "exactl2_8dim-%d-NN.csv"},
		{"mrl@16", "exactl2_16dim-%d-NN.csv"},
		{"mrl-adaptive", "16dim-reranked16_200shortlist_exactl2.csv"},
		{"mrl-funnel", "4dim-cascade[8,16]_[600,600]shortlist_exactl2.csv"},
		{"mrl-hnsw", "hnsw_16dim-%d-NN.csv"},
	}
	if len(ms) != len(want) {
		t.Fatalf("got %d methods; want %d", len(ms), len(want))
	}
	for i, w := range want {
		if ms[i].Name != w.name || ms[i].CSV != w.csv || (ms[i].Cascade == nil) != (w.name == "mrl-hnsw") {
			t.Errorf("method %d = %+v; want %s, %s", i, ms[i], w.name, w.csv)
		}
	}
	if ms, err := EvalMethods(" mrl ", nil, dim, adaptive, funnel); err != nil || ms[0].Cascade.RetrieveDim != dim {
		t.Errorf("mrl: %+v, %v; want exact search at %d", ms, err, dim)
	}
	for _, bad := range []string{"mrl@0", "mrl@17", "mrl@x", "nope"} {
		if _, err := EvalMethods(bad, nil, dim, adaptive, funnel); err == nil {
			t.Errorf("EvalMethods(%q): no error", bad)
		}
	}
	if _, err := EvalMethods("mrl", nil, dim, Cascade{RetrieveDim: 17}, funnel); err == nil {
		t.Error("an adaptive cascade wider than the model: no error")
	}
}

// TestEvalScore checks the metrics of two queries against hand-computed
// values.
func TestEvalScore(t *testing.T) {
	src := testutil.Loader(2) // query labels 0, 1
	ev := Eval{Queries: src, Labels: []int32{0, 0, 1, 1, 1}, Ks: []int{1, 2}}
	res := [][]knn.Result{
		{{ID: 0}, {ID: 2}}, // label 0: right, wrong
		{{ID: 0}, {ID: 3}}, // label 1: wrong, right
	}
	r := ev.score(res)
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	// P@1: 1, 0; P@2: ½, ½; class recall@2: ½ (1 of 2), ⅓ (1 of 3);
	// top-2: 1, 1; AP/k@2: (1·1)/2, (½·1)/2.
	if !near(r.Top1, 0.5) || !near(r.Precision[2], 0.5) || !near(r.Recall[2], (0.5+1.0/3)/2) || !near(r.TopK[2], 1) ||
		!near(r.MAP[2], (0.5+0.25)/2) || !near(r.TopK[1], 0.5) {
		t.Errorf("score = %+v", r)
	}
}
