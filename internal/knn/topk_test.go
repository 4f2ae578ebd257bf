package knn

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTopKMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{0, 1, 5, 50, 500} {
		for _, k := range []int{0, 1, 3, 10, 600} {
			all := make([]Result, n)
			top := NewTopK(k)
			// Few distinct scores, so ties are everywhere. Ids arrive in
			// random order to exercise the id tie-break in the heap.
			for i, id := range r.Perm(n) {
				all[i] = Result{ID: id, Score: float32(r.IntN(7))}
				top.Push(all[i].ID, all[i].Score)
			}
			slices.SortFunc(all, func(a, b Result) int {
				if better(a, b) {
					return -1
				}
				return 1
			})
			want := all[:min(k, n)]
			got := top.AppendSorted(nil)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("n=%d k=%d mismatch (-want +got):\n%s", n, k, diff)
			}
			if top.Len() != 0 {
				t.Fatalf("Len after AppendSorted = %d; want 0", top.Len())
			}
		}
	}
}

func TestTopKNaN(t *testing.T) {
	top := NewTopK(2)
	top.Push(0, float32(math.NaN()))
	top.Push(1, 1)
	top.Push(2, 2)
	got := top.AppendSorted(nil)
	want := []Result{{2, 2}, {1, 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NaN mismatch (-want +got):\n%s", diff)
	}
}

func TestTopKZeroAllocs(t *testing.T) {
	top := NewTopK(10)
	dst := make([]Result, 0, 10)
	allocs := testing.AllocsPerRun(100, func() {
		top.Reset(10)
		for i := range 100 {
			top.Push(i, float32(i%13))
		}
		dst = top.AppendSorted(dst[:0])
	})
	if allocs != 0 {
		t.Errorf("TopK allocates %v times per run; want 0", allocs)
	}
}

func TestHits(t *testing.T) {
	want := []Result{{ID: 1}, {ID: 5}, {ID: 9}}
	got := []Result{{ID: 9}, {ID: 2}, {ID: 1}, {ID: 7}}
	if n := Hits(want, got); n != 2 {
		t.Errorf("Hits = %d; want 2", n)
	}
	if n := Hits(nil, got); n != 0 {
		t.Errorf("Hits(nil, got) = %d; want 0", n)
	}
}

// TestScores checks Scores against Search's scores of the same rows (up to
// rounding: other kernels), for every metric, with scattered, repeated and
// deleted ids, and its refusal of an id out of range.
func TestScores(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	const n, dim = 60, 20
	data := randMatrix(r, n, dim)
	for _, metric := range metrics {
		ix := newIndex(t, dim, metric, data)
		if err := ix.Delete(7); err != nil {
			t.Fatal(err)
		}
		q := randMatrix(r, 1, dim)
		all, err := ix.Search(q, n)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]float32{}
		for _, res := range all {
			want[res.ID] = res.Score
		}
		ids := []int{3, 59, 7, 0, 3, 41, 12, 7, 25}
		out := make([]float32, len(ids))
		if err := ix.Scores(q, ids, out); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			if id == 7 {
				if !math.IsInf(float64(out[i]), -1) {
					t.Errorf("metric %v: deleted row scores %v; want -Inf", metric, out[i])
				}
				continue
			}
			if d := math.Abs(float64(out[i] - want[id])); d > 1e-4*(1+math.Abs(float64(want[id]))) {
				t.Errorf("metric %v: Scores[%d] (row %d) = %v; Search %v", metric, i, id, out[i], want[id])
			}
		}
		if err := ix.Scores(q, []int{1, n}, make([]float32, 2)); !errors.Is(err, ErrID) {
			t.Errorf("metric %v: id %d: err = %v; want ErrID", metric, n, err)
		}
	}
}
