package dsi

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/train"
	"github.com/irgen/irgen/internal/trie"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.New(os.Getenv("IRGEN_TEST_BACKEND"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tinyGallery returns n random 8×8 gray images in classes i % 3, and a
// transform without augmentation (memorization).
func tinyGallery(n int) (*dataset.Gray, imageproc.Transform) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := &dataset.Gray{W: 8, H: 8, Pix: make([]uint8, n*64), Labels: make([]int, n), Prefix: "tiny"}
	for i := range g.Pix {
		g.Pix[i] = uint8(rng.IntN(256))
	}
	for i := range g.Labels {
		g.Labels[i] = i % 3
	}
	tf := imageproc.Transform{Size: 8, Channels: 1, Mean: []float32{0.5}, Std: []float32{0.5}, ScaleMin: 1, ScaleMax: 1}
	return g, tf
}

// TestMemorize trains the indexing phase on a tiny gallery: the model must
// then generate every image's own ID first (Indexing Accuracy@1 = 1), and
// every retrieved result must be a valid gallery ID.
func TestMemorize(t *testing.T) {
	be := testBackend(t)
	const n = 12
	gal, tf := tinyGallery(n)
	labels := make([]int32, n)
	for i, l := range gal.Labels {
		labels[i] = int32(l)
	}
	ids, err := Assign(AssignConfig{Scheme: Random, Seed: 1}, labels, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids.Digits != 2 {
		t.Fatalf("%d digits for %d images", ids.Digits, n)
	}
	enc := encoder.Config{ImageSize: 8, Patch: 4, Channels: 1, Dim: 16, Depth: 1, Heads: 2, MLPDim: 32, Activation: nn.GELU, Eps: 1e-6}
	cfg := DefaultConfig(ids.Digits)
	cfg.Dim, cfg.Depth, cfg.Heads, cfg.MLPDim = 32, 1, 2, 64
	m, err := decoder.New(be, cfg, enc, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ids.Trie()
	if err != nil {
		t.Fatal(err)
	}
	src := dataset.NewLoader(gal, tf, 1)
	// Until memorized: indexing accuracy checked every 5 epochs, stop at 1.
	tc := decoder.DefaultTrainConfig()
	tc.Budget = train.Budget{Epochs: 300}
	tc.Batch, tc.LR, tc.EncoderLRMult, tc.WarmupEpochs = 4, 3e-3, 1, 2
	tc.Validate, tc.ValidEvery, tc.Patience, tc.Target = IndexScore(m, ids, tr, src, Sample(n, 0, 1), 5), 15, 0, 1
	var out strings.Builder
	tc.Out = &out
	dir := t.TempDir()
	indexDir := filepath.Join(dir, "index")
	m, _, err = TrainIndex(context.Background(), m, indexDir, tc, src, ids)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "reached the target 1") {
		t.Errorf("the indexing phase did not stop at IA@1 = 1:\n%s", out.String())
	}
	acc, err := IndexingAccuracy(m, ids, tr, src, Sample(n, 0, 1), 5)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("zero-shot: %v", acc)
	if acc.N != n || acc.At1 != 1 || acc.At5 != 1 {
		t.Errorf("after memorization: %v; want IA@1 = IA@5 = 1 over %d", acc, n)
	}

	// Every result is a valid gallery image, each at most once; with a
	// beam as wide as the gallery all images come back.
	r := &Retriever{Model: m, IDs: ids, Trie: tr, Batch: 4}
	images := make([]float32, n*tf.Len())
	all := Sample(n, 0, 1)
	if err := src.Fill(all, -1, images, nil); err != nil {
		t.Fatal(err)
	}
	for _, req := range []engine.Request{
		{K: 5, Beam: 3},
		{K: n, Beam: n},
		// With Skip the beam is one wider: every image comes back.
		{K: n - 1, Beam: 1, Skip: func(q, id int) bool { return q == id }},
	} {
		hits, _, err := r.Search(images, n, req)
		if err != nil {
			t.Fatal(err)
		}
		for q, hs := range hits {
			want := req.K
			if req.Skip != nil {
				want++
			}
			if len(hs) != want {
				t.Errorf("K %d beam %d: query %d got %d hits; want %d", req.K, req.Beam, q, len(hs), want)
			}
			seen := map[int]bool{}
			for _, h := range hs {
				if h.Index < 0 || h.Index >= n || seen[h.Index] {
					t.Errorf("query %d: hit %d is not a new gallery image", q, h.Index)
				}
				seen[h.Index] = true
			}
			if req.Skip == nil && hs[0].Index != q {
				t.Errorf("query %d: first hit %d, want itself", q, hs[0].Index)
			}
		}
	}
	if _, _, err := r.Search(images[1:], n, engine.Request{K: 1, Beam: 1}); err == nil {
		t.Error("short query buffer: no error")
	}

	// Retrieval phase: starts from the indexing weights with a fresh
	// optimizer, so its step counter counts its own steps only.
	rc := tc
	rc.Budget, rc.Validate, rc.Out = train.Budget{Epochs: 1}, nil, io.Discard
	im, err := LoadIndexed(be, indexDir)
	if err != nil {
		t.Fatal(err)
	}
	ft, _, err := TrainRetrieval(context.Background(), im, filepath.Join(dir, "retrieval"), rc, src, labels, labels, ids)
	if err != nil {
		t.Fatal(err)
	}
	step := ft.Vars.GetVariable(nn.OptimizerScope + "/step")
	if step == nil {
		t.Fatal("no optimizer step after the retrieval phase")
	}
	if got := tensors.ToScalar[float32](step.MustValue()); got != float32(n/rc.Batch) {
		t.Errorf("retrieval phase optimizer at step %g; want %d", got, n/rc.Batch)
	}
	if !decoder.Trained(filepath.Join(dir, "retrieval")) {
		t.Error("retrieval phase not recorded as trained")
	}
	checkRetrievalScore(t, ft, ids, tr, labels, src)
}

// checkRetrievalScore compares RetrievalScore, with the gallery images as
// queries, with the class precision at 10 of the Retriever's results.
func checkRetrievalScore(t *testing.T, m *decoder.Model, ids *IDs, tr *trie.Trie, labels []int32, src *dataset.Loader) {
	t.Helper()
	n := src.Len()
	got, _, err := RetrievalScore(m, tr, labels, src, labels)()
	if err != nil {
		t.Fatal(err)
	}
	images := make([]float32, n*src.Transform.Len())
	if err := src.Fill(Sample(n, 0, 1), -1, images, nil); err != nil {
		t.Fatal(err)
	}
	r := &Retriever{Model: m, IDs: ids, Trie: tr, Batch: 4}
	hits, _, err := r.Search(images, n, engine.Request{K: 10, Beam: 10})
	if err != nil {
		t.Fatal(err)
	}
	var same float64
	for q, hs := range hits {
		for _, h := range hs {
			if labels[h.Index] == labels[q] {
				same++
			}
		}
	}
	if want := same / float64(10*n); math.Abs(got-want) > 1e-9 {
		t.Errorf("RetrievalScore = %v; want %v", got, want)
	}
}

// TestHoldOut checks that HoldOut splits every position once, the same
// way for the same seed, with about the asked fraction held out.
func TestHoldOut(t *testing.T) {
	trainIdx, valIdx := HoldOut(9000, 1.0/9, 3)
	if len(trainIdx)+len(valIdx) != 9000 {
		t.Fatalf("%d + %d positions of 9000", len(trainIdx), len(valIdx))
	}
	seen := make([]bool, 9000)
	for _, i := range append(slices.Clone(trainIdx), valIdx...) {
		if seen[i] {
			t.Fatalf("position %d twice", i)
		}
		seen[i] = true
	}
	if len(valIdx) < 900 || len(valIdx) > 1100 {
		t.Errorf("%d held out of 9000 at 1/9", len(valIdx))
	}
	if again, _ := HoldOut(9000, 1.0/9, 3); !slices.Equal(again, trainIdx) {
		t.Error("the same seed split differently")
	}
}
