package beam

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// randomTrie inserts items with random IDs; collisions give IDs with
// several items. Items are numbered 0..items-1.
func randomTrie(t testing.TB, rng *rand.Rand, m, l, items int) *trie.Trie {
	t.Helper()
	tr, err := trie.New(m, l)
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		id := make(semid.ID, m)
		for j := range id {
			id[j] = int32(rng.IntN(l))
		}
		if err := tr.Insert(id, i); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func mustSearcher(t testing.TB, cfg Config) *Searcher {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWideEqualsExhaustive: with Width ≥ the number of valid IDs nothing
// is ever pruned, so the search must return the exhaustive ranking exactly.
func TestWideEqualsExhaustive(t *testing.T) {
	tests := []struct {
		l, items int
		extra    int // Width - number of IDs
	}{
		{4, 5, 0}, {4, 20, 0}, {5, 12, 3}, {5, 40, 0}, {6, 30, 0}, {6, 60, 7}, {4, 1, 0},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("M=3/L=%d/items=%d/extra=%d", tt.l, tt.items, tt.extra), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			tr := randomTrie(t, rng, 3, tt.l, tt.items)
			f := randomScores(uint64(i))
			want := exhaustive(tr, f, 0)
			s := mustSearcher(t, Config{Width: tr.Len() + tt.extra, M: 3, L: tt.l})
			got, err := s.Search(&funcScorer{f: f, l: tt.l}, tr)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("search differs from exhaustive ranking (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGreedyConsistentTop1: with a greedy-consistent scorer any width,
// even 1, finds the exhaustive top-1.
func TestGreedyConsistentTop1(t *testing.T) {
	for l := 4; l <= 6; l++ {
		for trial := range 10 {
			rng := rand.New(rand.NewPCG(uint64(l), uint64(trial)))
			tr := randomTrie(t, rng, 3, l, 1+rng.IntN(40))
			f := greedyScores(uint64(trial), 3, l)
			want := exhaustive(tr, f, 0)
			for w := 1; w <= 4; w++ {
				s := mustSearcher(t, Config{Width: w, M: 3, L: l})
				got, err := s.Search(&funcScorer{f: f, l: l}, tr)
				if err != nil {
					t.Fatal(err)
				}
				checkValid(t, tr, got)
				if len(got) == 0 || !got[0].ID.Equal(want[0].ID) || got[0].Score != want[0].Score {
					t.Errorf("L=%d trial %d width %d: top-1 %v; exhaustive %v", l, trial, w, got[:min(1, len(got))], want[0])
				}
			}
		}
	}
}

// checkValid checks that hyps are distinct IDs of tr, ranked by score.
func checkValid(t *testing.T, tr *trie.Trie, hyps []Hypothesis) {
	t.Helper()
	seen := map[string]bool{}
	for i, h := range hyps {
		if !tr.Contains(h.ID) {
			t.Fatalf("hypothesis %d: %v not in the trie", i, h.ID)
		}
		if seen[h.ID.String()] {
			t.Fatalf("hypothesis %d: %v returned twice", i, h.ID)
		}
		seen[h.ID.String()] = true
		if i > 0 {
			p := hyps[i-1]
			if p.Score < h.Score || (p.Score == h.Score && p.ID.Compare(h.ID) > 0) {
				t.Fatalf("hypotheses %d, %d out of order: %v then %v", i-1, i, p, h)
			}
		}
	}
}

// TestProperty runs many random tries, widths and scorers and checks what
// must hold for any width.
func TestProperty(t *testing.T) {
	for trial := range 400 {
		rng := rand.New(rand.NewPCG(uint64(trial), 77))
		m, l := 1+rng.IntN(4), 1+rng.IntN(8)
		tr := randomTrie(t, rng, m, l, rng.IntN(50))
		w := 1 + rng.IntN(12)
		cfg := Config{Width: w, M: m, L: l, TopK: 1 + rng.IntN(w)}
		var f scoreFunc
		switch trial % 3 {
		case 0:
			f = greedyScores(uint64(trial), m, l)
		case 1:
			f = randomScores(uint64(trial))
		case 2:
			f = tiedScores(uint64(trial))
		}
		s := mustSearcher(t, cfg)
		got, err := s.Search(&funcScorer{f: f, l: l}, tr)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		want := exhaustive(tr, f, 0)
		checkValid(t, tr, got)
		if n := min(cfg.TopK, tr.Len()); len(got) != n {
			t.Fatalf("trial %d (M=%d L=%d W=%d K=%d, %d IDs): %d hypotheses; want %d", trial, m, l, w, cfg.TopK, tr.Len(), len(got), n)
		}
		for _, h := range got {
			if s := idScore(f, 0, h.ID); s != h.Score {
				t.Fatalf("trial %d: %v has score %v; recomputed %v", trial, h.ID, h.Score, s)
			}
		}
		if len(got) > 0 && got[0].Score > want[0].Score {
			t.Fatalf("trial %d: top score %v beats the exhaustive best %v", trial, got[0].Score, want[0].Score)
		}
		if w >= tr.Len() {
			if diff := cmp.Diff(want[:len(got)], got); diff != "" {
				t.Fatalf("trial %d: wide search differs from exhaustive (-want +got):\n%s", trial, diff)
			}
		}
		if trial%3 == 0 && len(got) > 0 && !got[0].ID.Equal(want[0].ID) {
			t.Fatalf("trial %d: greedy-consistent top-1 %v; exhaustive %v", trial, got[0], want[0])
		}
	}
}

// TestSearchBatch: a batch of queries gives the same results as searching
// them one by one.
func TestSearchBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	tr := randomTrie(t, rng, 4, 6, 200)
	f := randomScores(5)
	const queries = 7
	s := mustSearcher(t, Config{Width: 5, M: 4, L: 6, TopK: 3})
	batch, err := s.SearchBatch(&funcScorer{f: f, l: 6}, tr, queries)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != queries {
		t.Fatalf("%d results; want %d", len(batch), queries)
	}
	for q := range int32(queries) {
		fq := func(_ int32, p []int32, tok int32) float32 { return f(q, p, tok) }
		one, err := s.Search(&funcScorer{f: fq, l: 6}, tr)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(one, batch[q]); diff != "" {
			t.Errorf("query %d: batch differs from single search (-single +batch):\n%s", q, diff)
		}
	}
	if got, err := s.SearchBatch(&funcScorer{f: f, l: 6}, tr, 0); err != nil || len(got) != 0 {
		t.Errorf("SearchBatch(0 queries) = %v, %v; want empty", got, err)
	}
}

// TestAllTied: with equal scores everywhere the ranking is by ID, and any
// width returns the smallest IDs: the kept prefixes at every step are the
// smallest ones.
func TestAllTied(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	tr := randomTrie(t, rng, 3, 6, 80)
	flat := func(int32, []int32, int32) float32 { return -1 }
	want := exhaustive(tr, flat, 0)
	for _, w := range []int{1, 2, 5, 17, 200} {
		s := mustSearcher(t, Config{Width: w, M: 3, L: 6})
		got, err := s.Search(&funcScorer{f: flat, l: 6}, tr)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[:min(w, len(want))], got); diff != "" {
			t.Errorf("width %d (-want +got):\n%s", w, diff)
		}
	}
}

// TestRuledOut: tokens the scorer gives -Inf or NaN never appear.
func TestRuledOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	tr := randomTrie(t, rng, 3, 4, 40)
	base := randomScores(9)
	f := func(q int32, p []int32, tok int32) float32 {
		switch tok {
		case 0:
			return float32(math.Inf(-1))
		case 1:
			if len(p) == 2 {
				return float32(math.NaN())
			}
		}
		return base(q, p, tok)
	}
	want := exhaustive(tr, f, 0)
	s := mustSearcher(t, Config{Width: 64, M: 3, L: 4})
	got, err := s.Search(&funcScorer{f: f, l: 4}, tr)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	all := func(int32, []int32, int32) float32 { return float32(math.Inf(-1)) }
	if got, err := s.Search(&funcScorer{f: all, l: 4}, tr); err != nil || len(got) != 0 {
		t.Errorf("everything ruled out: %v, %v; want no hypotheses", got, err)
	}
}

func TestEmptyTrie(t *testing.T) {
	tr, _ := trie.New(2, 3)
	s := mustSearcher(t, Config{Width: 3, M: 2, L: 3})
	got, err := s.Search(&funcScorer{f: randomScores(1), l: 3}, tr)
	if err != nil || len(got) != 0 {
		t.Errorf("Search(empty trie) = %v, %v; want none", got, err)
	}
}

type failScorer struct{ step int }

var errScorer = errors.New("scorer failed")

func (f *failScorer) Next(beams Beams, logp []float32) error {
	if beams.T == f.step {
		return errScorer
	}
	return nil
}

func (f *failScorer) Reorder([]int) error { return nil }

func TestErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Width: 0, M: 4, L: 256},
		{Width: 3, M: 0, L: 256},
		{Width: 3, M: 4, L: 0},
		{Width: 3, M: 4, L: 256, TopK: 4},
		{Width: 3, M: 4, L: 256, TopK: -1},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrShape) {
			t.Errorf("New(%+v) error = %v; want ErrShape", cfg, err)
		}
	}
	if got := mustSearcher(t, DefaultConfig()).Config(); got != (Config{Width: 30, M: 4, L: 256, TopK: 30}) {
		t.Errorf("default config = %+v", got)
	}
	tr, _ := trie.New(3, 4)
	tr.Insert(semid.ID{1, 2, 3}, 0)
	s := mustSearcher(t, Config{Width: 2, M: 3, L: 5})
	if _, err := s.Search(&failScorer{step: -1}, tr); !errors.Is(err, ErrShape) {
		t.Errorf("Search with a mismatched trie: error %v; want ErrShape", err)
	}
	if _, err := s.Search(&failScorer{step: -1}, nil); !errors.Is(err, ErrShape) {
		t.Errorf("Search with a nil trie: error %v; want ErrShape", err)
	}
	s = mustSearcher(t, Config{Width: 2, M: 3, L: 4})
	for step := range 3 {
		if _, err := s.Search(&failScorer{step: step}, tr); !errors.Is(err, errScorer) {
			t.Errorf("scorer failing at step %d: error %v; want errScorer", step, err)
		}
	}
}

