package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// encRow is one implementation's encoder measurement with the matmul
// skeleton that explains it.
type encRow struct {
	Size         string  `json:"size"`
	Batch        string  `json:"batch"`
	Phase        string  `json:"phase"`
	Backend      string  `json:"backend"`
	MS           float64 `json:"ms"`
	ImagesPerS   float64 `json:"images_per_s"`
	MatmulMS     float64 `json:"matmul_ms"`
	StemMS       float64 `json:"stem_ms,omitempty"`
	MatmulShare  float64 `json:"matmul_share"`
	OtherMS      float64 `json:"other_ms"`
	GFLOP        float64 `json:"matmul_gflop"`
	MatmulGFLOPS float64 `json:"matmul_gflops"`
	StemGFLOPS   float64 `json:"stem_gflops,omitempty"`
	PeakGFLOPS   float64 `json:"backend_peak_gflops"`
	PeakMiB      float64 `json:"peak_mib"`
}

// peak returns the big-matmul GFLOP/s of a backend and the machine's
// best over all backends and torch.
func (rp *report) peak(backend string) (own, best float64) {
	for _, r := range rp.all("bench", "matmul") {
		g := r.f("gflops_achieved")
		best = max(best, g)
		if r.s("backend") == backend {
			own = g
		}
	}
	return own, best
}

func (rp *report) encoder() []encRow {
	encs := rp.all("bench", "encoder")
	if len(encs) == 0 {
		return nil
	}
	_, best := rp.peak("")
	rp.encoderIntro(encs, best)
	var rows []encRow
	for _, e := range encs {
		row := rp.encRow(e)
		rows = append(rows, row)
		rp.printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f |\n", row.Size, row.Batch, row.Phase, row.Backend,
			num(row.MS), num(row.ImagesPerS), num(row.MatmulMS), num(row.StemMS), pct(row.MatmulShare, 1), num(row.OtherMS),
			num(row.MatmulGFLOPS), pct(row.MatmulGFLOPS, row.PeakGFLOPS), pct(row.MatmulGFLOPS, best), row.PeakMiB)
	}
	rp.printf("\nmatmul-only: the same graph's matmuls and convolutions with the same shapes and data flow and nothing else (`perf -mode skeleton`, its PyTorch twin), so matmul share = matmul-only / full time and other = the rest (norms, softmax, GELU, AdamW, layout copies). FLOPs are counted analytically (forward 2·MACs, train 3× forward).\n\n")

	// Ratios and their explanation, irgen backend by backend against torch.
	for _, r := range rows {
		if r.Backend == "torch" {
			continue
		}
		i := slices.IndexFunc(rows, func(t encRow) bool {
			return t.Backend == "torch" && t.Size == r.Size && t.Batch == r.Batch && t.Phase == r.Phase
		})
		if i >= 0 {
			rp.encoderVsTorch(r, rows[i], best)
		}
	}
	rp.printf("\n")
	return rows
}

