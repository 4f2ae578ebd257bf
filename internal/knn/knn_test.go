package knn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irgen/irgen/internal/vec"
)

var metrics = []Metric{Cosine, InnerProduct, L2}

func randMatrix(r *rand.Rand, n, dim int) []float32 {
	m := make([]float32, n*dim)
	for i := range m {
		m[i] = float32(r.NormFloat64())
	}
	return m
}

// bruteForce scores every row with the same float32 kernels the index uses
// and sorts the lot; it is the reference for the heap-based top-k. Cosine
// scores as the index does, the inner product with the normalized query
// times the row's inverse norm (invNorm); exactScore and checkExact hold
// the scores to float64 cosines.
func bruteForce(data []float32, dim int, metric Metric, q []float32, k int, skip func(id int) bool) []Result {
	q = slices.Clone(q)
	if metric == Cosine {
		vec.Normalize(q)
	}
	var all []Result
	for id := 0; id*dim < len(data); id++ {
		if skip != nil && skip(id) {
			continue
		}
		row := data[id*dim : (id+1)*dim]
		var s float32
		switch metric {
		case Cosine:
			s = vec.Dot(q, row) * invNorm(row)
		case InnerProduct:
			s = vec.Dot(q, row)
		case L2:
			s = -vec.SquaredL2(q, row)
		}
		all = append(all, Result{ID: id, Score: s})
	}
	slices.SortStableFunc(all, func(a, b Result) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return a.ID - b.ID
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}

// exactScore is the float64 score, to check the float32 ones.
func exactScore(metric Metric, q, x []float32) float64 {
	var dot, qq, xx, l2 float64
	for i := range q {
		a, b := float64(q[i]), float64(x[i])
		dot += a * b
		qq += a * a
		xx += b * b
		l2 += (a - b) * (a - b)
	}
	switch metric {
	case Cosine:
		return dot / math.Sqrt(qq*xx)
	case InnerProduct:
		return dot
	}
	return -l2
}

func newIndex(t testing.TB, dim int, metric Metric, data []float32) *Index {
	t.Helper()
	ix, err := New(dim, metric)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Add(data); err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestSearchMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, metric := range metrics {
		for _, dim := range []int{1, 7, 33, 64} {
			for _, n := range []int{1, 10, 257, 1500} {
				t.Run(fmt.Sprintf("%v/d=%d/n=%d", metric, dim, n), func(t *testing.T) {
					data := randMatrix(r, n, dim)
					ix := newIndex(t, dim, metric, data)
					for range 5 {
						q := randMatrix(r, 1, dim)
						for _, k := range []int{1, 10, n + 5} {
							got, err := ix.Search(q, k)
							if err != nil {
								t.Fatal(err)
							}
							want := bruteForce(data, dim, metric, q, k, nil)
							if diff := cmp.Diff(want, got, approxScores); diff != "" {
								t.Fatalf("Search(k=%d) mismatch (-want +got):\n%s", k, diff)
							}
							for _, res := range got {
								e := exactScore(metric, q, data[res.ID*dim:(res.ID+1)*dim])
								if math.Abs(float64(res.Score)-e) > 1e-4*(1+math.Abs(e)) {
									t.Fatalf("score of %d = %v; float64 reference %v", res.ID, res.Score, e)
								}
							}
						}
					}
				})
			}
		}
	}
}

func TestTiesLowerIDFirst(t *testing.T) {
	// Rows 0..9 are five copies each of two vectors, interleaved, so every
	// score appears five times.
	dim := 3
	a, b := []float32{1, 0, 0}, []float32{0, 1, 0}
	var data []float32
	for i := range 10 {
		if i%2 == 0 {
			data = append(data, a...)
		} else {
			data = append(data, b...)
		}
	}
	for _, metric := range metrics {
		ix := newIndex(t, dim, metric, data)
		got, err := ix.Search([]float32{1, 0, 0}, 7)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int, len(got))
		for i, res := range got {
			ids[i] = res.ID
		}
		// The five copies of a (even ids) first, then b by ascending id.
		want := []int{0, 2, 4, 6, 8, 1, 3}
		if !slices.Equal(ids, want) {
			t.Errorf("%v: ids = %v; want %v", metric, ids, want)
		}
	}
}

