package eval

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// ranked is the running example: relevant (label 1) at ranks 1, 3 and 4.
var ranked = []int{1, 0, 1, 1, 0}

func TestPrecisionAtK(t *testing.T) {
	tests := []struct {
		name      string
		retrieved []int
		label, k  int
		want      float64
	}{
		{"top1", ranked, 1, 1, 1},          // 1/1
		{"top3", ranked, 1, 3, 2.0 / 3},    // ranks 1,3 relevant: 2/3
		{"top5", ranked, 1, 5, 0.6},        // 3/5
		{"short list", ranked, 1, 10, 0.3}, // 3 hits, 5 retrieved, divided by k=10
		{"other label", ranked, 0, 5, 0.4}, // ranks 2,5: 2/5
		{"no hits", ranked, 7, 5, 0},       // 0/5
		{"empty", nil, 1, 5, 0},            // 0/5
		{"k=0", ranked, 1, 0, 0},           // defined as 0
	}
	for _, tt := range tests {
		if got := PrecisionAtK(tt.retrieved, tt.label, tt.k); !near(got, tt.want) {
			t.Errorf("%s: PrecisionAtK = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// TestFractionAtK checks the fraction of relevant items retrieved on
// hand-counted cases.
func TestFractionAtK(t *testing.T) {
	late := []int{0, 0, 1, 1, 0, 1}
	for _, tt := range []struct {
		k, relevant int
		want        float64
	}{
		{3, 4, 0.25}, {4, 4, 0.5}, {6, 3, 1}, {50, 6, 0.5}, {0, 4, 0}, {3, 0, 0},
	} {
		if got := FractionAtK(late, 1, tt.k, tt.relevant); got != tt.want {
			t.Errorf("FractionAtK(k %d, %d relevant) = %v; want %v", tt.k, tt.relevant, got, tt.want)
		}
	}
}

func TestRecallAtK(t *testing.T) {
	late := []int{0, 0, 1}
	tests := []struct {
		name      string
		retrieved []int
		k         int
		want      float64
	}{
		{"hit at 1", ranked, 1, 1},
		{"miss in top 2", late, 2, 0}, // labels 0,0
		{"hit at 3", late, 3, 1},      // label 1 at rank 3
		{"k past end", late, 50, 1},
		{"empty", nil, 5, 0},
		{"k=0", ranked, 0, 0},
	}
	for _, tt := range tests {
		if got := RecallAtK(tt.retrieved, 1, tt.k); got != tt.want {
			t.Errorf("%s: RecallAtK = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestAPAtK(t *testing.T) {
	tests := []struct {
		name      string
		retrieved []int
		k, numRel int
		want      float64
	}{
		// Relevant at ranks 1,3,4: P@1=1, P@3=2/3, P@4=3/4, sum 29/12;
		// divided by min(5,4)=4 → 29/48 = 0.604167.
		{"k=5 rel=4", ranked, 5, 4, 29.0 / 48},
		// Only rank 1 within k=2: sum 1, divided by min(2,4)=2 → 0.5.
		{"k=2 rel=4", ranked, 2, 4, 0.5},
		// All 3 relevant items retrieved: 29/12 / min(100,3)=3 → 29/36.
		{"k=100 rel=3", ranked, 100, 3, 29.0 / 36},
		// Perfect top 3 with 10 relevant: (1+1+1)/min(3,10) = 1.
		{"perfect", []int{1, 1, 1, 0}, 3, 10, 1},
		// Single relevant item at rank 3: (1/3)/min(5,1) = 1/3.
		{"one at rank 3", []int{0, 0, 1, 0}, 5, 1, 1.0 / 3},
		{"no relevant", ranked, 5, 0, 0},
		{"k=0", ranked, 0, 4, 0},
		{"nothing retrieved", nil, 5, 4, 0},
	}
	for _, tt := range tests {
		if got := APAtK(tt.retrieved, 1, tt.k, tt.numRel); !near(got, tt.want) {
			t.Errorf("%s: APAtK = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestHitAtK(t *testing.T) {
	ids := []int{5, 3, 9}
	tests := []struct {
		target, k int
		want      float64
	}{
		{3, 1, 0}, // top 1 is 5
		{3, 2, 1}, // 3 at rank 2
		{9, 10, 1},
		{4, 10, 0},
		{5, 0, 0},
	}
	for _, tt := range tests {
		if got := HitAtK(ids, tt.target, tt.k); got != tt.want {
			t.Errorf("HitAtK(%v, %d, %d) = %v; want %v", ids, tt.target, tt.k, got, tt.want)
		}
	}
}
