package cli

import (
	"math"
	"testing"

	"github.com/irgen/irgen/internal/dataset"
)

func TestHoldOut(t *testing.T) {
	// 3 classes of 100, 40 and 4 images.
	var labels []int
	var paths []string
	for c, n := range []int{100, 40, 4} {
		for range n {
			labels = append(labels, c)
			paths = append(paths, "x")
		}
	}
	s := &dataset.Files{Paths: paths, Labels: labels}
	tr, val, err := holdOut(s, 0.1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr)+len(val) != len(labels) {
		t.Fatalf("%d + %d images; want %d", len(tr), len(val), len(labels))
	}
	per := map[int]int{}
	seen := map[int]bool{}
	for _, i := range val {
		per[labels[i]]++
		seen[i] = true
	}
	for _, i := range tr {
		if seen[i] {
			t.Fatalf("image %d both trained on and held out", i)
		}
	}
	// 10% of each class, rounded; none of a class under five images.
	if per[0] != 10 || per[1] != 4 || per[2] != 0 {
		t.Errorf("held out per class %v; want 10, 4, 0", per)
	}
	tr2, val2, _ := holdOut(s, 0.1, 1)
	if len(tr2) != len(tr) || val2[0] != val[0] || val2[len(val2)-1] != val[len(val)-1] {
		t.Error("the same seed held out other images")
	}
	if tr, val, _ := holdOut(s, 0, 1); len(val) != 0 || len(tr) != len(labels) {
		t.Errorf("share 0 held out %d images", len(val))
	}
	for _, frac := range []float64{-0.1, 0.5, 2} {
		if _, _, err := holdOut(s, frac, 1); err == nil {
			t.Errorf("share %g accepted", frac)
		}
	}
}

func TestHoldOutBounded(t *testing.T) {
	n := 60000
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	_, val, err := holdOut(&dataset.Files{Paths: make([]string, n), Labels: labels}, 0.05, 1)
	if err != nil || len(val) != maxVal {
		t.Errorf("held out %d of %d (%v); want %d", len(val), n, err, maxVal)
	}
}

func TestPickLambda(t *testing.T) {
	// queries returns n queries scoring s and m scoring r.
	queries := func(n int, s queryScores, m int, r queryScores) []queryScores {
		qs := make([]queryScores, 0, n+m)
		for range n {
			qs = append(qs, s)
		}
		for range m {
			qs = append(qs, r)
		}
		return qs
	}
	lo, hi := queryScores{0, 0.5, 1, 0.5}, queryScores{1, 0.9, 1, 0.9}
	base := queries(100, lo, 100, hi)
	for _, tc := range []struct {
		name string
		per  [][]queryScores
		want int
	}{
		{"only weight 0", [][]queryScores{base}, 0},
		{"no gain", [][]queryScores{base, base}, 0},
		// 40 of 200 queries better, none worse: gain 0.2·1.3/4, far above 2 standard errors.
		{"clear gain", [][]queryScores{base, queries(60, lo, 140, hi)}, 1},
		// The same gain on 100 queries: too few to choose a weight on.
		{"too few queries", [][]queryScores{queries(50, lo, 50, hi), queries(30, lo, 70, hi)}, 0},
		// One query of 200 better: the gain is within 2 standard errors.
		{"gain within noise", [][]queryScores{base, queries(99, lo, 101, hi)}, 0},
		// The larger of two clear gains wins.
		{"larger gain", [][]queryScores{base, queries(60, lo, 140, hi), queries(20, lo, 180, hi)}, 2},
		// A large gain that lowers one metric's mean is not taken.
		{"lowers R@10", [][]queryScores{base, append(queries(0, lo, 199, hi), queryScores{1, 1, 0, 1})}, 0},
	} {
		if got := pickLambda(tc.per); got != tc.want {
			t.Errorf("%s: picked %d; want %d", tc.name, got, tc.want)
		}
	}
}

func TestGain(t *testing.T) {
	// Differences of the metrics' mean: 1, 0, -1, 0 → mean 0, sample
	// variance 2/3, standard error sqrt(2/3/4).
	one := queryScores{1, 1, 1, 1}
	var zero queryScores
	a := []queryScores{one, zero, zero, zero}
	b := []queryScores{zero, zero, one, zero}
	m, se := gain(a, b)
	if math.Abs(m) > 1e-12 || math.Abs(se-math.Sqrt(2.0/3/4)) > 1e-12 {
		t.Errorf("gain = %v ± %v; want 0 ± %v", m, se, math.Sqrt(2.0/3/4))
	}
}
