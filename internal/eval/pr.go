package eval

// PRPoint is one point of a precision-recall curve.
type PRPoint struct {
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
}

// PRCurve averages, over queries, precision and recall at every rank
// 1..ranks. Recall here is the classic fraction of all relevant items
// retrieved by that rank, not the hit rate of RecallAtK.
type PRCurve struct {
	prec, rec []float64 // sums per rank
	queries   int
}

// NewPRCurve returns a curve with one point per rank 1..ranks.
func NewPRCurve(ranks int) *PRCurve {
	ranks = max(ranks, 0)
	return &PRCurve{prec: make([]float64, ranks), rec: make([]float64, ranks)}
}

// Add accumulates one query. Ranks past the end of retrievedLabels count as
// misses. A query with numRelevant <= 0 has no defined recall and is
// skipped.
func (c *PRCurve) Add(retrievedLabels []int, queryLabel, numRelevant int) {
	if numRelevant <= 0 {
		return
	}
	c.queries++
	h := 0
	for r := range c.prec {
		if r < len(retrievedLabels) && retrievedLabels[r] == queryLabel {
			h++
		}
		c.prec[r] += float64(h) / float64(r+1)
		c.rec[r] += float64(h) / float64(numRelevant)
	}
}

// Queries returns the number of queries accumulated.
func (c *PRCurve) Queries() int { return c.queries }

// Points returns the averaged curve, one point per rank, or nil before any
// query was added.
func (c *PRCurve) Points() []PRPoint {
	if c.queries == 0 {
		return nil
	}
	pts := make([]PRPoint, len(c.prec))
	n := float64(c.queries)
	for r := range pts {
		pts[r] = PRPoint{Recall: c.rec[r] / n, Precision: c.prec[r] / n}
	}
	return pts
}
