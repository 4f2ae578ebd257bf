package dsi

import (
	"fmt"
	"math/rand/v2"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/trie"
)

// IndexScore returns a validation for the indexing phase of m: its
// Indexing Accuracy@1 on the gallery images idx of src (beam width
// max(width, 5)), so that training can stop once the gallery is
// memorized.
func IndexScore(m *decoder.Model, ids *IDs, tr *trie.Trie, src *dataset.Loader, idx []int, width int) func() (float64, string, error) {
	return func() (float64, string, error) {
		acc, err := IndexingAccuracy(m, ids, tr, src, idx, width)
		return acc.At1, acc.String(), err
	}
}

// RetrievalScore returns a validation for the retrieval phase of m: the
// precision at 10 of the IDs it generates (beam width 10) for the
// held-out queries of src, labels their classes, against the classes of
// the gallery images the IDs name.
func RetrievalScore(m *decoder.Model, tr *trie.Trie, galleryLabels []int32, src *dataset.Loader, labels []int32) func() (float64, string, error) {
	return func() (float64, string, error) {
		const k = 10
		if src.Len() == 0 {
			return 0, "", fmt.Errorf("dsi: no validation queries")
		}
		var hits float64
		var items []int
		err := searchEach(m, tr, src, Sample(src.Len(), 0, 0), k, func(q int, hs []beam.Hypothesis) {
			for _, h := range hs[:min(k, len(hs))] {
				items = tr.AppendItems(items[:0], h.ID)
				if len(items) > 0 && galleryLabels[items[0]] == labels[q] {
					hits++
				}
			}
		})
		if err != nil {
			return 0, "", err
		}
		p := hits / float64(k*src.Len())
		return p, fmt.Sprintf("P@10 %.4f over %d held-out queries", p, src.Len()), nil
	}
}

// HoldOut splits n retrieval queries into training and validation
// positions: every image goes to validation with probability frac, drawn
// with seed (seed 002 holds out 0.1 of its 0.9 for validation: frac 1/9).
func HoldOut(n int, frac float64, seed uint64) (trainIdx, valIdx []int) {
	rng := rand.New(rand.NewPCG(seed, 0x7a1))
	for i := range n {
		if rng.Float64() < frac {
			valIdx = append(valIdx, i)
		} else {
			trainIdx = append(trainIdx, i)
		}
	}
	return trainIdx, valIdx
}
