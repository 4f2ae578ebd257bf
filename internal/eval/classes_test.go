package eval

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestByClassMatchesAccumulator checks each class's averages against an
// Accumulator fed only that class's queries, and a hand-computed case.
func TestByClassMatchesAccumulator(t *testing.T) {
	ks := []int{1, 5}
	rng := rand.New(rand.NewPCG(1, 2))
	bc, err := NewByClass([]string{"a", "b"}, ks, 10)
	if err != nil {
		t.Fatal(err)
	}
	ref := map[int]*Accumulator{}
	for range 200 {
		ql := rng.IntN(3) // label 2 has no name
		got := make([]int, 10)
		for i := range got {
			got[i] = rng.IntN(3)
		}
		bc.Add(got, ql, 7)
		if ref[ql] == nil {
			ref[ql], _ = New(ks, 10)
		}
		ref[ql].Add(got, ql, 7)
	}
	res := bc.Results()
	if len(res) != 3 {
		t.Fatalf("%d classes; want 3", len(res))
	}
	for l, name := range []string{"a", "b", "2"} {
		want := ref[l].Result()
		wantC := ClassResult{Class: name, Scores: want.Scores}
		if diff := cmp.Diff(wantC, res[l]); diff != "" {
			t.Errorf("class %d (-want +got):\n%s", l, diff)
		}
	}

	one, _ := NewByClass([]string{"a", "b"}, []int{1, 2}, 2)
	one.Add([]int{0, 1}, 0, 1) // hit at 1
	one.Add([]int{1, 0}, 0, 1) // hit at 2
	one.Add([]int{1, 1}, 1, 2) // hits at 1 and 2
	got := one.Results()
	if p := got[0].Precision[1]; p != 0.5 {
		t.Errorf("class a P@1 = %g; want 0.5", p)
	}
	if p := got[0].Precision[2]; p != 0.5 {
		t.Errorf("class a P@2 = %g; want 0.5", p)
	}
	if p := got[1].Precision[2]; p != 1 || got[1].Queries != 1 {
		t.Errorf("class b P@2 = %g over %d queries; want 1 over 1", p, got[1].Queries)
	}
}

func TestByClassRejectsCutoffs(t *testing.T) {
	if _, err := NewByClass(nil, []int{0}, 10); err == nil {
		t.Error("cutoff 0 accepted")
	}
	if _, err := NewByClass(nil, []int{1}, 0); err == nil {
		t.Error("MAP cutoff 0 accepted")
	}
}

func TestClassMarkdown(t *testing.T) {
	cr := func(name string, p, m float64) ClassResult {
		return ClassResult{Class: name, Scores: Scores{Queries: 4, Precision: map[int]float64{1: p, 10: 0}, MAP: map[int]float64{100: m}}}
	}
	results := []Result{
		{Method: "irgen", Scores: Scores{Precision: map[int]float64{10: 0, 1: 0}, MAP: map[int]float64{100: 0}}, Classes: []ClassResult{cr("Coat", 0.75, 0.5), cr("a|b", 1, 0.25)}},
		{Method: "knn", Scores: Scores{Precision: map[int]float64{1: 0}, MAP: map[int]float64{100: 0}}, Classes: []ClassResult{cr("Coat", 0.5, 0.125)}},
		{Method: "dsi"}, // no classes: left out
	}
	var b strings.Builder
	if err := ClassMarkdown(&b, results); err != nil {
		t.Fatal(err)
	}
	want := `| class | queries | irgen P@1 | irgen MAP@100 | knn P@1 | knn MAP@100 |
| :--- | ---: | ---: | ---: | ---: | ---: |
| Coat | 4 | 0.7500 | 0.5000 | 0.5000 | 0.1250 |
| a\|b | 4 | 1.0000 | 0.2500 | – | – |
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	b.Reset()
	if err := ClassMarkdown(&b, results[2:]); err != nil || b.Len() != 0 {
		t.Errorf("no classes: %q, %v; want nothing", b.String(), err)
	}
}
