package cli

import (
	"math"

	"github.com/irgen/irgen/internal/eval"
)

// lambdas are the weights of the decoder's prior tried on validation.
var lambdas = []float64{0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1}

// validated names the metrics of queryScores, which the ranking's weight
// must not lower.
var validated = [...]string{"P@1", "P@10", "R@10", "MAP@100"}

// queryScores are one validation query's P@1, P@10, R@10 and AP@100.
type queryScores [len(validated)]float64

func scoreQuery(labels []int, label, relevant int) queryScores {
	return queryScores{
		eval.PrecisionAtK(labels, label, 1),
		eval.PrecisionAtK(labels, label, 10),
		eval.RecallAtK(labels, label, 10),
		eval.APAtK(labels, label, 100, relevant),
	}
}

// meanScores averages each metric over the queries.
func meanScores(qs []queryScores) queryScores {
	var m queryScores
	for _, s := range qs {
		for j := range m {
			m[j] += s[j]
		}
	}
	for j := range m {
		m[j] /= float64(max(len(qs), 1))
	}
	return m
}

// gain is the mean over queries of the paired difference of the metrics'
// mean, a against b, and its standard error.
func gain(a, b []queryScores) (mean, stderr float64) {
	n := float64(len(a))
	if n < 2 {
		return 0, math.Inf(1)
	}
	d := make([]float64, len(a))
	for q := range a {
		for j := range a[q] {
			d[q] += (a[q][j] - b[q][j]) / float64(len(validated))
		}
		mean += d[q] / n
	}
	var ss float64
	for _, x := range d {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / (n - 1) / n)
}

// minLambdaQueries is the fewest validation queries on which a weight
// over 0 is chosen. The weight trades hits at R@10 and P@1 for purity of
// the list, and what it loses on the queries is a few tenths of a percent
// (mix2k: 3 queries of 400 at R@10 with 0.05 chosen on 80): with fewer
// than 200 validation queries one query is over 0.5%, and "lowers no
// metric" on validation says nothing of it.
const minLambdaQueries = 200

// pickLambda returns the index of the weight to rank with, given each
// weight's per-query scores (index 0: weight 0, the order of feature
// similarity alone). A weight is taken over 0 only on at least
// minLambdaQueries queries, when it lowers none of the metrics' means and
// its mean gain over the queries is more than twice its standard error, so
// that a small validation set does not move the ranking on noise; among
// those, the largest gain wins.
func pickLambda(per [][]queryScores) int {
	if len(per[0]) < minLambdaQueries {
		return 0
	}
	base := meanScores(per[0])
	best, bestGain := 0, 0.0
	for i := 1; i < len(per); i++ {
		m := meanScores(per[i])
		lowers := false
		for j := range m {
			lowers = lowers || m[j] < base[j]
		}
		g, se := gain(per[i], per[0])
		if !lowers && g > 2*se && g > bestGain {
			best, bestGain = i, g
		}
	}
	return best
}

// scoreMap names the scores for the manifest.
func scoreMap(s queryScores) map[string]float64 {
	m := make(map[string]float64, len(s))
	for j, k := range validated {
		m[k] = s[j]
	}
	return m
}
