package mrl

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/knn"
)

// clustered returns n embeddings of width dim around 8 centres, so that
// rankings are far from ties.
func clustered(n, dim int, seed uint64) *Embeddings {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float32, 8*dim)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64())
	}
	data := make([]float32, n*dim)
	for i := range n {
		c := rng.IntN(8)
		for j := range dim {
			data[i*dim+j] = centres[c*dim+j] + 0.7*float32(rng.NormFloat64())
		}
	}
	return &Embeddings{N: n, Dim: dim, Data: data}
}

// refSearch is exact search at prefix size m in float64: rows and query
// prefixes normalized, ranked by squared L2 distance.
func refSearch(emb *Embeddings, q []float32, m, k int, skip int) []knn.Result {
	norm := func(x []float32) []float64 {
		out := make([]float64, m)
		var s float64
		for j := range m {
			out[j] = float64(x[j])
			s += out[j] * out[j]
		}
		s = math.Sqrt(s)
		for j := range out {
			out[j] /= s
		}
		return out
	}
	qn := norm(q)
	var res []knn.Result
	for i := range emb.N {
		if i == skip {
			continue
		}
		x := norm(emb.Row(i))
		var d float64
		for j := range m {
			d += (x[j] - qn[j]) * (x[j] - qn[j])
		}
		res = append(res, knn.Result{ID: i, Score: float32(-d)})
	}
	sort.SliceStable(res, func(a, b int) bool { return res[a].Score > res[b].Score })
	return res[:min(k, len(res))]
}

// sameRanking checks got against the reference: equal scores (to float32
// rounding) at every rank and equal ids wherever the reference has no
// near-tie.
func sameRanking(t *testing.T, name string, got, want []knn.Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results; want %d", name, len(got), len(want))
	}
	for i := range want {
		if math.Abs(float64(got[i].Score-want[i].Score)) > 1e-5 {
			t.Fatalf("%s: rank %d score %v; want %v", name, i, got[i].Score, want[i].Score)
		}
		tie := (i > 0 && want[i-1].Score-want[i].Score < 1e-5) || (i+1 < len(want) && want[i].Score-want[i+1].Score < 1e-5)
		if !tie && got[i].ID != want[i].ID {
			t.Fatalf("%s: rank %d id %d; want %d", name, i, got[i].ID, want[i].ID)
		}
	}
}

func TestExactMatchesReference(t *testing.T) {
	emb := clustered(500, 32, 1)
	ix, err := NewIndex(emb)
	if err != nil {
		t.Fatal(err)
	}
	qs := clustered(20, 32, 2)
	for _, m := range []int{1, 8, 16, 32} {
		res, err := ix.Search(qs.Data, 25, Exact(m), nil)
		if err != nil {
			t.Fatal(err)
		}
		for q := range qs.N {
			sameRanking(t, "exact", res[q], refSearch(emb, qs.Row(q), m, 25, -1))
		}
	}
}

