package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/knn"
)

// loadSearch reads the gallery and query files.
func loadSearch(o options) (data, qs []float32, n, nq, d int, err error) {
	if o.data == "" || o.queries == "" {
		return nil, nil, 0, 0, 0, errors.New("needs -data and -queries")
	}
	data, n, d, err = readNpy(o.data)
	if err != nil {
		return nil, nil, 0, 0, 0, err
	}
	qs, nq, qd, err := readNpy(o.queries)
	if err != nil {
		return nil, nil, 0, 0, 0, err
	}
	if qd != d {
		return nil, nil, 0, 0, 0, fmt.Errorf("queries have %d dims, gallery %d", qd, d)
	}
	return data, qs, n, nq, d, nil
}

func searchRecord(kind string, o options, n, nq, d int) record {
	return record{"bench": "search", "kind": kind, "n": n, "q": nq, "d": d, "k": o.k, "metric": o.metric}
}

// perQuery runs search(worker, query) for every query, spread over
// threads goroutines by contiguous shares, and returns the wall time and
// each query's latency.
func perQuery(threads, nq int, search func(w, q int) error) (time.Duration, []float64, error) {
	lat := make([]float64, nq)
	errs := make([]error, threads)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range threads {
		lo, hi := w*nq/threads, (w+1)*nq/threads
		wg.Go(func() {
			for q := lo; q < hi; q++ {
				t := time.Now()
				if err := search(w, q); err != nil {
					errs[w] = err
					return
				}
				lat[q] = time.Since(t).Seconds()
			}
		})
	}
	wg.Wait()
	return time.Since(start), lat, errors.Join(errs...)
}

// addLatency records per-query latency percentiles (µs) and throughput.
func addLatency(rec record, prefix string, wall time.Duration, lat []float64) {
	s := slices.Clone(lat)
	slices.Sort(s)
	rec[prefix+"us_mean"] = 1e6 * meanOf(s)
	rec[prefix+"us_p50"] = 1e6 * s[len(s)/2]
	rec[prefix+"us_p99"] = 1e6 * s[min(len(s)-1, len(s)*99/100)]
	rec[prefix+"qps"] = float64(len(lat)) / wall.Seconds()
}

// runExact times internal/knn: queries one at a time through a Searcher
// per thread (latency and QPS), and all queries in one SearchBatch call
// with the same number of workers (QPS).
func runExact(o options) (record, error) {
	runtime.GOMAXPROCS(slices.Max(o.threadList))
	data, qs, n, nq, d, err := loadSearch(o)
	if err != nil {
		return nil, err
	}
	metric, err := knn.ParseMetric(o.metric)
	if err != nil {
		return nil, err
	}
	ix, err := knn.New(d, metric)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := ix.Add(data); err != nil {
		return nil, err
	}
	data = nil
	build := time.Since(start)
	rec := searchRecord("exact", o, n, nq, d)
	rec["build_s"] = seconds(build)
	runs, err := profiled(o.cpuprofile, func() ([]record, error) { return exactRuns(o, ix, qs, d) })
	if err != nil {
		return nil, err
	}
	rec["runs"] = runs
	return rec, nil
}

// exactRuns times ix at every thread count of o: per-query calls and one
// SearchBatch call.
func exactRuns(o options, ix *knn.Index, qs []float32, d int) ([]record, error) {
	nq := len(qs) / d
	var runs []record
	for _, threads := range o.threadList {
		wall, lat, err := timeQueries(newSearchers(threads, ix.NewSearcher), qs, d, o.k, nil)
		if err != nil {
			return nil, err
		}
		r := record{"threads": threads}
		addLatency(r, "", wall, lat)
		start := time.Now()
		if _, err := ix.SearchBatch(qs, o.k, threads); err != nil {
			return nil, err
		}
		r["batch_qps"] = float64(nq) / time.Since(start).Seconds()
		runs = append(runs, r)
	}
	return runs, nil
}

// runHNSW builds internal/hnsw (one insert at a time, as the index
// serializes inserts) and, for every efSearch, times the queries as
// runExact does and measures recall@k against exact search.
func runHNSW(o options) (record, error) {
	runtime.GOMAXPROCS(slices.Max(o.threadList))
	data, qs, n, nq, d, err := loadSearch(o)
	if err != nil {
		return nil, err
	}
	efs, err := parseInts(o.efs)
	if err != nil {
		return nil, err
	}
	metric, err := knn.ParseMetric(o.metric)
	if err != nil {
		return nil, err
	}
	truth, err := exactTruth(data, qs, d, o.k, metric)
	if err != nil {
		return nil, err
	}
	ix, build, err := buildHNSW(o, metric, data, d)
	if err != nil {
		return nil, err
	}
	data = nil
	runtime.GC()

	rec := searchRecord("hnsw", o, n, nq, d)
	rec["M"], rec["ef_construction"], rec["build_s"] = o.hnswM, o.efC, seconds(build)
	points, err := profiled(o.cpuprofile, func() ([]record, error) { return hnswPoints(o, ix, qs, d, efs, truth) })
	if err != nil {
		return nil, err
	}
	rec["points"] = points
	return rec, nil
}

