package beam

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/rq"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

func gaussian(rng *rand.Rand, n, dim int) []float32 {
	x := make([]float32, n*dim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// rqFixture fits a small quantizer and indexes a gallery by its codes.
func rqFixture(t testing.TB, seed uint64, dim, m, l, n int) (*rq.Quantizer, *trie.Trie, []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	gallery := gaussian(rng, n, dim)
	q, err := rq.Fit(gallery, dim, rq.Config{M: m, L: l, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	codes, err := q.EncodeBatch(gallery)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trie.New(m, l)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := tr.Insert(semid.ID(codes[i*m:(i+1)*m]), i); err != nil {
			t.Fatal(err)
		}
	}
	return q, tr, gallery
}

// rqReference scores an ID without the scorer's residual bookkeeping, from
// reconstructions in float64:
//
//	SumResiduals:  -Σ_{m=1..M} ||x - DecodePrefix(id, m)||²
//	FinalResidual: ||x||² - ||x - Decode(id)||²
func rqReference(t testing.TB, q *rq.Quantizer, obj RQObjective, x []float32, id semid.ID) float64 {
	t.Helper()
	rec := make([]float32, q.Dim)
	dist := func(m int) float64 {
		if err := q.DecodePrefix(id, m, rec); err != nil {
			t.Fatal(err)
		}
		var d float64
		for i, v := range x {
			e := float64(v) - float64(rec[i])
			d += e * e
		}
		return d
	}
	if obj == FinalResidual {
		return dist(0) - dist(q.M)
	}
	var s float64
	for m := 1; m <= q.M; m++ {
		s -= dist(m)
	}
	return s
}

// TestRQScorerExhaustive: with Width ≥ the number of valid IDs, the search
// returns every valid ID, each scored as rqReference says, ranked by it.
// For FinalResidual the top hypothesis is therefore the valid ID whose full
// reconstruction is nearest to the query; for SumResiduals it is the valid
// ID minimizing the summed error of its M partial reconstructions.
func TestRQScorerExhaustive(t *testing.T) {
	const dim, m, l = 6, 3, 5
	q, tr, _ := rqFixture(t, 1, dim, m, l, 60)
	rng := rand.New(rand.NewPCG(2, 2))
	queries := gaussian(rng, 12, dim)
	for _, obj := range []RQObjective{SumResiduals, FinalResidual} {
		sc, err := NewRQScorer(q, obj)
		if err != nil {
			t.Fatal(err)
		}
		s := mustSearcher(t, Config{Width: tr.Len(), M: m, L: l})
		for qi := range 12 {
			x := queries[qi*dim : (qi+1)*dim]
			if err := sc.SetQueries(x); err != nil {
				t.Fatal(err)
			}
			got, err := s.Search(sc, tr)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tr.Len() {
				t.Fatalf("obj %d query %d: %d hypotheses; want all %d", obj, qi, len(got), tr.Len())
			}
			checkValid(t, tr, got)
			// Exhaustive best by the reference.
			best, bestS := semid.ID(nil), math.Inf(-1)
			for id := range tr.All() {
				if r := rqReference(t, q, obj, x, id); r > bestS {
					best, bestS = id.Clone(), r
				}
			}
			const tol = 1e-3
			for i, h := range got {
				ref := rqReference(t, q, obj, x, h.ID)
				if math.Abs(h.Score-ref) > tol*(1+math.Abs(ref)) {
					t.Errorf("obj %d query %d: %v scored %v; reference %v", obj, qi, h.ID, h.Score, ref)
				}
				if i > 0 {
					if prev := rqReference(t, q, obj, x, got[i-1].ID); prev < ref-tol*(1+math.Abs(ref)) {
						t.Errorf("obj %d query %d: %v (ref %v) ranked above %v (ref %v)", obj, qi, got[i-1].ID, prev, h.ID, ref)
					}
				}
			}
			if !got[0].ID.Equal(best) && bestS-rqReference(t, q, obj, x, got[0].ID) > tol*(1+math.Abs(bestS)) {
				t.Errorf("obj %d query %d: top %v; exhaustive best %v (%v)", obj, qi, got[0], best, bestS)
			}
		}
	}
}

// TestRQScorerGreedyIsEncode: a gallery vector's own code is in the trie,
// and at every level its greedy code is the nearest codeword overall, hence
// also among the allowed ones; so a width-1 search reproduces Encode.
func TestRQScorerGreedyIsEncode(t *testing.T) {
	const dim, m, l = 8, 4, 6
	q, tr, gallery := rqFixture(t, 3, dim, m, l, 200)
	for _, obj := range []RQObjective{SumResiduals, FinalResidual} {
		sc, _ := NewRQScorer(q, obj)
		s := mustSearcher(t, Config{Width: 1, M: m, L: l})
		codes := make([]int32, m)
		for i := range 200 {
			x := gallery[i*dim : (i+1)*dim]
			if err := q.Encode(x, codes); err != nil {
				t.Fatal(err)
			}
			sc.SetQueries(x)
			got, err := s.Search(sc, tr)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !got[0].ID.Equal(semid.ID(codes)) {
				t.Errorf("obj %d gallery %d: width-1 search %v; Encode %v", obj, i, got, codes)
			}
		}
	}
}

func TestRQScorerBatch(t *testing.T) {
	const dim, m, l = 5, 3, 8
	q, tr, _ := rqFixture(t, 4, dim, m, l, 300)
	queries := gaussian(rand.New(rand.NewPCG(1, 9)), 6, dim)
	sc, _ := NewRQScorer(q, SumResiduals)
	s := mustSearcher(t, Config{Width: 7, M: m, L: l, TopK: 5})
	if err := sc.SetQueries(queries); err != nil {
		t.Fatal(err)
	}
	batch, err := s.SearchBatch(sc, tr, 6)
	if err != nil {
		t.Fatal(err)
	}
	for qi := range 6 {
		sc.SetQueries(queries[qi*dim : (qi+1)*dim])
		one, err := s.Search(sc, tr)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(one, batch[qi]); diff != "" {
			t.Errorf("query %d: batch differs (-single +batch):\n%s", qi, diff)
		}
	}
	// A beam pointing past the queries is an error, not a panic.
	sc.SetQueries(queries[:dim])
	if _, err := s.SearchBatch(sc, tr, 2); !errors.Is(err, ErrShape) {
		t.Errorf("SearchBatch with too few query vectors: error %v; want ErrShape", err)
	}
}

func TestRQScorerErrors(t *testing.T) {
	if _, err := NewRQScorer(nil, SumResiduals); !errors.Is(err, ErrShape) {
		t.Errorf("NewRQScorer(nil) error = %v; want ErrShape", err)
	}
	q, _, _ := rqFixture(t, 1, 4, 2, 3, 20)
	if _, err := NewRQScorer(q, RQObjective(7)); !errors.Is(err, ErrShape) {
		t.Errorf("NewRQScorer(objective 7) error = %v; want ErrShape", err)
	}
	sc, _ := NewRQScorer(q, SumResiduals)
	if err := sc.SetQueries(make([]float32, 5)); !errors.Is(err, ErrShape) {
		t.Errorf("SetQueries(5 values, Dim 4) error = %v; want ErrShape", err)
	}
}

func TestRQScorerAllocs(t *testing.T) {
	const dim = 32
	q, tr, gallery := rqFixture(t, 5, dim, 4, 16, 2000)
	sc, _ := NewRQScorer(q, SumResiduals)
	sc.SetQueries(gallery[:4*dim])
	s := mustSearcher(t, Config{Width: 30, M: 4, L: 16})
	if err := s.run(sc, tr, 4); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := s.run(sc, tr, 4); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("search steps with RQScorer: allocs = %v; want 0", n)
	}
}

// BenchmarkSearchRQ is a full IRGen-shaped search (M=4, L=256, width 30)
// over a 60,000-image gallery, scored by RQScorer.
func BenchmarkSearchRQ(b *testing.B) {
	const dim, m, l, n = 128, 4, 256, 60000
	rng := rand.New(rand.NewPCG(1, 1))
	gallery := gaussian(rng, n, dim)
	q := &rq.Quantizer{M: m, L: l, Dim: dim, Codebooks: gaussian(rng, m*l, dim)}
	if err := q.Init(); err != nil {
		b.Fatal(err)
	}
	codes, err := q.EncodeBatch(gallery)
	if err != nil {
		b.Fatal(err)
	}
	tr, _ := trie.New(m, l)
	for i := range n {
		tr.Insert(semid.ID(codes[i*m:(i+1)*m]), i)
	}
	for _, queries := range []int{1, 8} {
		b.Run(fmt.Sprintf("queries=%d", queries), func(b *testing.B) {
			sc, _ := NewRQScorer(q, SumResiduals)
			sc.SetQueries(gallery[:queries*dim])
			s, _ := New(DefaultConfig())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SearchBatch(sc, tr, queries); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(queries)*float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}
