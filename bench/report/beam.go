package main

import (
	"fmt"
	"slices"
)

// beamVsKNN sets the decoder's beam search per query against exact kNN
// per query at each gallery size.
func (rp *report) beamVsKNN() {
	beams := rp.all("bench", "beam")
	if len(beams) == 0 {
		return
	}
	var sizes []string
	for _, b := range beams {
		if !slices.Contains(sizes, b.s("n")) {
			sizes = append(sizes, b.s("n"))
		}
	}
	rp.printf("## IRGen beam search vs kNN per query\n\n")
	b0 := beams[0]
	rp.printf("Decoder only (query encoding excluded), beam width %s over IDs of M=%s tokens in [0,%s), default CPU decoder with random weights; the trie holds the gallery's IDs (%s). kNN: exact top-10 over the same number of D=128 features, one query per call, one thread. ms/query: medians.\n\n", b0.s("width"), b0.s("id_m"), b0.s("id_l"), b0.s("source"))
	rp.printf("| gallery | distinct IDs | method | backend | queries/call | ms/query | encoder ms/query | beam / encoder | peak MiB | beam / irgen kNN | beam / FAISS kNN |\n|--:|--:|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, n := range sizes {
		var knnMS, faissMS float64
		ik := rp.find("bench", "search", "kind", "exact", "impl", "irgen", "n", n)
		fk := rp.find("bench", "search", "kind", "exact", "impl", "faiss", "n", n)
		for _, k := range []rec{ik, fk} {
			if k == nil {
				continue
			}
			for _, run := range k.list("runs") {
				if run.s("threads") == "1" {
					ms := run.f("us_p50") / 1000
					if k.s("impl") == "irgen" {
						knnMS = ms
					} else {
						faissMS = ms
					}
					rp.printf("| %s | | exact kNN | %s | 1 | %.3f | | | %.0f | | |\n", n, k.s("impl"), ms, k.peakMiB())
				}
			}
		}
		if knnMS > 0 && faissMS > 0 && n != rp.searchN() {
			rp.addRatio("exact latency (median), 1 thread, n="+n, "µs/query", 1000*knnMS, 1000*faissMS, "IndexFlatIP", ik, fk)
		}
		for _, b := range rp.all("bench", "beam", "n", n) {
			ms := b.f("ms_per_query")
			vsFAISS := ratioStr(ms, faissMS)
			if why := refusal(fk); why != "" {
				vsFAISS = why
			}
			rp.printf("| %s | %s | beam search | %s | %s | %.2f | %s | %s | %.0f | %s | %s |\n", n, b.s("ids"), b.s("backend"), b.s("qbatch"), ms,
				encodeMS(b), perEncode(b), b.peakMiB(), ratioStr(ms, knnMS), vsFAISS)
			rp.addRatio(fmt.Sprintf("beam search / query encoder, n=%s, %s queries a call [%s]", n, b.s("qbatch"), b.s("backend")),
				"ms/query", ms, b.f("encode_ms_per_query"), "own encoder", b, nil)
			if b.s("qbatch") == "1" {
				rp.addRatio(fmt.Sprintf("beam search / exact kNN per query, n=%s [%s]", n, b.s("backend")), "ms/query", ms, knnMS, "irgen knn", b, ik)
			}
		}
	}
	rp.printf("\nbeam / encoder: the median over calls of the beam search's time over the query encoder's in the same call (both under the same load); the headline table divides the medians.\n")
	rp.printf("\nBeam search costs M decoder steps over up to width×queries beams whatever the gallery size (the trie only filters tokens); exact kNN grows linearly with the gallery.\n\n")
}

// encodeMS is a beam record's query encoder ms/query, or "" for records
// made before it was measured.
func encodeMS(b rec) string {
	if b.f("encode_ms_per_query") <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", b.f("encode_ms_per_query"))
}

// perEncode is a beam record's median per-call ratio of search to encoder
// time, or "" for records made before it was measured.
func perEncode(b rec) string {
	if b.f("search_per_encode") <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", b.f("search_per_encode"))
}