func TestAdaptiveFullWidthIsExact(t *testing.T) {
	emb := clustered(600, 32, 3)
	ix, _ := NewIndex(emb)
	qs := clustered(30, 32, 4)
	for _, k := range []int{1, 10, 100} {
		exact, err := ix.Search(qs.Data, k, Exact(32), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, shortlist := range []int{1, 10, 200} {
			got, err := ix.Search(qs.Data, k, Adaptive(32, 32, shortlist), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(exact, got); diff != "" {
				t.Errorf("k=%d shortlist=%d: adaptive(D, D) differs from exact (-exact +adaptive):\n%s", k, shortlist, diff)
			}
		}
	}
}

func TestFunnelWholeGalleryIsExact(t *testing.T) {
	emb := clustered(400, 32, 5)
	ix, _ := NewIndex(emb)
	qs := clustered(25, 32, 6)
	exact, _ := ix.Search(qs.Data, 50, Exact(32), nil)
	for _, lists := range [][]int{{400, 400, 400}, {1000, 500, 400}} {
		c := Cascade{RetrieveDim: 4, RerankDims: []int{8, 16, 32}, Shortlists: lists}
		got, err := ix.Search(qs.Data, 50, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(exact, got); diff != "" {
			t.Errorf("funnel %v over the whole gallery differs from exact (-exact +funnel):\n%s", c, diff)
		}
	}
}

// Adaptive retrieval reranks the D_r shortlist by D_s distance, as the
// seed's naive_rerank.
func TestAdaptiveReranksShortlist(t *testing.T) {
	emb := clustered(500, 32, 7)
	ix, _ := NewIndex(emb)
	qs := clustered(10, 32, 8)
	const dr, ds, k = 4, 16, 40
	got, err := ix.Search(qs.Data, k, Adaptive(dr, ds, k), nil)
	if err != nil {
		t.Fatal(err)
	}
	for q := range qs.N {
		short := refSearch(emb, qs.Row(q), dr, k, -1)
		var ids []int
		for _, r := range short {
			ids = append(ids, r.ID)
		}
		// Reference rerank: the shortlist's ids ranked at ds.
		full := refSearch(emb, qs.Row(q), ds, emb.N, -1)
		var want []knn.Result
		for _, r := range full {
			if slices.Contains(ids, r.ID) {
				want = append(want, r)
			}
		}
		sameRanking(t, "adaptive", got[q], want)
	}
}

// Asking for more results than the last shortlist ranks the images cut at
// each stage after it, in their order there; the first results do not
// depend on k.
func TestFunnelPadsWithCutImages(t *testing.T) {
	emb := clustered(500, 32, 9)
	ix, _ := NewIndex(emb)
	qs := clustered(10, 32, 10)
	c := Cascade{RetrieveDim: 4, RerankDims: []int{8, 16, 32}, Shortlists: []int{100, 50, 10}}
	short, _ := ix.Search(qs.Data, 10, c, nil)
	long, err := ix.Search(qs.Data, 100, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := ix.Search(qs.Data, 100, Exact(4), nil)
	// The list after the first rerank: 100 at 4 dims reranked at 8.
	stage1, _ := ix.Search(qs.Data, 100, Cascade{4, []int{8}, []int{100}}, nil)
	for q := range qs.N {
		if len(short[q]) != 10 || len(long[q]) != 100 {
			t.Fatalf("query %d: %d and %d results; want 10 and 100", q, len(short[q]), len(long[q]))
		}
		if diff := cmp.Diff(short[q], long[q][:10]); diff != "" {
			t.Errorf("query %d: top 10 depend on k:\n%s", q, diff)
		}
		var a, b []int
		for i := range 100 {
			a, b = append(a, long[q][i].ID), append(b, first[q][i].ID)
		}
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("query %d: the funnel's 100 are not the first shortlist", q)
		}
		// Ranks 50..99 were cut after the rerank at 8: in its order.
		for i := 50; i < 100; i++ {
			if long[q][i] != stage1[q][i] {
				t.Fatalf("query %d rank %d: %v; want the 8-dim rerank's %v", q, i, long[q][i], stage1[q][i])
			}
		}
		// Ranks 10..49 were cut after the rerank at 16.
		stage2, _ := ix.Search(qs.Data[q*32:(q+1)*32], 50, Cascade{4, []int{8, 16}, []int{100, 50}}, nil)
		if diff := cmp.Diff(stage2[0][10:50], long[q][10:50]); diff != "" {
			t.Errorf("query %d: ranks 10..49 are not the 16-dim rerank's:\n%s", q, diff)
		}
	}
}

func TestExclude(t *testing.T) {
	emb := clustered(300, 16, 11)
	ix, _ := NewIndex(emb)
	queries := emb.Data[:10*16] // the first 10 gallery images
	self := func(q, id int) bool { return q == id }
	for _, c := range []Cascade{Exact(16), Adaptive(4, 16, 50), DefaultFunnel(16)} {
		res, err := ix.Search(queries, 20, c, self)
		if err != nil {
			t.Fatal(err)
		}
		for q, rs := range res {
			if len(rs) != 20 {
				t.Errorf("%v query %d: %d results; want 20", c, q, len(rs))
			}
			for _, r := range rs {
				if r.ID == q {
					t.Errorf("%v query %d: retrieved itself", c, q)
				}
			}
		}
		if c.RetrieveDim == 16 && len(c.RerankDims) == 0 {
			for q := range 10 {
				sameRanking(t, "exact exclude", res[q], refSearch(emb, emb.Row(q), 16, 20, q))
			}
		}
	}
}

func TestDefaultCascades(t *testing.T) {
	tests := []struct {
		dim           int
		adaptive, fun Cascade
	}{
		{128, Cascade{16, []int{128}, []int{200}}, Cascade{8, []int{16, 32, 64, 128}, []int{200, 100, 50, 25}}},
		{2048, Cascade{16, []int{2048}, []int{200}}, Cascade{8, []int{16, 32, 64, 128, 2048}, []int{200, 100, 50, 25, 10}}},
		{32, Cascade{16, []int{32}, []int{200}}, Cascade{8, []int{16, 32}, []int{200, 100}}},
		{96, Cascade{16, []int{96}, []int{200}}, Cascade{8, []int{16, 32, 64, 96}, []int{200, 100, 50, 25}}},
		{8, Cascade{8, []int{8}, []int{200}}, Cascade{8, []int{8}, []int{200}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.adaptive, DefaultAdaptive(tt.dim)); diff != "" {
			t.Errorf("DefaultAdaptive(%d) (-want +got):\n%s", tt.dim, diff)
		}
		if diff := cmp.Diff(tt.fun, DefaultFunnel(tt.dim)); diff != "" {
			t.Errorf("DefaultFunnel(%d) (-want +got):\n%s", tt.dim, diff)
		}
		if err := DefaultFunnel(tt.dim).Validate(tt.dim); err != nil {
			t.Error(err)
		}
	}
	if got := NestingDims(128); !slices.Equal(got, []int{8, 16, 32, 64, 128}) {
		t.Errorf("NestingDims(128) = %v", got)
	}
	if got := NestingDims(5); !slices.Equal(got, []int{5}) {
		t.Errorf("NestingDims(5) = %v", got)
	}
}

func TestBadInput(t *testing.T) {
	emb := clustered(50, 16, 12)
	ix, _ := NewIndex(emb)
	q := emb.Data[:16]
	for _, tt := range []struct {
		name string
		q    []float32
		k    int
		c    Cascade
		want error
	}{
		{"wide retrieval", q, 5, Exact(17), ErrCascade},
		{"zero retrieval", q, 5, Exact(0), ErrCascade},
		{"wide rerank", q, 5, Adaptive(8, 32, 10), ErrCascade},
		{"zero shortlist", q, 5, Adaptive(8, 16, 0), ErrCascade},
		{"unpaired", q, 5, Cascade{8, []int{16}, nil}, ErrCascade},
		{"k", q, 0, Exact(16), knn.ErrK},
		{"query width", q[:15], 5, Exact(16), knn.ErrDim},
	} {
		if _, err := ix.Search(tt.q, tt.k, tt.c, nil); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v; want %v", tt.name, err, tt.want)
		}
	}
	if _, err := NewIndex(&Embeddings{N: 2, Dim: 3, Data: make([]float32, 5)}); !errors.Is(err, ErrFormat) {
		t.Errorf("short data: err = %v; want ErrFormat", err)
	}
}

// recall is the mean fraction of the exact top k found.
func recall(exact, approx [][]knn.Result) float64 {
	var sum float64
	for q := range exact {
		sum += float64(knn.Hits(exact[q], approx[q])) / float64(len(exact[q]))
	}
	return sum / float64(len(exact))
}