func TestExpand(t *testing.T) {
	tr, _ := trie.New(2, 4)
	for item, id := range []semid.ID{{0, 1}, {2, 2}, {0, 1}, {3, 0}, {2, 2}, {0, 1}} {
		if err := tr.Insert(id, item); err != nil {
			t.Fatal(err)
		}
	}
	hyps := []Hypothesis{{ID: semid.ID{2, 2}}, {ID: semid.ID{1, 1}}, {ID: semid.ID{0, 1}}, {ID: semid.ID{3, 0}}}
	tests := []struct {
		k    int
		want []int
	}{
		{0, []int{1, 4, 0, 2, 5, 3}},
		{-1, []int{1, 4, 0, 2, 5, 3}},
		{1, []int{1}},
		{3, []int{1, 4, 0}},
		{6, []int{1, 4, 0, 2, 5, 3}},
		{100, []int{1, 4, 0, 2, 5, 3}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Expand(hyps, tr, tt.k)); diff != "" {
			t.Errorf("Expand(k=%d) (-want +got):\n%s", tt.k, diff)
		}
	}
	if got := Expand(nil, tr, 5); len(got) != 0 {
		t.Errorf("Expand(nil) = %v; want empty", got)
	}
}

// zeroScorer is allocation-free: uniform log-probabilities.
type zeroScorer struct{}

