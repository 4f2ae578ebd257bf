package eval

// The two retrieval metrics of seed 004 (MRL, retrieval/compute_metrics.py)
// that differ from this package's. Its other two are already here:
// precision@k (np.sum(matches)/k) is PrecisionAtK, and top-k accuracy (1
// if any of the first k is relevant) is RecallAtK, the hit rate.

// ClassRecallAtK returns the fraction of the query's relevant gallery items
// found among the first k retrieved: hits in the top k divided by
// numRelevant, the number of gallery items sharing the query's label (the
// query itself left out when it is in the gallery). This is seed 004's
// recall@k, np.sum(matches)/1300, with the actual class size in place of
// ImageNet-1K's nominal 1300 images per class. It returns 0 when k or
// numRelevant is not positive.
func ClassRecallAtK(retrievedLabels []int, queryLabel, k, numRelevant int) float64 {
	if k <= 0 || numRelevant <= 0 {
		return 0
	}
	return float64(hits(retrievedLabels, queryLabel, k)) / float64(numRelevant)
}

// APOverKAtK returns seed 004's mAP@k term for one query:
//
//	Σ_{r=1..k} P@r·rel(r) / k
//
// the precision at each relevant rank summed and divided by k, whatever
// the number of relevant items. It equals APAtK when the gallery holds at
// least k relevant items (then min(k, numRelevant) = k), and is smaller
// otherwise: a perfect list of 3 relevant items scores 3/k, not 1. Missing
// ranks (fewer than k retrieved) count as misses. It returns 0 for k <= 0.
func APOverKAtK(retrievedLabels []int, queryLabel, k int) float64 {
	if k <= 0 {
		return 0
	}
	return precisionSum(retrievedLabels, queryLabel, k) / float64(k)
}
