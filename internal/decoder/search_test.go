package decoder

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/testutil"
	"github.com/irgen/irgen/internal/trie"
)

// TestSearchMatchesExhaustive runs the decoder's cached beam search with a
// width covering every valid ID and compares it with scoring every ID of
// the trie by the teacher-forced pass: same IDs, same order, same scores.
func TestSearchMatchesExhaustive(t *testing.T) {
	backend := testutil.Backend(t)
	enc := encoder.Config{ImageSize: 8, Patch: 4, Channels: 1, Dim: 8, Depth: 1, Heads: 2, MLPDim: 16, Activation: "gelu", Eps: 1e-6}
	c := Config{Dim: 16, Depth: 2, Heads: 2, MLPDim: 32, M: 3, L: 4, Activation: "gelu", Eps: 1e-6, Smoothing: 0.1}
	m, err := New(backend, c, enc, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	tr, _ := trie.New(c.M, c.L)
	var ids []semid.ID
	for item := 0; len(ids) < 12; item++ {
		id := semid.ID{int32(rng.IntN(c.L)), int32(rng.IntN(c.L)), int32(rng.IntN(c.L))}
		if !tr.Contains(id) {
			ids = append(ids, id)
		}
		if err := tr.Insert(id, item); err != nil {
			t.Fatal(err)
		}
	}
	const q = 2
	images := make([]float32, q*8*8)
	for i := range images {
		images[i] = float32(rng.NormFloat64())
	}
	bs, err := beam.New(beam.Config{Width: len(ids), M: c.M, L: c.L})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := m.Search(images, q, bs, tr)
	if err != nil {
		t.Fatal(err)
	}

	// Reference: teacher-forced log-probabilities of every valid ID.
	full := model.MustNewExec(backend, m.Vars, func(scope *model.Scope, img, codes *Node) *Node {
		memory := encoder.Forward(scope.Store().Scope(EncoderScope), enc, img)
		return LogSoftmax(Logits(scope, c, memory, codes), -1)
	})
	for qi := range q {
		n := len(ids)
		img := make([]float32, n*64)
		codes := make([]int32, n*c.M)
		for i, id := range ids {
			copy(img[i*64:], images[qi*64:(qi+1)*64])
			copy(codes[i*c.M:], id)
		}
		lp := tensors.MustCopyFlatData[float32](full.MustExec(
			tensors.FromFlatDataAndDimensions(img, n, 8, 8, 1), tensors.FromFlatDataAndDimensions(codes, n, c.M))[0])
		type scored struct {
			id    semid.ID
			score float64
		}
		var want []scored
		for i, id := range ids {
			s := 0.0
			for p, tok := range id {
				s += float64(lp[(i*c.M+p)*c.L+int(tok)])
			}
			want = append(want, scored{id, s})
		}
		sort.SliceStable(want, func(a, b int) bool { return want[a].score > want[b].score })
		if len(got[qi]) != len(want) {
			t.Fatalf("query %d: %d hypotheses; want %d", qi, len(got[qi]), len(want))
		}
		for r := range want {
			h := got[qi][r]
			if h.ID.String() != want[r].id.String() || math.Abs(h.Score-want[r].score) > 1e-4 {
				t.Errorf("query %d rank %d: %v %.5f; want %v %.5f", qi, r, h.ID, h.Score, want[r].id, want[r].score)
			}
			if !tr.Contains(h.ID) {
				t.Errorf("query %d: %v is not in the trie", qi, h.ID)
			}
		}
	}
}

// TestSearchMatchesReference compares the grid search with the reference
// per-beam search (reference_test.go) on random models and tries, dense
// ones where every query fills its beams and sparse ones where the grid
// has empty slots: the same IDs in the same order and the same scores,
// for the queries searched together and one at a time.
func TestSearchMatchesReference(t *testing.T) {
	backend := testutil.Backend(t)
	enc := encoder.Config{ImageSize: 8, Patch: 4, Channels: 1, Dim: 8, Depth: 1, Heads: 2, MLPDim: 16, Activation: "gelu", Eps: 1e-6}
	tests := []struct {
		name        string
		m, l, depth int
		ids, width  int
		queries     int
		seed        uint64
		full        bool // the default CPU decoder instead of a tiny one
	}{
		{"dense/m=4", 4, 6, 2, 300, 5, 3, 1, false},
		{"dense/m=2", 2, 8, 1, 40, 3, 4, 2, false},
		{"sparse/m=4", 4, 16, 2, 20, 30, 3, 3, false},
		{"sparse/m=3", 3, 12, 1, 9, 7, 2, 4, false},
		{"default/n=10000", 4, 256, 2, 10000, 30, 4, 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Dim: 16, Depth: tc.depth, Heads: 2, MLPDim: 32, M: tc.m, L: tc.l, Activation: "gelu", Eps: 1e-6, Smoothing: 0.1}
			if tc.full {
				c = DefaultConfig(tc.m, tc.l)
			}
			m, err := New(backend, c, enc, nil, int64(tc.seed))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(tc.seed, 7))
			tr, _ := trie.New(c.M, c.L)
			id := make(semid.ID, c.M)
			for item := range tc.ids {
				for j := range id {
					id[j] = int32(rng.IntN(c.L))
				}
				if err := tr.Insert(id, item); err != nil {
					t.Fatal(err)
				}
			}
			images := make([]float32, tc.queries*64)
			for i := range images {
				images[i] = float32(rng.NormFloat64())
			}
			bs, err := beam.New(beam.Config{Width: tc.width, M: c.M, L: c.L})
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.refSearch(images, tc.queries, bs, tr)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := m.Search(images, tc.queries, bs, tr)
			if err != nil {
				t.Fatal(err)
			}
			short, err := beam.New(beam.Config{Width: tc.width, M: c.M - 1, L: c.L})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := m.Search(images, tc.queries, short, tr); !errors.Is(err, beam.ErrShape) {
				t.Errorf("search with IDs of %d tokens: error %v; want beam.ErrShape", c.M-1, err)
			}
			for qi := range tc.queries {
				sameHyps(t, "batched", qi, got[qi], want[qi])
				one, _, err := m.Search(images[qi*64:(qi+1)*64], 1, bs, tr)
				if err != nil {
					t.Fatal(err)
				}
				sameHyps(t, "alone", qi, one[0], want[qi])
			}
		})
	}
}

// sameHyps fails unless got and want hold the same IDs in the same order
// with scores equal up to float32 rounding.
func sameHyps(t *testing.T, what string, q int, got, want []beam.Hypothesis) {
	t.Helper()
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%s query %d: %d hypotheses; want %d (> 0)", what, q, len(got), len(want))
	}
	for r := range want {
		g, w := got[r], want[r]
		if g.ID.Compare(w.ID) != 0 || math.Abs(g.Score-w.Score) > 1e-5 {
			t.Errorf("%s query %d rank %d: %v %.7f; want %v %.7f", what, q, r, g.ID, g.Score, w.ID, w.Score)
		}
	}
}
