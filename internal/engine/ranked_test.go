package engine

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// rankBySort is Rank as a full sort: the reference the bounded heap must
// match.
func rankBySort(cs []Candidate, lambda float64, k int, exclude func(id int) bool) []Hit {
	score := func(c Candidate) float64 { return rankScore(c, lambda) }
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b Candidate) int {
		if c := cmp.Compare(score(b), score(a)); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
	var hits []Hit
	for _, c := range cs {
		if len(hits) == k {
			break
		}
		if exclude == nil || !exclude(c.Index) {
			hits = append(hits, Hit{Index: c.Index, Score: float32(score(c))})
		}
	}
	return hits
}

// TestRankMatchesSort checks Rank against the full sort on random
// candidates with tied scores, duplicates of the query, deleted images
// (−Inf), NaN, exclusions and every k from 0 past the count.
func TestRankMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := rng.IntN(60)
		cs := make([]Candidate, n)
		for i := range cs {
			c := Candidate{Index: rng.IntN(1000), Sim: float32(rng.IntN(8)) / 8, Prior: float32(rng.IntN(3)) / 2}
			switch rng.IntN(12) {
			case 0:
				c.Sim = 1
			case 1:
				c.Sim = float32(math.Inf(-1))
			case 2:
				c.Sim = float32(math.NaN())
			}
			cs[i] = c
		}
		lambda := []float64{0, 0.1, 1}[trial%3]
		var exclude func(int) bool
		if trial%2 == 1 {
			exclude = func(id int) bool { return id%5 == 0 }
		}
		for k := range n + 2 {
			got, want := Rank(cs, lambda, k, exclude), rankBySort(cs, lambda, k, exclude)
			if !slices.EqualFunc(got, want, func(a, b Hit) bool {
				return a.Index == b.Index && (a.Score == b.Score || a.Score != a.Score && b.Score != b.Score)
			}) {
				t.Fatalf("trial %d, k %d, λ %g: Rank %v; sorted %v", trial, k, lambda, got, want)
			}
		}
	}
}