func TestHandComputed(t *testing.T) {
	// Rows: 0=(1,0) 1=(0,2) 2=(3,4) 3=(-1,0); query (1,1).
	data := []float32{1, 0, 0, 2, 3, 4, -1, 0}
	q := []float32{1, 1}
	tests := []struct {
		metric Metric
		want   []Result
	}{
		// ip: 1, 2, 7, -1.
		{InnerProduct, []Result{{2, 7}, {1, 2}, {0, 1}, {3, -1}}},
		// l2²: (0²+1²)=1, (1²+1²)=2, (2²+3²)=13, (2²+1²)=5.
		{L2, []Result{{0, -1}, {1, -2}, {3, -5}, {2, -13}}},
	}
	for _, tt := range tests {
		ix := newIndex(t, 2, tt.metric, data)
		got, err := ix.Search(q, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v mismatch (-want +got):\n%s", tt.metric, diff)
		}
	}
	// cosine with q/|q| = (0.7071, 0.7071): row 2 → (0.6+0.8)/√2 = 0.98995,
	// rows 0 and 1 → 1/√2 = 0.70711 (tie: lower id first), row 3 → -0.70711.
	ix := newIndex(t, 2, Cosine, data)
	got, err := ix.Search(q, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []int{2, 0, 1, 3}
	wantScores := []float64{1.4 / math.Sqrt2, 1 / math.Sqrt2, 1 / math.Sqrt2, -1 / math.Sqrt2}
	for i, res := range got {
		if res.ID != wantIDs[i] || math.Abs(float64(res.Score)-wantScores[i]) > 1e-6 {
			t.Errorf("cosine[%d] = %+v; want {%d %.5f}", i, res, wantIDs[i], wantScores[i])
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := New(0, L2); !errors.Is(err, ErrDim) {
		t.Errorf("New(0) error = %v; want ErrDim", err)
	}
	if _, err := New(4, Metric(9)); !errors.Is(err, ErrMetric) {
		t.Errorf("New(metric 9) error = %v; want ErrMetric", err)
	}
	ix := newIndex(t, 4, L2, make([]float32, 8))
	if err := ix.Add(make([]float32, 5)); !errors.Is(err, ErrDim) {
		t.Errorf("Add(5 values) error = %v; want ErrDim", err)
	}
	if ix.Len() != 2 {
		t.Errorf("Len after failed Add = %d; want 2", ix.Len())
	}
	if _, err := ix.Search(make([]float32, 3), 1); !errors.Is(err, ErrDim) {
		t.Errorf("Search(dim 3) error = %v; want ErrDim", err)
	}
	for _, k := range []int{0, -1} {
		if _, err := ix.Search(make([]float32, 4), k); !errors.Is(err, ErrK) {
			t.Errorf("Search(k=%d) error = %v; want ErrK", k, err)
		}
		if _, err := ix.SearchBatch(make([]float32, 4), k, 1); !errors.Is(err, ErrK) {
			t.Errorf("SearchBatch(k=%d) error = %v; want ErrK", k, err)
		}
	}
	if _, err := ix.SearchBatch(make([]float32, 6), 1, 1); !errors.Is(err, ErrDim) {
		t.Errorf("SearchBatch(6 values) error = %v; want ErrDim", err)
	}
	for _, id := range []int{-1, 2} {
		if err := ix.Delete(id); !errors.Is(err, ErrID) {
			t.Errorf("Delete(%d) error = %v; want ErrID", id, err)
		}
	}
}

func TestParseMetric(t *testing.T) {
	for _, m := range metrics {
		got, err := ParseMetric(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMetric(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	if _, err := ParseMetric("hamming"); !errors.Is(err, ErrMetric) {
		t.Errorf("ParseMetric(hamming) error = %v; want ErrMetric", err)
	}
}

func TestEmptyIndex(t *testing.T) {
	for _, metric := range metrics {
		ix, err := New(3, metric)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ix.Search([]float32{1, 2, 3}, 5)
		if err != nil || len(got) != 0 {
			t.Errorf("%v: Search on empty = %v, %v; want [], nil", metric, got, err)
		}
		batch, err := ix.SearchBatch([]float32{1, 2, 3, 4, 5, 6}, 5, 2)
		if err != nil || len(batch) != 2 || len(batch[0]) != 0 || len(batch[1]) != 0 {
			t.Errorf("%v: SearchBatch on empty = %v, %v; want [[] []], nil", metric, batch, err)
		}
		batch, err = ix.SearchBatch(nil, 5, 2)
		if err != nil || len(batch) != 0 {
			t.Errorf("%v: SearchBatch(no queries) = %v, %v; want [], nil", metric, batch, err)
		}
	}
}

func TestDelete(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, dim = 300, 8
	data := randMatrix(r, n, dim)
	for _, metric := range metrics {
		ix := newIndex(t, dim, metric, data)
		deleted := map[int]bool{}
		for range 100 {
			id := r.IntN(n)
			deleted[id] = true
			if err := ix.Delete(id); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := ix.Live(), n-len(deleted); got != want {
			t.Errorf("Live = %d; want %d", got, want)
		}
		for range 10 {
			q := randMatrix(r, 1, dim)
			got, err := ix.Search(q, n)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteForce(data, dim, metric, q, n, func(id int) bool { return deleted[id] })
			if diff := cmp.Diff(want, got, approxScores); diff != "" {
				t.Fatalf("%v: Search with deletes mismatch (-want +got):\n%s", metric, diff)
			}
		}
	}
}

func TestSearchBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, metric := range metrics {
		const n, dim, nq, k = 1234, 40, 100, 10
		data := randMatrix(r, n, dim)
		ix := newIndex(t, dim, metric, data)
		for id := 0; id < n; id += 7 {
			if err := ix.Delete(id); err != nil {
				t.Fatal(err)
			}
		}
		qs := randMatrix(r, nq, dim)
		s := ix.NewSearcher()
		for _, workers := range []int{0, 1, 3, 100} {
			got, err := ix.SearchBatch(qs, k, workers)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != nq {
				t.Fatalf("SearchBatch returned %d lists; want %d", len(got), nq)
			}
			for qi := range nq {
				want, err := s.SearchInto(qs[qi*dim:(qi+1)*dim], k, nil)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got[qi], approxScores); diff != "" {
					t.Fatalf("%v workers=%d query %d mismatch (-want +got):\n%s", metric, workers, qi, diff)
				}
			}
		}
	}
}

func TestLeaveOneOut(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, dim, k = 200, 16, 5
	data := randMatrix(r, n, dim)
	for _, metric := range metrics {
		ix := newIndex(t, dim, metric, data)
		got, err := ix.SearchBatchExclude(data, k, 2, func(q, id int) bool { return q == id })
		if err != nil {
			t.Fatal(err)
		}
		s := ix.NewSearcher()
		for qi := range n {
			q := data[qi*dim : (qi+1)*dim]
			want := bruteForce(data, dim, metric, q, k, func(id int) bool { return id == qi })
			if diff := cmp.Diff(want, got[qi], approxScores); diff != "" {
				t.Fatalf("%v query %d batch mismatch (-want +got):\n%s", metric, qi, diff)
			}
			one, err := s.SearchExcluding(q, k, qi, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, one, approxScores); diff != "" {
				t.Fatalf("%v query %d SearchExcluding mismatch (-want +got):\n%s", metric, qi, diff)
			}
		}
	}
}

func TestCosineZeroVector(t *testing.T) {
	ix := newIndex(t, 2, Cosine, []float32{0, 0, 3, 4})
	got, err := ix.Search([]float32{0, 0}, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Everything scores 0 against a zero query; ties go to the lower id.
	want := []Result{{0, 0}, {1, 0}}
	if diff := cmp.Diff(want, got, approxScores); diff != "" {
		t.Errorf("zero query mismatch (-want +got):\n%s", diff)
	}
}

func TestSearchIntoZeroAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n, dim, k = 2000, 64, 10
	data := randMatrix(r, n, dim)
	for _, metric := range metrics {
		ix := newIndex(t, dim, metric, data)
		if err := ix.Delete(3); err != nil {
			t.Fatal(err)
		}
		s := ix.NewSearcher()
		q := randMatrix(r, 1, dim)
		dst := make([]Result, 0, k)
		allocs := testing.AllocsPerRun(50, func() {
			var err error
			dst, err = s.SearchInto(q, k, dst)
			if err != nil {
				t.Fatal(err)
			}
			dst, err = s.SearchExcluding(q, k, 5, dst)
			if err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: SearchInto allocates %v times per run; want 0", metric, allocs)
		}
	}
}

func TestConcurrentSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n, dim, k = 500, 16, 5
	data := randMatrix(r, n, dim)
	ix := newIndex(t, dim, Cosine, data)
	qs := randMatrix(r, 8, dim)
	want, err := ix.SearchBatch(qs, k, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				qi := (g + i) % 8
				got, err := ix.Search(qs[qi*dim:(qi+1)*dim], k)
				if err != nil {
					t.Error(err)
					return
				}
				if !cmp.Equal(got, want[qi], approxScores) {
					t.Errorf("concurrent Search(%d) = %v; want %v", qi, got, want[qi])
					return
				}
			}
		})
	}
	wg.Wait()
}

// approxScores compares results up to float32 rounding: batched and
// single-vector kernels sum in different orders.
var approxScores = cmpopts.EquateApprox(0, 1e-5)