// encoderIntro prints what the encoder section measures, the matmul peaks
// (best is the machine's) and the head of its table.
func (rp *report) encoderIntro(encs []rec, best float64) {
	rp.printf("## Encoder: ViT forward and train step\n\n")
	rp.printf("Same ViT in both (internal/encoder sizes: dims, depth, heads, MLP, patching, stem, pre-norm blocks, exact GELU, class token); train step = forward, linear head, cross-entropy, backward, AdamW. Inputs are random images; the peer runs PyTorch on the CPU with as many threads as cores.\n\n")
	if n := encs[0].f("rounds"); n > 1 {
		rp.printf("Every encoder, matmul-only and peak measurement ran in %.0f rounds, irgen's and PyTorch's processes taking turns within each round; each keeps its fastest round (a round's time is the median of its calls). All rounds' times are in bench.json (`ms_rounds`).\n\n", n)
	}
	rp.printf("Matmul peak measured with one square matmul: ")
	var peaks []string
	for _, r := range rp.all("bench", "matmul") {
		peaks = append(peaks, fmt.Sprintf("%s %.0f GFLOP/s (n=%s)", r.s("backend"), r.f("gflops_achieved"), r.s("n")))
	}
	rp.printf("%s. Machine peak taken as the best: %.0f GFLOP/s.\n\n", strings.Join(peaks, ", "), best)
	rp.printf("| size | batch | phase | impl | ms/call | images/s | matmul-only ms | of which stem conv ms | matmul share | other ms | matmul GFLOP/s | %% backend peak | %% machine peak | peak MiB |\n|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
}

// encRow joins encoder measurement e with the skeleton runs of the same
// size, batch, phase and backend.
func (rp *report) encRow(e rec) encRow {
	key := []string{"size", e.s("size"), "batch", e.s("batch"), "phase", e.s("phase"), "backend", e.s("backend")}
	row := encRow{Size: e.s("size"), Batch: e.s("batch"), Phase: e.s("phase"), Backend: e.s("backend"),
		MS: e.f("ms"), ImagesPerS: e.f("images_per_s"), GFLOP: e.f("matmul_gflop"), PeakMiB: e.peakMiB()}
	row.PeakGFLOPS, _ = rp.peak(row.Backend)
	if sk := rp.find(append([]string{"bench", "skeleton", "part", "all"}, key...)...); sk != nil {
		row.MatmulMS = sk.f("ms")
		row.MatmulShare = math.Min(row.MatmulMS/row.MS, 1)
		row.OtherMS = math.Max(row.MS-row.MatmulMS, 0)
		row.MatmulGFLOPS = sk.f("gflops_achieved")
	}
	if st := rp.find(append([]string{"bench", "skeleton", "part", "stem"}, key...)...); st != nil {
		row.StemMS, row.StemGFLOPS = st.f("ms"), st.f("gflops_achieved")
	}
	return row
}

// pct is a/b as a whole percentage, or "–" if either is 0.
func pct(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

// encoderVsTorch adds the ratio of irgen row r to torch row t and, when
// both have a matmul-only time, explains it by matmuls and other ops.
func (rp *report) encoderVsTorch(r, t encRow, best float64) {
	name := fmt.Sprintf("encoder %s %s×%s, %s [%s]", r.Phase, r.Size, r.Batch, map[string]string{"forward": "ms/batch", "train": "ms/step"}[r.Phase], r.Backend)
	ir := rp.find("bench", "encoder", "size", r.Size, "batch", r.Batch, "phase", r.Phase, "backend", r.Backend)
	pr := rp.find("bench", "encoder", "size", r.Size, "batch", r.Batch, "phase", r.Phase, "backend", "torch")
	rp.addRatio(name, "ms", r.MS, t.MS, "torch", ir, pr)
	if why := refusal(pr); why != "" {
		rp.printf("- **%s %s×%s, %s vs torch: %s.**\n", r.Phase, r.Size, r.Batch, r.Backend, why)
		return
	}
	if r.MatmulMS == 0 || t.MatmulMS == 0 {
		return
	}
	gap := r.MS - t.MS
	mmGap := r.MatmulMS - t.MatmulMS
	rp.printf("- **%s %s×%s, %s vs torch: %.2f×.** Matmuls: %.1f vs %.1f ms (%.0f vs %.0f GFLOP/s, %.0f%% vs %.0f%% of the machine peak)",
		r.Phase, r.Size, r.Batch, r.Backend, r.MS/t.MS, r.MatmulMS, t.MatmulMS, r.MatmulGFLOPS, t.MatmulGFLOPS,
		100*r.MatmulGFLOPS/best, 100*t.MatmulGFLOPS/best)
	if r.StemMS > 0 && t.StemMS > 0 {
		rp.printf(", of which the convolutional stem %.1f vs %.1f ms (%.1f vs %.1f GFLOP/s)", r.StemMS, t.StemMS, r.StemGFLOPS, t.StemGFLOPS)
	}
	rp.printf("; other ops: %.1f vs %.1f ms.", r.OtherMS, t.OtherMS)
	for _, x := range []encRow{r, t} {
		if x.MatmulMS > x.MS {
			rp.printf(" (%s: the matmuls alone take longer than the whole graph, %.1f vs %.1f ms, so they run faster fused into it; its share is capped at 100%% and its other ops count as 0.)", x.Backend, x.MatmulMS, x.MS)
		}
	}
	if math.Abs(gap) > 0 {
		rp.printf(" Of the %+.1f ms difference, %+.1f ms is in matmuls and %+.1f ms in other ops.", gap, mmGap, gap-mmGap)
	}
	rp.printf("\n")
}

// search reports exact and HNSW search over the main search data set.
func (rp *report) search() {
	hn, fh := rp.hnswRecs()
	if hn == nil {
		return
	}
	n := hn.s("n")
	rp.printf("## Search: exact and HNSW, n=%s, d=%s, k=%s, %s queries\n\n", n, hn.s("d"), hn.s("k"), hn.s("q"))
	rp.printf("Same .npy gallery and queries on both sides (unit vectors, inner product). Latency: one query per call on one thread. QPS at T threads: all queries in one call (irgen: knn.SearchBatch with T workers, hnsw over T goroutines; FAISS: one search call over T OpenMP threads).\n\n")
	rp.exactSearch(hn)
	rp.hnswSearch(hn, fh)
	if fh == nil {
		return
	}
	rp.equalRecall(hn, fh)
}

// hnswRecs returns irgen's and the peer's HNSW measurements on the main
// data set: the largest gallery with an hnsw run.
func (rp *report) hnswRecs() (hn, fh rec) {
	for _, r := range rp.all("bench", "search", "kind", "hnsw") {
		if r.s("impl") == "irgen" {
			hn = r
		} else {
			fh = r
		}
	}
	return hn, fh
}

// exactSearch prints the exact-search table at hn's gallery size and adds
// its latency and batch ratios against FAISS.
func (rp *report) exactSearch(hn rec) {
	n := hn.s("n")
	exact := rp.all("bench", "search", "kind", "exact", "impl", "irgen", "n", n)
	fexact := rp.all("bench", "search", "kind", "exact", "impl", "faiss", "n", n)
	flops := func(qps float64) float64 { return qps * 2 * hn.f("n") * hn.f("d") / 1e9 }
	rp.printf("| exact | threads | latency µs (mean / p50 / p99) | QPS per-query calls | QPS one batch call | batch GFLOP/s | peak MiB |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, set := range [][]rec{exact, fexact} {
		for _, r := range set {
			for _, run := range r.list("runs") {
				lat := "–"
				if run.f("us_mean") > 0 {
					lat = fmt.Sprintf("%s / %s / %s", num(run.f("us_mean")), num(run.f("us_p50")), num(run.f("us_p99")))
				}
				rp.printf("| %s | %s | %s | %s | %s | %.1f | %.0f |\n", r.s("impl"), run.s("threads"), lat, num(run.f("qps")), num(run.f("batch_qps")), flops(run.f("batch_qps")), r.peakMiB())
			}
		}
	}
	if a, ar := runAt(exact, "1"); a != nil {
		if b, br := runAt(fexact, "1"); b != nil {
			rp.addRatio("exact latency (median), 1 thread, n="+n, "µs/query", a.f("us_p50"), b.f("us_p50"), "IndexFlatIP", ar, br)
		}
	}
	for _, t := range threadsOf(hn) {
		if a, ar := runAt(exact, t); a != nil {
			if b, br := runAt(fexact, t); b != nil {
				rp.addRatio(fmt.Sprintf("exact batch, %s thread(s), n=%s", t, n), "µs/query", 1e6/a.f("batch_qps"), 1e6/b.f("batch_qps"), "IndexFlatIP", ar, br)
			}
		}
	}
	rp.printf("\nbatch GFLOP/s = QPS·2·n·d: the exact scan's arithmetic rate, to set against the matmul peaks above.\n\n")
}

// runAt returns the first run at threads in set and the measurement that
// holds it.
func runAt(set []rec, threads string) (rec, rec) {
	for _, r := range set {
		for _, run := range r.list("runs") {
			if run.s("threads") == threads {
				return run, r
			}
		}
	}
	return nil, nil
}

// hnswSearch prints the HNSW table of irgen's hn and the peer's fh (nil
// if none) and their build times.
func (rp *report) hnswSearch(hn, fh rec) {
	rp.printf("| HNSW M=%s efC=%s | threads | efSearch | recall@%s | latency µs (mean / p99) | QPS batch |\n|---|--:|--:|--:|--:|--:|\n", hn.s("M"), hn.s("ef_construction"), hn.s("k"))
	for _, r := range []rec{hn, fh} {
		if r == nil {
			continue
		}
		for _, p := range r.list("points") {
			lat := "–"
			if p.f("us_mean") > 0 {
				lat = fmt.Sprintf("%s / %s", num(p.f("us_mean")), num(p.f("us_p99")))
			}
			rp.printf("| %s | %s | %s | %.3f | %s | %s |\n", r.s("impl"), p.s("threads"), p.s("ef_search"), p.f("recall"), lat, num(p.f("batch_qps")))
		}
	}
	rp.printf("\nBuild on one thread: irgen %.1f s (peak %.0f MiB)", hn.f("build_s"), hn.peakMiB())
	if fh != nil {
		rp.printf(", FAISS %.1f s (peak %.0f MiB)", fh.f("build_s"), fh.peakMiB())
		rp.addRatio("HNSW build, 1 thread, n="+hn.s("n"), "s", hn.f("build_s"), fh.f("build_s"), "IndexHNSWFlat", hn, fh)
	}
	rp.printf(".\n\n")
}

// equalRecall sets irgen's HNSW hn against the peer's fh at equal recall:
// for each target, the fastest efSearch that reaches it on each side.
func (rp *report) equalRecall(hn, fh rec) {
	rp.printf("At equal recall (the fastest efSearch reaching it on each side):\n\n| recall ≥ | threads | irgen ef | irgen µs/query | FAISS ef | FAISS µs/query | irgen/FAISS |\n|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, target := range []float64{0.9, 0.95, 0.99} {
		for _, t := range threadsOf(hn) {
			a, b := fastest(hn, t, target), fastest(fh, t, target)
			if a == nil || b == nil {
				continue
			}
			ta, tb := 1e6/a.f("batch_qps"), 1e6/b.f("batch_qps")
			cell := fmt.Sprintf("%.2f", ta/tb)
			if why := refusal(fh); why != "" {
				cell = why
			}
			rp.printf("| %.2f | %s | %s | %s | %s | %s | %s |\n", target, t, a.s("ef_search"), num(ta), b.s("ef_search"), num(tb), cell)
			rp.addRatio(fmt.Sprintf("HNSW at recall≥%.2f, %s thread(s), n=%s", target, t, hn.s("n")), "µs/query", ta, tb, "IndexHNSWFlat", hn, fh)
		}
	}
	rp.printf("\n(µs/query = 1/QPS of the batch at that thread count.)\n\n")
}

// searchN is the gallery size of the HNSW comparison.
func (rp *report) searchN() string {
	if r := rp.find("bench", "search", "kind", "hnsw"); r != nil {
		return r.s("n")
	}
	return ""
}

func threadsOf(r rec) []string {
	var out []string
	for _, p := range r.list("points") {
		if t := p.s("threads"); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// fastest returns the point of r at threads with recall ≥ target and the
// highest batch QPS.
func fastest(r rec, threads string, target float64) rec {
	var best rec
	for _, p := range r.list("points") {
		if p.s("threads") == threads && p.f("recall") >= target && (best == nil || p.f("batch_qps") > best.f("batch_qps")) {
			best = p
		}
	}
	return best
}

func ratioStr(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", a/b)
}

func (rp *report) state() {
	r := rp.find("bench", "state")
	if r == nil {
		return
	}
	s, _ := r["state"].(map[string]any)
	st := rec(s)
	rp.printf("## Serving state per gallery image\n\n")
	rp.printf("Measured heap per image at n=%s (D=%s, M=%s): gallery %.1f B (feature %.1f, ID %.1f, key+label %.1f), exact index %.1f B, prefix tree %.1f B: **%.1f B/image, %.0f MiB per 1M images** (budget %.0f B/image, docs/performance.md). Process peak %.0f MiB.\n\n",
		st.s("n"), st.s("d"), st.s("id_m"), st.f("gallery_bytes_per_image"), st.f("features_bytes_per_image"), st.f("codes_bytes_per_image"),
		st.f("keys_labels_bytes_per_image"), st.f("knn_index_bytes_per_image"), st.f("trie_bytes_per_image"),
		st.f("total_bytes_per_image"), st.f("total_mib_at_1m"), r.f("budget_bytes_per_image"), r.peakMiB())
}