// exactTruth returns the exact top k of every query over data.
func exactTruth(data, qs []float32, d, k int, metric knn.Metric) ([][]knn.Result, error) {
	exact, err := knn.New(d, metric)
	if err != nil {
		return nil, err
	}
	if err := exact.Add(data); err != nil {
		return nil, err
	}
	return exact.SearchBatch(qs, k, 0)
}

// buildHNSW inserts every row of data, one at a time, into an index with
// o's M and efConstruction, and returns it with the build time.
func buildHNSW(o options, metric knn.Metric, data []float32, d int) (*hnsw.Index, time.Duration, error) {
	cfg := hnsw.DefaultConfig()
	cfg.M, cfg.EfConstruction, cfg.Metric = o.hnswM, o.efC, metric
	ix, err := hnsw.New(d, cfg)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	for i := range len(data) / d {
		if err := ix.Add(i, data[i*d:(i+1)*d]); err != nil {
			return nil, 0, err
		}
	}
	return ix, time.Since(start), nil
}

// hnswPoints times ix at every thread count of o and every efSearch of
// efs, and measures each point's recall against truth.
func hnswPoints(o options, ix *hnsw.Index, qs []float32, d int, efs []int, truth [][]knn.Result) ([]record, error) {
	nq := len(qs) / d
	var points []record
	for _, threads := range o.threadList {
		searchers := newSearchers(threads, ix.NewSearcher)
		backing := make([]knn.Result, nq*o.k)
		for _, ef := range efs {
			// Preallocated so that recording results does not allocate
			// inside the timed loop.
			results := make([][]knn.Result, nq)
			for q := range results {
				results[q] = backing[q*o.k : q*o.k : (q+1)*o.k]
			}
			for _, s := range searchers {
				s.Ef = ef
			}
			keep := func(q int, res []knn.Result) { results[q] = append(results[q][:0], res...) }
			wall, lat, err := timeQueries(searchers, qs, d, o.k, keep)
			if err != nil {
				return nil, err
			}
			p := record{"threads": threads, "ef_search": ef, "recall": recall(results, truth, o.k)}
			addLatency(p, "", wall, lat)
			// hnsw has no batch call: all queries over threads goroutines
			// is its batch, as FAISS's one call over OpenMP threads.
			p["batch_qps"] = p["qps"]
			points = append(points, p)
		}
	}
	return points, nil
}

// profiled runs measure under a CPU profile written to path, if any.
func profiled(path string, measure func() ([]record, error)) ([]record, error) {
	stop, err := profile(path)
	if err != nil {
		return nil, err
	}
	defer stop()
	return measure()
}

// searcher is the per-goroutine query side of knn.Index and hnsw.Index.
type searcher interface {
	SearchInto(q []float32, k int, dst []knn.Result) ([]knn.Result, error)
}

// newSearchers returns one searcher per thread.
func newSearchers[S searcher](threads int, newSearcher func() S) []S {
	searchers := make([]S, threads)
	for w := range searchers {
		searchers[w] = newSearcher()
	}
	return searchers
}

// timeQueries warms up on the first 20 queries of qs (rows of d values),
// then times every query for its top k as perQuery does, searchers[w]
// serving goroutine w. keep, if not nil, gets each query's results.
func timeQueries[S searcher](searchers []S, qs []float32, d, k int, keep func(q int, res []knn.Result)) (time.Duration, []float64, error) {
	threads, nq := len(searchers), len(qs)/d
	dsts := make([][]knn.Result, threads)
	for w := range dsts {
		dsts[w] = make([]knn.Result, 0, k)
	}
	one := func(w, q int) error {
		var err error
		dsts[w], err = searchers[w].SearchInto(qs[q*d:(q+1)*d], k, dsts[w])
		if keep != nil {
			keep(q, dsts[w])
		}
		return err
	}
	if _, _, err := perQuery(threads, min(nq, 20), one); err != nil { // warm-up
		return 0, nil, err
	}
	return perQuery(threads, nq, one)
}

// recall is the mean fraction of each query's exact top k found in got.
func recall(got, truth [][]knn.Result, k int) float64 {
	hit, total := 0, 0
	for q := range truth {
		want := truth[q][:min(k, len(truth[q]))]
		for _, g := range got[q][:min(k, len(got[q]))] {
			for _, w := range want {
				if g.ID == w.ID {
					hit++
					break
				}
			}
		}
		total += len(want)
	}
	if total == 0 {
		return 0
	}
	return float64(hit) / float64(total)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func scale(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}
