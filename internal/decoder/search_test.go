package decoder

import (
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
