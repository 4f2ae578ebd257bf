// Package dsi is ViT-DSI (seed 002, "Vision Transformer Memory as a
// Differentiable Search Index for Image Retrieval"): a ViT encoder–decoder
// that maps an image straight to the numeric ID of a gallery image, so that
// the gallery lives in the model's weights.
//
// Every gallery image gets a dense numeric ID 0..n-1 (random, clustered by
// label, or clustered by hierarchical k-means over the tokenizer features;
// see Scheme), written with a fixed number of decimal digits, zero-padded.
// The model is package decoder's transformer with M = digits and L = 10:
// the seed's vocabulary is the ten digits plus BOS, EOS and PAD; here BOS is
// the decoder's begin embedding, and since every ID has the same length EOS
// and PAD are never needed. Training has two phases (seed §3.2):
//
//   - indexing: each gallery image → its own ID, trained to memorize
//     (cross-entropy, no label smoothing, no augmentation by default);
//   - retrieval: each training image (a query) → the ID of a gallery image
//     relevant to it (same class, drawn anew at every step), starting from
//     the indexing weights with a fresh optimizer.
//
// The model after indexing only is the zero-shot variant (method
// "dsi-zeroshot"); after both phases the fine-tuned one (method "dsi").
// Retrieval decodes by beam search constrained to the prefix tree of the
// valid IDs (packages beam and trie); each ID names one image, so the beam
// is at least K wide.
//
// Metrics of the seed: Indexing Accuracy@1/@5 (IndexingAccuracy; 'irgen
// dsi-indexing-acc'), MAP@10 and Recall@100: 'irgen eval --k 1,10,100
// --map-k 10' reports MAP@10 and R@100. irgen's R@K is the hit rate (a
// relevant image within the top K); the seed's Recall@100 counts relevant
// images among the top 100, which P@100 × 100 / (relevant images) gives.
package dsi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/gomlx/compute"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/trie"
)

// Files of ViT-DSI inside a model bundle (slash-separated, relative).
const (
	// Dir holds everything below.
	Dir = "dsi"
	// IDsFile holds the numeric ID of every gallery image.
	IDsFile = "dsi/ids.json"
	// IndexDir holds the model after the indexing phase (zero-shot), in
	// package decoder's files.
	IndexDir = "dsi/index"
	// RetrievalDir holds the model after the retrieval phase (fine-tuned).
	RetrievalDir = "dsi/retrieval"
)

// DefaultConfig returns the DSI decoder for IDs of digits digits: package
// decoder's CPU-sized transformer without label smoothing (the seed's is
// width 128, MLP 256, 4 heads, depth 6).
func DefaultConfig(digits int) decoder.Config {
	c := decoder.DefaultConfig(digits, Vocab)
	c.Smoothing = 0
	return c
}

// IndexPairs returns the indexing phase's pairs: gallery image i → its own
// ID.
func IndexPairs(ids *IDs) (*decoder.Pairs, error) {
	self := make([]int32, ids.Len())
	for i := range self {
		self[i] = int32(i)
	}
	return decoder.NewPairs(self, self, ids.Codes(), ids.Digits)
}

// RetrievalPairs returns the retrieval phase's pairs: training image i, of
// class trainLabels[i], → the ID of a gallery image of that class, drawn
// at every step.
func RetrievalPairs(trainLabels, galleryLabels []int32, ids *IDs) (*decoder.Pairs, error) {
	if len(galleryLabels) != ids.Len() {
		return nil, fmt.Errorf("dsi: %d gallery labels for %d IDs", len(galleryLabels), ids.Len())
	}
	return decoder.NewPairs(trainLabels, galleryLabels, ids.Codes(), ids.Digits)
}

// ResetOptimizer drops m's optimizer state (step counter and moments), so
// that a new training phase starts its warm-up and schedule afresh.
func ResetOptimizer(m *decoder.Model) error {
	return m.Vars.DeleteVariablesInScope(nn.OptimizerScope)
}

// Search generates IDs for n query images (normalized, n × H × W × C) by
// beam search of the given width over tr, batch queries at a time (the
// last batch padded, so the graphs compile once). It returns each query's
// hypotheses, best first.
func Search(m *decoder.Model, tr *trie.Trie, images []float32, n, width, batch int) ([][]beam.Hypothesis, decoder.Timing, error) {
	var tm decoder.Timing
	ec := m.Encoder
	size := ec.ImageSize * ec.ImageSize * ec.Channels
	if n < 0 || len(images) != n*size {
		return nil, tm, fmt.Errorf("dsi: %d values for %d query images of %d", len(images), n, size)
	}
	if width < 1 || batch < 1 {
		return nil, tm, fmt.Errorf("dsi: beam width %d and query batch %d must be positive", width, batch)
	}
	bs, err := beam.New(beam.Config{Width: width, M: tr.M(), L: tr.L()})
	if err != nil {
		return nil, tm, err
	}
	return m.SearchBatched(images, n, min(batch, max(n, 1)), bs, tr)
}

// Accuracy is the indexing accuracy of a model: how often a gallery image
// fed as the query gets its own ID first (At1) or among the first five
// (At5), over N images.
type Accuracy struct {
	At1, At5 float64
	N        int
	Elapsed  time.Duration
}

