package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawLines is a hand-made raw.jsonl: irgen and its peers on one encoder
// and one search data set, with the peers' BLAS fields filled in by
// torchBLAS and faissBLAS ("" leaves the fields out, as before issue #15).
func rawLines(torchBLAS, faissBLAS string) string {
	blas := func(kind string) string {
		switch kind {
		case "":
			return ""
		case "reference":
			return `,"blas":"reference","blas_path":"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"`
		}
		return `,"blas":"` + kind + `","blas_path":"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"`
	}
	tb, fb := blas(torchBLAS), blas(faissBLAS)
	points := `"points":[{"threads":1,"ef_search":16,"recall":0.93,"batch_qps":20000},{"threads":1,"ef_search":64,"recall":0.995,"batch_qps":8000}]`
	return strings.Join([]string{
		`{"bench":"meta","impl":"run.sh","date":"2026-12-06T10:00:00Z","quick":0,"load_avg_start":0.1}`,
		`{"bench":"matmul","impl":"irgen","backend":"go","mode":"matmul","n":2048,"ms":100,"gflops_achieved":170}`,
		`{"bench":"matmul","impl":"torch","backend":"torch","torch":"1.13.0a0","mode":"matmul","n":2048,"ms":2100,"gflops_achieved":8` + tb + `}`,
		`{"bench":"encoder","impl":"irgen","backend":"go","mode":"encoder","size":"tiny","batch":8,"phase":"forward","ms":80,"vm_hwm_kb":200000}`,
		`{"bench":"encoder","impl":"torch","backend":"torch","torch":"1.13.0a0","mode":"encoder","size":"tiny","batch":8,"phase":"forward","ms":3733,"vm_hwm_kb":300000` + tb + `,"blas_build":"generic"}`,
		`{"bench":"search","impl":"irgen","kind":"exact","mode":"exact","n":2000,"d":128,"k":10,"q":100,"runs":[{"threads":1,"us_p50":50,"batch_qps":30000}]}`,
		`{"bench":"search","impl":"faiss","faiss":"1.7.3","kind":"exact","mode":"exact","n":2000,"d":128,"k":10,"q":100,"runs":[{"threads":1,"us_p50":40,"batch_qps":40000}]` + fb + `}`,
		`{"bench":"search","impl":"irgen","kind":"hnsw","mode":"hnsw","n":2000,"d":128,"k":10,"q":100,"M":16,"ef_construction":200,"build_s":1,` + points + `}`,
		`{"bench":"search","impl":"faiss","faiss":"1.7.3","kind":"hnsw","mode":"hnsw","n":2000,"d":128,"k":10,"q":100,"M":16,"ef_construction":200,"build_s":2,` + points + fb + `}`,
		`{"bench":"search","impl":"irgen","kind":"exact","mode":"exact","n":5000,"d":128,"k":10,"q":50,"runs":[{"threads":1,"us_p50":120}]}`,
		`{"bench":"search","impl":"faiss","faiss":"1.7.3","kind":"exact","mode":"exact","n":5000,"d":128,"k":10,"q":50,"runs":[{"threads":1,"us_p50":100}]` + fb + `}`,
		`{"bench":"beam","impl":"irgen","backend":"go","n":5000,"qbatch":1,"ids":4900,"width":30,"id_m":4,"id_l":256,"ms_per_query":2}`,
	}, "\n") + "\n"
}

// runReport reads raw as bench/report does and returns the report after
// every section that adds ratios, with its ratio table.
func runReport(t *testing.T, raw string) (*report, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raw.jsonl")
	if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := readLines(path)
	if err != nil {
		t.Fatal(err)
	}
	rp := &report{recs: bestOfRounds(recs)}
	rp.encoder()
	rp.search()
	rp.beamVsKNN()
	return rp, rp.ratioTable()
}

// ratioOf returns the headline row whose measurement starts with prefix.
func ratioOf(t *testing.T, rp *report, prefix string) ratio {
	t.Helper()
	for _, r := range rp.ratios {
		if strings.HasPrefix(r.Measurement, prefix) {
			return r
		}
	}
	t.Fatalf("no ratio %q in %+v", prefix, rp.ratios)
	return ratio{}
}

