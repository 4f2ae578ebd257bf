package cli

import (
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
	m := func(p1, p10, r10, ap float64) map[string]float64 {
		return map[string]float64{"P@1": p1, "P@10": p10, "R@10": r10, "MAP@100": ap}
	}
	for _, tc := range []struct {
		name    string
		metrics []map[string]float64
		want    int
	}{
		{"weight 0 best", []map[string]float64{m(0.9, 0.9, 0.9, 0.9), m(0.95, 0.95, 0.89, 0.95)}, 0},
		{"better everywhere", []map[string]float64{m(0.9, 0.9, 0.9, 0.9), m(0.91, 0.9, 0.9, 0.92), m(0.92, 0.93, 0.9, 0.95)}, 2},
		{"best mean lowers one", []map[string]float64{m(0.9, 0.9, 0.9, 0.9), m(0.91, 0.91, 0.9, 0.91), m(0.99, 0.99, 0.899, 0.99)}, 1},
	} {
		if got := pickLambda(tc.metrics); got != tc.want {
			t.Errorf("%s: picked %d; want %d", tc.name, got, tc.want)
		}
	}
}