func (zeroScorer) Next(_ Beams, logp []float32) error {
	for i := range logp {
		logp[i] = float32(-i % 7)
	}
	return nil
}

func (zeroScorer) Reorder([]int) error { return nil }

func TestStepAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	tr := randomTrie(t, rng, 4, 256, 20000)
	s := mustSearcher(t, DefaultConfig())
	const queries = 4
	if err := s.run(zeroScorer{}, tr, queries); err != nil { // warm-up
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		s.reset(queries)
		if err := s.step(zeroScorer{}, tr, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.step(zeroScorer{}, tr, 1); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("step allocs = %v; want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() {
		if err := s.run(zeroScorer{}, tr, queries); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("all steps of a search: allocs = %v; want 0", n)
	}
	if n := testing.AllocsPerRun(20, func() {
		if _, err := s.SearchBatch(zeroScorer{}, tr, queries); err != nil {
			t.Fatal(err)
		}
	}); n > 3 {
		t.Errorf("SearchBatch allocs = %v; want ≤ 3 (the results)", n)
	}
	if got, err := s.Search(zeroScorer{}, tr); err != nil || len(got) != 30 {
		t.Errorf("Search = %d hypotheses, %v; want 30", len(got), err)
	}
}

func TestResultsDoNotAlias(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	tr := randomTrie(t, rng, 3, 5, 60)
	s := mustSearcher(t, Config{Width: 4, M: 3, L: 5})
	sc := &funcScorer{f: randomScores(1), l: 5}
	first, err := s.Search(sc, tr)
	if err != nil {
		t.Fatal(err)
	}
	keep := slices.Clone(first)
	for i := range keep {
		keep[i].ID = keep[i].ID.Clone()
	}
	if _, err := s.Search(&funcScorer{f: randomScores(2), l: 5}, tr); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keep, first); diff != "" {
		t.Errorf("a later search changed earlier results (-before +after):\n%s", diff)
	}
	first[0].ID = append(first[0].ID, 9) // must not spill into the next ID
	if len(first) > 1 && !first[1].ID.Equal(keep[1].ID) {
		t.Errorf("appending to one ID changed the next: %v", first[1].ID)
	}
}