// TestReferenceBLASNotCompared: PyTorch on the reference BLAS gets no
// ratio, in the table, bench.json's ratios or the encoder section, and
// FAISS on OpenBLAS keeps its ratios.
func TestReferenceBLASNotCompared(t *testing.T) {
	rp, table := runReport(t, rawLines("reference", "openblas"))
	enc := ratioOf(t, rp, "encoder forward tiny×8")
	if enc.NotCompared != notCompared || enc.Ratio != 0 || enc.PeerBLAS != "reference" {
		t.Errorf("encoder ratio %+v; want not compared, ratio 0, peer BLAS reference", enc)
	}
	if enc.Irgen != 80 || enc.Peer != 3733 {
		t.Errorf("encoder ratio %+v; want both times kept (80, 3733)", enc)
	}
	ex := ratioOf(t, rp, "exact latency (median), 1 thread, n=2000")
	if ex.NotCompared != "" || ex.Ratio != 50.0/40 || ex.PeerBLAS != "openblas" {
		t.Errorf("exact ratio %+v; want 1.25 against FAISS on openblas", ex)
	}
	for _, want := range []string{
		"| 3733 (torch; reference) | " + notCompared + " |",
		"(IndexFlatIP; openblas) | **1.25** |",
		"torch reference (`/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0`), built for BLAS_INFO=generic",
		"faiss openblas (`/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3`)",
		"its ratios are not reported",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("ratio table lacks %q:\n%s", want, table)
		}
	}
	md := rp.md.String()
	if !strings.Contains(md, "go vs torch: "+notCompared+".**") || strings.Contains(md, "go vs torch: 0.") {
		t.Errorf("encoder section compares with torch on the reference BLAS:\n%s", md)
	}
}

// TestReferenceBLASSearchNotCompared: FAISS on the reference BLAS gets no
// ratio in the headline table, the equal-recall table or the beam table.
func TestReferenceBLASSearchNotCompared(t *testing.T) {
	rp, table := runReport(t, rawLines("openblas", "reference"))
	for _, r := range rp.ratios {
		faiss := strings.HasPrefix(r.PeerName, "Index")
		if faiss && (r.NotCompared != notCompared || r.Ratio != 0) {
			t.Errorf("ratio %+v against FAISS on the reference BLAS", r)
		}
		if !faiss && r.NotCompared != "" {
			t.Errorf("ratio %+v refused; its peer is not on the reference BLAS", r)
		}
	}
	if got := strings.Count(table, notCompared+" |"); got != 7 {
		t.Errorf("table has %d refused rows; want 7 (exact latency and batch, HNSW build, 3 recall targets, exact latency at n=5000):\n%s", got, table)
	}
	md := rp.md.String()
	if !strings.Contains(md, "| 64 | 125 | "+notCompared+" |") {
		t.Errorf("equal-recall table compares with FAISS on the reference BLAS:\n%s", md)
	}
	if !strings.Contains(md, "| 2.00 |  |  | 0 | 16.7 | "+notCompared+" |") {
		t.Errorf("beam table compares with FAISS on the reference BLAS:\n%s", md)
	}
}

// TestBLASNotRecorded: lines from before issue #15 have no BLAS fields;
// their ratios stay, and the report says the BLAS is unknown.
func TestBLASNotRecorded(t *testing.T) {
	rp, table := runReport(t, rawLines("", ""))
	for _, r := range rp.ratios {
		if r.NotCompared != "" || r.Ratio == 0 {
			t.Errorf("ratio %+v; want a ratio", r)
		}
	}
	if !strings.Contains(table, "(torch; BLAS not recorded)") || !strings.Contains(table, "torch not recorded") {
		t.Errorf("table does not say the BLAS was not recorded:\n%s", table)
	}
}

// TestBeamPerEncoder: a beam line with the encoder's time in the same
// calls gets both in the beam table and its ratio in the headline table.
func TestBeamPerEncoder(t *testing.T) {
	raw := strings.Replace(rawLines("openblas", "openblas"), `"ms_per_query":2}`,
		`"ms_per_query":2,"encode_ms_per_query":1.25,"search_per_encode":1.7}`, 1)
	rp, _ := runReport(t, raw)
	if md := rp.md.String(); !strings.Contains(md, "| 2.00 | 1.25 | 1.70× |") {
		t.Errorf("beam table lacks the encoder's time and the per-call ratio:\n%s", md)
	}
	r := ratioOf(t, rp, "beam search / query encoder, n=5000, 1 queries a call [go]")
	if r.Ratio != 2/1.25 || r.PeerName != "own encoder" || r.NotCompared != "" {
		t.Errorf("headline ratio %+v; want 2 / 1.25 against the own encoder", r)
	}
}
