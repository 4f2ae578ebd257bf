// Package eval computes retrieval metrics: precision, recall (hit rate) and
// average precision at k over class labels, indexing accuracy over item ids,
// precision-recall curves, latency, and text, Markdown and PNG reports.
//
// Retrieved lists are given as the labels (or ids) of the retrieved items,
// best first. An item is relevant when its label equals the query's.
package eval

// PrecisionAtK returns the fraction of the top k retrieved items that are
// relevant. When fewer than k items were retrieved the missing ranks count
// as misses: the divisor is always k, so a system cannot score higher by
// returning less. It returns 0 for k <= 0.
func PrecisionAtK(retrievedLabels []int, queryLabel, k int) float64 {
	if k <= 0 {
		return 0
	}
	return float64(hits(retrievedLabels, queryLabel, k)) / float64(k)
}

// RecallAtK returns 1 if any of the top k retrieved items is relevant and 0
// otherwise. This is the hit-rate "Recall@K" of the IRGen and IRT papers,
// not the fraction of all relevant items retrieved (for that see PRCurve).
// It returns 0 for k <= 0.
func RecallAtK(retrievedLabels []int, queryLabel, k int) float64 {
	return HitAtK(retrievedLabels, queryLabel, k)
}

// FractionAtK returns the fraction of the numRelevant relevant gallery
// items found among the top k retrieved: the Recall@K of information
// retrieval and of seed 002 (ViT-DSI's Recall@100). It returns 0 when k or
// numRelevant is not positive.
func FractionAtK(retrievedLabels []int, queryLabel, k, numRelevant int) float64 {
	if k <= 0 || numRelevant <= 0 {
		return 0
	}
	return float64(hits(retrievedLabels, queryLabel, k)) / float64(numRelevant)
}

// APAtK returns the average precision at k:
//
//	AP@k = Σ_{r=1..k} P@r·rel(r) / min(k, numRelevant)
//
// where rel(r) is 1 when the item at rank r is relevant and numRelevant is
// how many relevant items the gallery holds for this query (leave the query
// itself out when it is in the gallery). Dividing by min(k, numRelevant)
// rather than numRelevant makes a perfect top k score 1 even when more than
// k items are relevant; this is the MAP@100 of IRGen. It returns 0 when k or
// numRelevant is not positive.
func APAtK(retrievedLabels []int, queryLabel, k, numRelevant int) float64 {
	den := min(k, numRelevant)
	if den <= 0 {
		return 0
	}
	return precisionSum(retrievedLabels, queryLabel, k) / float64(den)
}

// precisionSum returns Σ_{r=1..k} P@r·rel(r), the precision at each rank
// r ≤ k that holds an item labelled queryLabel, summed.
func precisionSum(retrievedLabels []int, queryLabel, k int) float64 {
	var sum float64
	h := 0
	for r, l := range retrievedLabels[:min(k, len(retrievedLabels))] {
		if l == queryLabel {
			h++
			sum += float64(h) / float64(r+1)
		}
	}
	return sum
}

// HitAtK returns 1 if targetID is among the first k retrieved ids and 0
// otherwise. Averaged over queries it is the Indexing-Accuracy@K used to
// evaluate ViT-DSI style models, whose target is the query image's own id.
// It returns 0 for k <= 0.
func HitAtK(retrievedIDs []int, targetID, k int) float64 {
	if k <= 0 {
		return 0
	}
	for _, id := range retrievedIDs[:min(k, len(retrievedIDs))] {
		if id == targetID {
			return 1
		}
	}
	return 0
}

// hits counts the relevant items among the first k retrieved.
func hits(retrievedLabels []int, queryLabel, k int) int {
	n := 0
	for _, l := range retrievedLabels[:min(k, len(retrievedLabels))] {
		if l == queryLabel {
			n++
		}
	}
	return n
}
