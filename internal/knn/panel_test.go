package knn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// exactRef is a row's float64 score and the rounding its float32 score
// may carry.
type exactRef struct {
	id       int
	score    float64
	rounding float64
}

// exactRefs scores every row of data not skipped against q in float64,
// best first.
func exactRefs(data []float32, dim int, metric Metric, q []float32, skip func(id int) bool) []exactRef {
	var qq float64
	for _, v := range q {
		qq += float64(v) * float64(v)
	}
	var all []exactRef
	for id := 0; id*dim < len(data); id++ {
		if skip != nil && skip(id) {
			continue
		}
		row := data[id*dim : (id+1)*dim]
		var abs, xx float64
		for i, v := range row {
			abs += math.Abs(float64(q[i]) * float64(v))
			xx += float64(v) * float64(v)
		}
		if metric == Cosine && qq > 0 && xx > 0 {
			abs /= math.Sqrt(qq * xx)
		}
		all = append(all, exactRef{id, exactScore(metric, q, row), 4e-7*abs*math.Sqrt(float64(dim)) + 1e-6})
	}
	slices.SortStableFunc(all, func(a, b exactRef) int { return -cmpFloat(a.score, b.score) })
	return all
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkExact checks got, a query's top k, against float64 scores of every
// row that skip does not report: each score within rounding of its
// float64 value, best first, and the i-th result as good as the i-th best
// row up to rounding, so that only rows that tie within rounding may
// trade places.
func checkExact(t *testing.T, name string, got []Result, data []float32, dim int, metric Metric, q []float32, k int, skip func(id int) bool) {
	t.Helper()
	all := exactRefs(data, dim, metric, q, skip)
	byID := map[int]exactRef{}
	for _, r := range all {
		byID[r.id] = r
	}
	if len(got) != min(k, len(all)) {
		t.Fatalf("%s: %d results; want %d", name, len(got), min(k, len(all)))
	}
	seen := map[int]bool{}
	for i, g := range got {
		r, ok := byID[g.ID]
		switch {
		case !ok || seen[g.ID]:
			t.Fatalf("%s: result %d is row %d: skipped or repeated", name, i, g.ID)
		case math.Abs(float64(g.Score)-r.score) > r.rounding:
			t.Fatalf("%s: row %d scores %v; float64 %v", name, g.ID, g.Score, r.score)
		case i > 0 && better(g, got[i-1]):
			t.Fatalf("%s: result %d %+v ranks before result %d %+v", name, i, g, i-1, got[i-1])
		case math.Abs(r.score-all[i].score) > r.rounding+all[i].rounding:
			t.Fatalf("%s: result %d is row %d of score %v; the %d-th best row %d scores %v", name, i, g.ID, r.score, i, all[i].id, all[i].score)
		}
		seen[g.ID] = true
	}
}

// TestSearchBatchPanels checks the panel path of SearchBatchExclude
// against float64 scores over tiles, parts of the gallery, partial panels,
// deleted and excluded rows and widths below and above a vector.
func TestSearchBatchPanels(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct{ n, dim, nq, k int }{
		{1000, 5, 9, 3}, {777, 33, 40, 10}, {2000, 128, 600, 10}, {300, 16, 20, 400},
	} {
		data := randMatrix(r, c.n, c.dim)
		qs := randMatrix(r, c.nq, c.dim)
		for _, metric := range []Metric{Cosine, InnerProduct} {
			ix := newIndex(t, c.dim, metric, data)
			for id := 0; id < c.n; id += 11 {
				if err := ix.Delete(id); err != nil {
					t.Fatal(err)
				}
			}
			exclude := func(q, id int) bool { return (q+id)%5 == 0 }
			for _, workers := range []int{1, 2, 3} {
				got, err := ix.SearchBatchExclude(qs, c.k, workers, exclude)
				if err != nil {
					t.Fatal(err)
				}
				p := planPanels(c.nq, c.n, c.dim, workers)
				for q := 0; q < c.nq; q += 1 + c.nq/50 {
					name := fmt.Sprintf("%v n=%d d=%d nq=%d workers=%d (%d tiles × %d parts) query %d", metric, c.n, c.dim, c.nq, workers, p.tiles, p.parts, q)
					skip := func(id int) bool { return id%11 == 0 || exclude(q, id) }
					checkExact(t, name, got[q], data, c.dim, metric, qs[q*c.dim:(q+1)*c.dim], c.k, skip)
				}
			}
		}
	}
}

// TestPlanPanels checks that a plan covers the queries and gives every
// worker the same share of each tile.
func TestPlanPanels(t *testing.T) {
	for _, nq := range []int{8, 16, 17, 500, 1000, 1500, 5000} {
		for _, workers := range []int{1, 2, 3, 4} {
			p := planPanels(nq, 100000, 128, workers)
			if p.tile%16 != 0 || p.tiles*p.tile < nq || (p.tiles-1)*p.tile >= nq || p.block%6 != 0 {
				t.Errorf("nq %d: tiles of %d × %d, blocks of %d rows", nq, p.tiles, p.tile, p.block)
			}
			if p.parts != workers {
				t.Errorf("nq %d workers %d: %d tiles × %d parts", nq, workers, p.tiles, p.parts)
			}
		}
	}
}

// TestAttach checks an index over rows it shares with their owner: it
// finds what an index of copied rows finds, grows as the owner's slice
// grows, keeps no copy, and never writes into the owner's array.
func TestAttach(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	const n, dim = 500, 24
	owned := randMatrix(r, n, dim)
	for _, metric := range metrics {
		copied := newIndex(t, dim, metric, owned)
		shared, _ := New(dim, metric)
		rows := owned[: (n-100)*dim : (n-100)*dim]
		if err := shared.Attach(rows); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, owned[(n-100)*dim:]...) // moves to a new array
		if err := shared.Attach(rows); err != nil || shared.Len() != n {
			t.Fatalf("Attach of %d rows: Len %d, %v", n, shared.Len(), err)
		}
		qs := randMatrix(r, 12, dim)
		want, _ := copied.SearchBatch(qs, 7, 2)
		got, _ := shared.SearchBatch(qs, 7, 2)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v: shared rows search differently (-copied +shared):\n%s", metric, diff)
		}
		spare := make([]float32, dim, 2*dim)
		if err := shared.Attach(append(rows, spare...)[:len(rows)]); err != nil {
			t.Fatal(err)
		}
		if err := shared.Add(randMatrix(r, 1, dim)); err != nil {
			t.Fatal(err)
		}
		if shared.Len() != n+1 || rows[len(rows)-1] != owned[len(owned)-1] {
			t.Errorf("%v: Add after Attach: Len %d", metric, shared.Len())
		}
		if err := shared.Attach(rows[:dim]); !errors.Is(err, ErrDim) {
			t.Errorf("%v: Attach of fewer rows: %v; want ErrDim", metric, err)
		}
		if err := shared.Attach(make([]float32, (n+1)*dim+1)); !errors.Is(err, ErrDim) {
			t.Errorf("%v: Attach of a ragged matrix: %v; want ErrDim", metric, err)
		}
	}
}

// TestAttachKeepsNoCopy checks the bytes an index of shared rows
// allocates per row: its inverse norm and deleted flag, not the row.
func TestAttachKeepsNoCopy(t *testing.T) {
	const n, dim = 20000, 128
	data := randMatrix(rand.New(rand.NewPCG(25, 26)), n, dim)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ix, _ := New(dim, Cosine)
	if err := ix.Attach(data); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if per := float64(after.TotalAlloc-before.TotalAlloc) / n; per > 8 {
		t.Errorf("Attach allocated %.1f bytes per row; want ≤ 8 (inverse norm and deleted flag)", per)
	}
	runtime.KeepAlive(ix)
}
