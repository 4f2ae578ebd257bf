package engine

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/semid"
)

func TestRank(t *testing.T) {
	cs := []Candidate{
		{Index: 0, Sim: 0.90, Prior: 0},
		{Index: 1, Sim: 0.85, Prior: 1},
		{Index: 2, Sim: 0.80, Prior: 0.5},
		{Index: 3, Sim: 0.70, Prior: 1},
	}
	for _, tc := range []struct {
		lambda float64
		want   []int
	}{
		{0, []int{0, 1, 2, 3}},
		{0.1, []int{1, 0, 2, 3}},    // 0.95, 0.90, 0.85, 0.80
		{0.3, []int{1, 3, 2, 0}},    // 1.15, 1.00, 0.95, 0.90
		{1, []int{1, 3, 2, 0}},      // 1.85, 1.70, 1.30, 0.90
		{0.0999, []int{1, 0, 2, 3}}, // 0.94999 > 0.90
	} {
		got := indexes(Rank(append([]Candidate(nil), cs...), tc.lambda, 10, nil))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("lambda %g: order (-want +got):\n%s", tc.lambda, diff)
		}
	}
	got := indexes(Rank(append([]Candidate(nil), cs...), 0.1, 2, func(id int) bool { return id == 1 }))
	if diff := cmp.Diff([]int{0, 2}, got); diff != "" {
		t.Errorf("k 2 without 1: (-want +got):\n%s", diff)
	}
}

func TestRankDuplicateFirst(t *testing.T) {
	cs := []Candidate{{Index: 5, Sim: 0.95, Prior: 1}, {Index: 9, Sim: 1, Prior: 0}}
	got := indexes(Rank(cs, 1, 2, nil))
	if diff := cmp.Diff([]int{9, 5}, got); diff != "" {
		t.Errorf("the query's duplicate is not first (-want +got):\n%s", diff)
	}
}

func indexes(hs []Hit) []int {
	out := make([]int, len(hs))
	for i, h := range hs {
		out[i] = h.Index
	}
	return out
}

func TestBeamProbs(t *testing.T) {
	hs := []beam.Hypothesis{{Score: math.Log(0.5)}, {Score: math.Log(0.3)}, {Score: math.Log(0.2)}}
	got := beamProbs(hs)
	want := []float64{0.5, 0.3, 0.2}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("p[%d] = %v; want %v", i, got[i], want[i])
		}
	}
	// Scores of a truncated beam: renormalized over the beam.
	got = beamProbs([]beam.Hypothesis{{Score: -1000}, {Score: -1000}})
	if got[0] != 0.5 || got[1] != 0.5 {
		t.Errorf("equal scores: %v; want 0.5, 0.5", got)
	}
	if len(beamProbs(nil)) != 0 {
		t.Error("empty beam")
	}
}

func TestAgreement(t *testing.T) {
	hs := []beam.Hypothesis{{ID: semid.ID{1, 2, 3, 4}}, {ID: semid.ID{1, 2, 9, 9}}, {ID: semid.ID{7, 2, 3, 4}}}
	probs := []float64{0.5, 0.3, 0.2}
	for _, tc := range []struct {
		id   semid.ID
		want float64
	}{
		{semid.ID{1, 2, 3, 4}, 0.5*1 + 0.3*0.5 + 0}, // equal, 2 shared, none
		{semid.ID{1, 2, 9, 0}, 0.5*0.5 + 0.3*0.75},  // 2 shared, 3 shared
		{semid.ID{7, 2, 3, 5}, 0.2 * 0.75},          // 3 shared with the last
		{semid.ID{8, 2, 3, 4}, 0},                   // first token differs from all
	} {
		got := agreement(tc.id, hs, probs)
		if math.Abs(float64(got)-tc.want) > 1e-6 {
			t.Errorf("agreement(%v) = %v; want %v", tc.id, got, tc.want)
		}
	}
}
