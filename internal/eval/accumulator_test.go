package eval

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAccumulator(t *testing.T) {
	acc, err := New([]int{5, 1, 5}, 5)
	if err != nil {
		t.Fatal(err)
	}
	acc.Method = "knn"
	// q1: P@1=1, P@5=3/5, R@1=1, R@5=1, AP@5=29/48 (see TestAPAtK).
	acc.Add([]int{1, 0, 1, 1, 0}, 1, 4)
	// q2: relevant only at rank 3: P@1=0, P@5=1/5, R@1=0, R@5=1,
	// AP@5 = (1/3)/min(5,1) = 1/3.
	acc.Add([]int{0, 0, 2, 0, 0}, 2, 1)
	acc.AddLatency(2*time.Millisecond, 6*time.Millisecond)
	acc.AddLatency(4*time.Millisecond, 8*time.Millisecond)

	want := Result{
		Method: "knn",
		Scores: Scores{
			Queries:   2,
			Precision: map[int]float64{1: 0.5, 5: 0.4},           // (1+0)/2, (0.6+0.2)/2
			Recall:    map[int]float64{1: 0.5, 5: 1},             // (1+0)/2, (1+1)/2
			MAP:       map[int]float64{5: (29.0/48 + 1.0/3) / 2}, // 0.46875
		},
		Fraction:   map[int]float64{1: 0.125, 5: 0.875}, // (1/4+0)/2, (3/4+1/1)/2
		MsEncode:   3,                                   // (2+4)/2
		MsSearch:   7,                                   // (6+8)/2
		MsPerQuery: 10,                                  // 3+7
	}
	got := acc.Result()
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("Result mismatch (-want +got):\n%s", diff)
	}

	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"method":"knn","queries":2,"precision":{"1":0.5,"5":0.4},"recall":{"1":0.5,"5":1},"map":{"5":0.46875},"fraction":{"1":0.125,"5":0.875},"ms_per_query":10,"ms_encode":3,"ms_search":7}`
	if string(b) != wantJSON {
		t.Errorf("JSON = %s; want %s", b, wantJSON)
	}
}

func TestAccumulatorEmpty(t *testing.T) {
	acc, err := New([]int{1, 10}, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := acc.Result()
	want := Result{
		Scores: Scores{
			Precision: map[int]float64{1: 0, 10: 0},
			Recall:    map[int]float64{1: 0, 10: 0},
			MAP:       map[int]float64{100: 0},
		},
		Fraction: map[int]float64{1: 0, 10: 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("empty Result mismatch (-want +got):\n%s", diff)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("empty Result does not marshal: %v", err)
	}
}

func TestAccumulatorMerge(t *testing.T) {
	whole, _ := New([]int{1, 5}, 5)
	a, _ := New([]int{1, 5}, 5)
	b, _ := New([]int{1, 5}, 5)
	queries := []struct {
		labels        []int
		label, numRel int
	}{
		{[]int{1, 0, 1, 1, 0}, 1, 4},
		{[]int{0, 0, 2, 0, 0}, 2, 1},
		{[]int{3, 3}, 3, 2},
	}
	for i, q := range queries {
		whole.Add(q.labels, q.label, q.numRel)
		whole.AddLatency(time.Millisecond, time.Duration(i)*time.Millisecond)
		part := a
		if i > 0 {
			part = b
		}
		part.Add(q.labels, q.label, q.numRel)
		part.AddLatency(time.Millisecond, time.Duration(i)*time.Millisecond)
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(whole.Result(), a.Result(), cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("merged Result mismatch (-whole +merged):\n%s", diff)
	}
	other, _ := New([]int{1}, 5)
	if err := a.Merge(other); err == nil {
		t.Error("Merge with different cutoffs succeeded; want error")
	}
}

func TestNewErrors(t *testing.T) {
	for _, tt := range []struct {
		ks   []int
		mapK int
	}{{[]int{0, 1}, 10}, {[]int{-3}, 10}, {[]int{1}, 0}} {
		if _, err := New(tt.ks, tt.mapK); !errors.Is(err, ErrK) {
			t.Errorf("New(%v, %d) error = %v; want ErrK", tt.ks, tt.mapK, err)
		}
	}
}