func (a Accuracy) String() string {
	return fmt.Sprintf("IA@1 %.4f IA@5 %.4f over %d gallery images", a.At1, a.At5, a.N)
}

// Sample returns up to k gallery positions of n drawn with seed, sorted
// (all of them when k ≤ 0 or k ≥ n).
func Sample(n, k int, seed uint64) []int {
	if k <= 0 || k >= n {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := rand.New(rand.NewPCG(seed, 0x1a)).Perm(n)[:k]
	slices.Sort(idx)
	return idx
}

// IndexingAccuracy feeds the gallery images idx (positions in src, the
// gallery loader; eval transform) to m and measures Indexing Accuracy@1
// and @5 (seed 002 §4): beam search of width max(width, 5) over the valid
// IDs tr, hit when the image's own ID is among the first 1 or 5.
func IndexingAccuracy(m *decoder.Model, ids *IDs, tr *trie.Trie, src *dataset.Loader, idx []int, width int) (Accuracy, error) {
	start := time.Now()
	var acc Accuracy
	if src.Len() != ids.Len() {
		return acc, fmt.Errorf("dsi: gallery of %d images for %d IDs", src.Len(), ids.Len())
	}
	err := searchEach(m, tr, src, idx, max(width, 5), func(q int, hs []beam.Hypothesis) {
		got := make([]int, len(hs))
		for r, h := range hs {
			got[r] = ids.Value(h.ID)
		}
		want := ids.Of[idx[q]]
		acc.At1 += eval.HitAtK(got, want, 1)
		acc.At5 += eval.HitAtK(got, want, 5)
	})
	if err != nil {
		return acc, err
	}
	acc.N = len(idx)
	if acc.N > 0 {
		acc.At1 /= float64(acc.N)
		acc.At5 /= float64(acc.N)
	}
	acc.Elapsed = time.Since(start)
	return acc, nil
}

// searchEach feeds the images idx of src to m, 256 at a time, and calls
// fn with each one's position in idx and the hypotheses of a beam search
// of width over tr, best first.
func searchEach(m *decoder.Model, tr *trie.Trie, src *dataset.Loader, idx []int, width int, fn func(q int, hs []beam.Hypothesis)) error {
	size := src.Transform.Len()
	const chunk = 256
	images := make([]float32, chunk*size)
	for lo := 0; lo < len(idx); lo += chunk {
		hi := min(lo+chunk, len(idx))
		buf := images[:(hi-lo)*size]
		if err := src.Fill(idx[lo:hi], -1, buf, nil); err != nil {
			return err
		}
		hyps, _, err := Search(m, tr, buf, hi-lo, width, 16)
		if err != nil {
			return err
		}
		for q, hs := range hyps {
			fn(lo+q, hs)
		}
	}
	return nil
}

// TrainIndex runs the indexing phase: it trains m on the gallery (src,
// image i being gallery image i) to generate each image's own ID, saving
// into dir (package decoder's files) and resuming an unfinished run found
// there. It returns the trained model, as saved in dir, and the training
// seconds.
func TrainIndex(ctx context.Context, m *decoder.Model, dir string, tc decoder.TrainConfig, src *dataset.Loader, ids *IDs) (*decoder.Model, float64, error) {
	if src.Len() != ids.Len() {
		return nil, 0, fmt.Errorf("dsi: gallery of %d images for %d IDs", src.Len(), ids.Len())
	}
	pairs, err := IndexPairs(ids)
	if err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("dsi: %w", err)
	}
	return trainPhase(ctx, m, dir, tc, src, pairs)
}

// trainPhase trains m with decoder.Train (which refuses a run in dir with
// other settings and returns at once when that run has finished) and
// returns the model saved in dir.
func trainPhase(ctx context.Context, m *decoder.Model, dir string, tc decoder.TrainConfig, src *dataset.Loader, pairs *decoder.Pairs) (*decoder.Model, float64, error) {
	secs, err := decoder.Train(ctx, m, dir, tc, src, pairs)
	if err != nil {
		return nil, secs, err
	}
	done, err := decoder.Load(m.Backend, dir)
	return done, secs, err
}

// LoadIndexed loads the model of the finished indexing phase in indexDir
// with a fresh optimizer, ready for the retrieval phase.
func LoadIndexed(backend compute.Backend, indexDir string) (*decoder.Model, error) {
	if !decoder.Trained(indexDir) {
		return nil, fmt.Errorf("dsi: the indexing phase in %s has not finished", indexDir)
	}
	m, err := decoder.Load(backend, indexDir)
	if err != nil {
		return nil, err
	}
	return m, ResetOptimizer(m)
}

// TrainRetrieval runs the retrieval phase: it trains m (from LoadIndexed)
// on the queries of src (labels trainLabels) to generate the ID of a
// gallery image of the same class (galleryLabels), saving into dir and
// resuming an unfinished run found there. It returns the trained model
// and the training seconds.
func TrainRetrieval(ctx context.Context, m *decoder.Model, dir string, tc decoder.TrainConfig,
	src *dataset.Loader, trainLabels, galleryLabels []int32, ids *IDs) (*decoder.Model, float64, error) {
	pairs, err := RetrievalPairs(trainLabels, galleryLabels, ids)
	if err != nil {
		return nil, 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("dsi: %w", err)
	}
	return trainPhase(ctx, m, dir, tc, src, pairs)
}
