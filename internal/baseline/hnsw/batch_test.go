package hnsw

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/knn"
)

// TestBuild checks that Build makes node i of row i, as Append in order
// does, reports progress and stops when cancelled.
func TestBuild(t *testing.T) {
	const n, dim = 3000, 8
	data := clustered(1, n, dim, 10)
	var done []int
	ix, err := Build(context.Background(), data, dim, DefaultConfig(), func(d int) { done = append(done, d) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{1024, 2048, n}, done); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	one, err := New(dim, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := one.Append(data[i*dim : (i+1)*dim]); err != nil {
			t.Fatal(err)
		}
	}
	q := clustered(2, 1, dim, 10)
	got, _ := ix.Search(q, 10)
	want, _ := one.Search(q, 10)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Build and Append differ (-want +got):\n%s", diff)
	}
	if _, err := Build(context.Background(), data[:13], dim, DefaultConfig(), nil); !errors.Is(err, knn.ErrDim) {
		t.Errorf("13 values of dim 8: got %v, want ErrDim", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, data, dim, DefaultConfig(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
}

// TestSearchBatchExclude checks the batch search against one Search per
// query, and the filtered search against exact search: excluded and
// deleted nodes never come back, and k do whenever k are left.
func TestSearchBatchExclude(t *testing.T) {
	const n, nq, dim, k = 2000, 40, 16, 10
	data := clustered(3, n, dim, 20)
	ix, err := Build(context.Background(), data, dim, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	qs := clustered(4, nq, dim, 20)
	got, err := ix.SearchBatch(qs, k, 3)
	if err != nil {
		t.Fatal(err)
	}
	for q := range nq {
		want, _ := ix.Search(qs[q*dim:(q+1)*dim], k)
		if diff := cmp.Diff(want, got[q]); diff != "" {
			t.Fatalf("query %d: batch and single search differ (-want +got):\n%s", q, diff)
		}
	}

	// Exclude the 30 nearest of every query: the graph must be asked
	// again, for more.
	exact, _ := knn.New(dim, knn.Cosine)
	exact.Add(data)
	near, _ := exact.SearchBatch(qs, 30, 0)
	excluded := make([]map[int]bool, nq)
	for q, rs := range near {
		excluded[q] = map[int]bool{}
		for _, r := range rs {
			excluded[q][r.ID] = true
		}
	}
	for i := 0; i < n; i += 7 {
		if err := ix.Delete(i); err != nil {
			t.Fatal(err)
		}
	}
	exclude := func(q, id int) bool { return excluded[q][id] }
	got, err = ix.SearchBatchExclude(qs, k, 0, exclude)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := exact.SearchBatchExclude(qs, k, 0, func(q, id int) bool { return exclude(q, id) || id%7 == 0 })
	var hit int
	for q, rs := range got {
		if len(rs) != k {
			t.Fatalf("query %d: %d results, want %d", q, len(rs), k)
		}
		ids := map[int]bool{}
		for _, r := range want[q] {
			ids[r.ID] = true
		}
		for _, r := range rs {
			if exclude(q, r.ID) || r.ID%7 == 0 {
				t.Fatalf("query %d: excluded or deleted node %d returned", q, r.ID)
			}
			if ids[r.ID] {
				hit++
			}
		}
	}
	if r := float64(hit) / (nq * k); r < 0.9 {
		t.Errorf("recall@%d after exclusion %.3f against exact search", k, r)
	}

	// Excluding all but three nodes leaves three.
	few, err := ix.SearchBatchExclude(qs[:dim], k, 1, func(_, id int) bool { return id > 3 })
	if err != nil {
		t.Fatal(err)
	}
	if len(few[0]) != 3 {
		t.Errorf("%d results with three live nodes not excluded, want 3", len(few[0]))
	}

	for _, tc := range []struct {
		qs   []float32
		k    int
		want error
	}{{qs[:dim+1], k, knn.ErrDim}, {qs, 0, knn.ErrK}} {
		if _, err := ix.SearchBatch(tc.qs, tc.k, 0); !errors.Is(err, tc.want) {
			t.Errorf("%d values, k %d: got %v, want %v", len(tc.qs), tc.k, err, tc.want)
		}
	}
}
