package dsi

import (
	"fmt"
	"math/rand/v2"

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
		const k, chunk = 10, 256
		size := src.Transform.Len()
		images := make([]float32, chunk*size)
		var hits, n float64
		var items []int
		for lo := 0; lo < src.Len(); lo += chunk {
			hi := min(lo+chunk, src.Len())
			idx := make([]int, hi-lo)
			for i := range idx {
				idx[i] = lo + i
			}
			if err := src.Fill(idx, -1, images[:len(idx)*size], nil); err != nil {
				return 0, "", err
			}
			hyps, _, err := Search(m, tr, images[:len(idx)*size], len(idx), k, 16)
			if err != nil {
				return 0, "", err
			}
			for q, hs := range hyps {
				for _, h := range hs[:min(k, len(hs))] {
					items = tr.AppendItems(items[:0], h.ID)
					if len(items) > 0 && galleryLabels[items[0]] == labels[lo+q] {
						hits++
					}
				}
				n += k
			}
		}
		if n == 0 {
			return 0, "", fmt.Errorf("dsi: no validation queries")
		}
		return hits / n, fmt.Sprintf("P@10 %.4f over %d held-out queries", hits/n, src.Len()), nil
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
