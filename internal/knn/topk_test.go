package knn

import (
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
