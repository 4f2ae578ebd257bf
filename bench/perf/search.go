package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/irgen/irgen/internal/hnsw"
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

	stop, err := profile(o.cpuprofile)
	if err != nil {
		return nil, err
	}
	defer stop()
	var runs []record
	for _, threads := range o.threadList {
		searchers := make([]*knn.Searcher, threads)
		dsts := make([][]knn.Result, threads)
		for w := range searchers {
			searchers[w] = ix.NewSearcher()
			dsts[w] = make([]knn.Result, 0, o.k)
		}
		one := func(w, q int) error {
			var err error
			dsts[w], err = searchers[w].SearchInto(qs[q*d:(q+1)*d], o.k, dsts[w])
			return err
		}
		if _, _, err := perQuery(threads, min(nq, 20), one); err != nil { // warm-up
			return nil, err
		}
		wall, lat, err := perQuery(threads, nq, one)
		if err != nil {
			return nil, err
		}
		r := record{"threads": threads}
		addLatency(r, "", wall, lat)
		start = time.Now()
		if _, err := ix.SearchBatch(qs, o.k, threads); err != nil {
			return nil, err
		}
		r["batch_qps"] = float64(nq) / time.Since(start).Seconds()
		runs = append(runs, r)
	}
	rec["runs"] = runs
	return rec, nil
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
	exact, err := knn.New(d, metric)
	if err != nil {
		return nil, err
	}
	if err := exact.Add(data); err != nil {
		return nil, err
	}
	truth, err := exact.SearchBatch(qs, o.k, 0)
	if err != nil {
		return nil, err
	}
	exact = nil

	cfg := hnsw.DefaultConfig()
	cfg.M, cfg.EfConstruction, cfg.Metric = o.hnswM, o.efC, metric
	ix, err := hnsw.New(d, cfg)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for i := range n {
		if err := ix.Add(i, data[i*d:(i+1)*d]); err != nil {
			return nil, err
		}
	}
	build := time.Since(start)
	data = nil
	runtime.GC()

	rec := searchRecord("hnsw", o, n, nq, d)
	rec["M"], rec["ef_construction"], rec["build_s"] = o.hnswM, o.efC, seconds(build)
	stop, err := profile(o.cpuprofile)
	if err != nil {
		return nil, err
	}
	defer stop()
	var points []record
	for _, threads := range o.threadList {
		searchers := make([]*hnsw.Searcher, threads)
		dsts := make([][]knn.Result, threads)
		for w := range searchers {
			searchers[w] = ix.NewSearcher()
		}
		backing := make([]knn.Result, nq*o.k)
		for _, ef := range efs {
			// Preallocated so that recording results does not allocate
			// inside the timed loop.
			results := make([][]knn.Result, nq)
			for q := range results {
				results[q] = backing[q*o.k : q*o.k : (q+1)*o.k]
			}
			for w := range searchers {
				searchers[w].Ef = ef
				dsts[w] = make([]knn.Result, 0, o.k)
			}
			one := func(w, q int) error {
				var err error
				dsts[w], err = searchers[w].SearchInto(qs[q*d:(q+1)*d], o.k, dsts[w])
				results[q] = append(results[q][:0], dsts[w]...)
				return err
			}
			if _, _, err := perQuery(threads, min(nq, 20), one); err != nil { // warm-up
				return nil, err
			}
			wall, lat, err := perQuery(threads, nq, one)
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
	rec["points"] = points
	return rec, nil
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
