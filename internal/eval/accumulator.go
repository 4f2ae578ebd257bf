package eval

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrK reports a cutoff k that is not positive.
var ErrK = errors.New("eval: k must be positive")

// Scores are metrics averaged over a set of queries, keyed by the cutoff
// k; in JSON the keys appear as strings ("1", "10").
type Scores struct {
	Queries   int             `json:"queries"`
	Precision map[int]float64 `json:"precision"`
	Recall    map[int]float64 `json:"recall"`
	MAP       map[int]float64 `json:"map"`
}

// Result is the summary of one method's evaluation.
type Result struct {
	Method string `json:"method"`
	Scores
	// Fraction is the fraction of the relevant items retrieved (see
	// FractionAtK), where Recall is the hit rate.
	Fraction   map[int]float64 `json:"fraction,omitempty"`
	MsPerQuery float64         `json:"ms_per_query"`
	MsEncode   float64         `json:"ms_encode"`
	MsSearch   float64         `json:"ms_search"`
	// Classes holds the metrics of each query label's queries alone, when
	// they were asked for (see ByClass).
	Classes []ClassResult `json:"classes,omitempty"`
}

// Accumulator averages per-query metrics and latencies. It is not safe for
// concurrent use; give each goroutine its own and Merge them.
type Accumulator struct {
	// Method names the system under test; it is copied into Result.
	Method string

	ks      []int
	mapK    int
	queries int
	prec    []float64 // sums of P@ks[i]
	rec     []float64 // sums of R@ks[i]
	frac    []float64 // sums of FractionAtK(ks[i])
	ap      float64   // sum of AP@mapK

	timed          int
	encode, search time.Duration
}

// New returns an Accumulator reporting precision and recall at each cutoff
// in ks and MAP at mapK. Duplicate cutoffs are dropped.
func New(ks []int, mapK int) (*Accumulator, error) {
	ks = slices.Clone(ks)
	slices.Sort(ks)
	ks = slices.Compact(ks)
	if len(ks) > 0 && ks[0] <= 0 {
		return nil, fmt.Errorf("%w: cutoff %d", ErrK, ks[0])
	}
	if mapK <= 0 {
		return nil, fmt.Errorf("%w: MAP cutoff %d", ErrK, mapK)
	}
	return &Accumulator{
		ks:   ks,
		mapK: mapK,
		prec: make([]float64, len(ks)),
		rec:  make([]float64, len(ks)),
		frac: make([]float64, len(ks)),
	}, nil
}

// Add scores one query: retrievedLabels are the labels of the retrieved
// items, best first, and numRelevant is how many gallery items share the
// query's label (the query itself excluded). See APAtK for how numRelevant
// enters MAP.
func (a *Accumulator) Add(retrievedLabels []int, queryLabel, numRelevant int) {
	a.queries++
	for i, k := range a.ks {
		a.prec[i] += PrecisionAtK(retrievedLabels, queryLabel, k)
		a.rec[i] += RecallAtK(retrievedLabels, queryLabel, k)
		a.frac[i] += FractionAtK(retrievedLabels, queryLabel, k, numRelevant)
	}
	a.ap += APAtK(retrievedLabels, queryLabel, a.mapK, numRelevant)
}

// AddLatency records the time one query spent being encoded and searched.
// Latencies are averaged over the calls to AddLatency, which need not match
// the calls to Add (a batch can be timed once and added per query).
func (a *Accumulator) AddLatency(encode, search time.Duration) {
	a.timed++
	a.encode += encode
	a.search += search
}

// Merge adds b's queries and latencies into a. Both must have been created
// with the same cutoffs.
func (a *Accumulator) Merge(b *Accumulator) error {
	if !slices.Equal(a.ks, b.ks) || a.mapK != b.mapK {
		return fmt.Errorf("eval: merge cutoffs %v@%d into %v@%d", b.ks, b.mapK, a.ks, a.mapK)
	}
	a.queries += b.queries
	for i := range a.ks {
		a.prec[i] += b.prec[i]
		a.rec[i] += b.rec[i]
		a.frac[i] += b.frac[i]
	}
	a.ap += b.ap
	a.timed += b.timed
	a.encode += b.encode
	a.search += b.search
	return nil
}

// Result returns the averages so far. With no queries every metric is 0.
func (a *Accumulator) Result() Result {
	r := Result{
		Method: a.Method,
		Scores: Scores{
			Queries:   a.queries,
			Precision: make(map[int]float64, len(a.ks)),
			Recall:    make(map[int]float64, len(a.ks)),
			MAP:       map[int]float64{a.mapK: mean(a.ap, a.queries)},
		},
		Fraction: make(map[int]float64, len(a.ks)),
	}
	for i, k := range a.ks {
		r.Precision[k] = mean(a.prec[i], a.queries)
		r.Recall[k] = mean(a.rec[i], a.queries)
		r.Fraction[k] = mean(a.frac[i], a.queries)
	}
	if a.timed > 0 {
		ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(a.timed) }
		r.MsEncode = ms(a.encode)
		r.MsSearch = ms(a.search)
		r.MsPerQuery = ms(a.encode + a.search)
	}
	return r
}

func mean(sum float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
