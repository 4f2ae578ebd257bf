package eval

import (
	"math"
	"testing"
)

func TestSeed004Metrics(t *testing.T) {
	// Query label 1; ranks 1, 3 and 4 are relevant.
	ret := []int{1, 0, 1, 1, 2}
	tests := []struct {
		name   string
		k, rel int
		recall float64 // hits in top k / rel
		ap     float64 // Σ P@r·rel(r) / k
	}{
		// k=1: hit at rank 1 → P@1 = 1.
		{"k=1", 1, 10, 1.0 / 10, 1.0 / 1},
		// k=2: hit at 1 → 1; rank 2 misses.
		{"k=2", 2, 10, 1.0 / 10, 1.0 / 2},
		// k=4: hits at 1 (1/1), 3 (2/3), 4 (3/4) → 29/12, over 4.
		{"k=4", 4, 10, 3.0 / 10, (1 + 2.0/3 + 3.0/4) / 4},
		// k=5: rank 5 misses; sum as above, over 5.
		{"k=5", 5, 3, 3.0 / 3, (1 + 2.0/3 + 3.0/4) / 5},
		// k=8 beyond the list: missing ranks are misses.
		{"k=8", 8, 4, 3.0 / 4, (1 + 2.0/3 + 3.0/4) / 8},
		{"k=0", 0, 4, 0, 0},
		{"no relevant", 4, 0, 0, (1 + 2.0/3 + 3.0/4) / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClassRecallAtK(ret, 1, tt.k, tt.rel); math.Abs(got-tt.recall) > 1e-12 {
				t.Errorf("ClassRecallAtK = %v; want %v", got, tt.recall)
			}
			if got := APOverKAtK(ret, 1, tt.k); math.Abs(got-tt.ap) > 1e-12 {
				t.Errorf("APOverKAtK = %v; want %v", got, tt.ap)
			}
		})
	}
}

// With at least k relevant items seed 004's mAP@k is this package's
// MAP@k; with fewer it is smaller.
func TestAPOverKAgreesWithAPAtK(t *testing.T) {
	ret := []int{1, 0, 1, 1, 2, 1, 0, 0, 1, 1}
	for k := 1; k <= len(ret); k++ {
		if got, want := APOverKAtK(ret, 1, k), APAtK(ret, 1, k, 100); math.Abs(got-want) > 1e-12 {
			t.Errorf("k=%d: APOverKAtK = %v; APAtK with 100 relevant = %v", k, got, want)
		}
	}
	perfect := []int{1, 1, 1}
	if got, want := APOverKAtK(perfect, 1, 10), 0.3; math.Abs(got-want) > 1e-12 {
		t.Errorf("3 of 3 relevant at k=10: APOverKAtK = %v; want %v", got, want)
	}
	if got := APAtK(perfect, 1, 10, 3); got != 1 {
		t.Errorf("3 of 3 relevant at k=10: APAtK = %v; want 1", got)
	}
	// Seed 004's top-k accuracy and precision are RecallAtK and PrecisionAtK.
	if got := RecallAtK([]int{0, 0, 1}, 1, 3); got != 1 {
		t.Errorf("top-3 accuracy = %v; want 1", got)
	}
	if got := PrecisionAtK([]int{0, 0, 1}, 1, 3); math.Abs(got-1.0/3) > 1e-12 {
		t.Errorf("precision@3 = %v; want 1/3", got)
	}
}
