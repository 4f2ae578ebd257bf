package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/baseline/mrl"
	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/testmodel"
)

// runTimed runs the CLI as irgen does and logs how long it took.
func runTimed(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	start := time.Now()
	code := cli.MainIO(args, &out, &errb)
	t.Logf("irgen %s: %s", args[0], time.Since(start).Round(time.Millisecond))
	return out.String(), errb.String(), code
}

// TestMRL trains MRL on the shared tiny model (four separable classes,
// 512 gallery images, 64 queries) with train-mrl and evaluates its methods
// with eval and eval-mrl.
func TestMRL(t *testing.T) {
	dir := testmodel.Copy(t)

	// Before train-mrl the methods are unavailable, with a hint.
	if _, errOut, code := runTimed(t, "eval", "--model", dir, "--method", "mrl-adaptive", "--k", "1"); code == 0 || !strings.Contains(errOut, "train-mrl") {
		t.Errorf("eval before train-mrl: exit %d, %q; want an error naming train-mrl", code, errOut)
	}

	train := []string{"train-mrl", "--model", dir, "--dim", "16", "--epochs", "1", "--batch", "32", "--limit", "256", "--lr", "3e-3", "--hnsw-ef-construction", "100"}
	for _, bad := range [][]string{
		{"--dim", "0"},
		{"--nesting", "8,12"},
		{"--nesting", "8,x"},
		{"--epochs", "0"},
		{"--limit", "-1"},
		{"--lr", "0"},
		{"--hnsw-m", "1"},
		{"--no-such-flag"},
		{"extra-argument"},
	} {
		if _, errOut, code := runTimed(t, append(append([]string(nil), train...), bad...)...); code == 0 || (code != 2 && bad[0] != "--no-such-flag") {
			t.Errorf("train-mrl %v: exit %d (%s); want 2", bad, code, errOut)
		}
	}
	if _, errOut, code := runTimed(t, "train-mrl"); code != 2 {
		t.Errorf("train-mrl without --model: exit %d (%s); want 2", code, errOut)
	}

	_, errOut, code := runTimed(t, train...)
	if code != 0 {
		t.Fatalf("train-mrl exit %d: %s", code, errOut)
	}
	t.Logf("train-mrl:\n%s", lastLines(errOut, 8))
	man, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{mrl.ConfigFile, mrl.WeightsFile, mrl.StateFile, mrl.EmbeddingsFile, mrl.HNSWFile} {
		if !strings.Contains(string(man), `"`+f+`"`) {
			t.Errorf("manifest does not record %s", f)
		}
	}
	// A second run finds everything done.
	if _, errOut, code := runTimed(t, train...); code != 0 || !strings.Contains(errOut, "up to date") {
		t.Errorf("second train-mrl: exit %d:\n%s", code, errOut)
	}
	// Other settings on a trained model are refused.
	if _, errOut, code := runTimed(t, "train-mrl", "--model", dir, "--dim", "32", "--epochs", "1", "--batch", "32", "--limit", "256"); code == 0 {
		t.Errorf("train-mrl with another --dim: exit 0:\n%s", errOut)
	}

	// HNSW recall against exact search on the tiny model's embeddings,
	// gallery images as leave-one-out queries.
	emb, err := mrl.ReadEmbeddings(filepath.Join(dir, mrl.EmbeddingsFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, mrl.HNSWFile))
	if err != nil {
		t.Fatal(err)
	}
	g, err := hnsw.Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := mrl.NewIndex(emb)
	self := func(q, id int) bool { return q == id }
	exact, err := ix.Search(emb.Data, 10, mrl.Exact(emb.Dim), self)
	if err != nil {
		t.Fatal(err)
	}
	approx, err := mrl.SearchHNSW(g, emb.Data, 10, self)
	if err != nil {
		t.Fatal(err)
	}
	var hits, total int
	for q, rs := range exact {
		hits += knn.Hits(rs, approx[q])
		total += len(rs)
	}
	if r := float64(hits) / float64(total); r < 0.95 {
		t.Errorf("HNSW recall@10 on the tiny model = %.3f; want ≥ 0.95", r)
	} else {
		t.Logf("HNSW recall@10 on the tiny model = %.3f", r)
	}

	// The registered methods in irgen eval.
	out, errOut, code := runTimed(t, "eval", "--model", dir, "--json", "--k", "1,10", "--method", "mrl,mrl-adaptive,mrl-funnel,mrl-hnsw")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	rows := cli.DecodeEval(t, out)
	for _, r := range rows {
		t.Logf("%s: P@1 %.3f P@10 %.3f MAP@100 %.3f", r.Method, r.Precision["1"], r.Precision["10"], r.MAP["100"])
		if r.Queries != 64 || r.Precision["1"] < 0.9 {
			t.Errorf("%s: %+v; want 64 queries and P@1 ≥ 0.9 on separable data", r.Method, r)
		}
	}
	if len(rows) != 4 {
		t.Errorf("eval printed %d methods; want 4:\n%s", len(rows), out)
	}

	// eval-mrl: adaptive retrieval at D_r = D_s = D is exact search, and
	// a funnel whose shortlists cover the gallery too (same CSV files).
	csv := t.TempDir()
	out, errOut, code = runTimed(t, "eval-mrl", "--model", dir, "--csv", csv, "--k", "10,25",
		"--dr", "16", "--ds", "16", "--shortlist", "10", "--funnel-dr", "4", "--funnel-dims", "8,16", "--funnel-shortlists", "600,600")
	if code != 0 {
		t.Fatalf("eval-mrl exit %d: %s", code, errOut)
	}
	t.Logf("eval-mrl:\n%s", out)
	for _, want := range []string{"mrl@8", "mrl@16", "mrl-adaptive", "mrl-funnel", "mrl-hnsw", "mAP@10", "top25"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval-mrl output lacks %q", want)
		}
	}
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(csv, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	exactCSV := read("exactl2_16dim-25-NN.csv")
	if lines := strings.Count(exactCSV, "\n"); lines != 64 {
		t.Errorf("exact CSV has %d rows; want 64", lines)
	}
	if first, _, _ := strings.Cut(exactCSV, "\n"); strings.Count(first, ",") != 24 {
		t.Errorf("exact CSV row %q; want 25 ids", first)
	}
	if got := read("16dim-reranked16_10shortlist_exactl2.csv"); got != exactCSV {
		t.Error("adaptive retrieval with D_r = D_s = D differs from exact search")
	}
	if got := read("4dim-cascade[8,16]_[600,600]shortlist_exactl2.csv"); got != exactCSV {
		t.Error("funnel over the whole gallery differs from exact search")
	}

	out, errOut, code = runTimed(t, "eval-mrl", "--model", dir, "--json", "--method", "mrl-adaptive", "--queries", "8")
	if code != 0 {
		t.Fatalf("eval-mrl --json exit %d: %s", code, errOut)
	}
	var r struct {
		Method  string             `json:"method"`
		Cascade string             `json:"cascade"`
		Queries int                `json:"queries"`
		TopK    map[string]float64 `json:"topk"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Queries != 8 || r.Cascade != "16→16[200]" || r.TopK["10"] < 0.9 {
		t.Errorf("eval-mrl --json: %+v, %v from %q", r, err, out)
	}

	for _, bad := range [][]string{
		{"--dr", "17"},
		{"--ds", "0", "--dr", "-1"},
		{"--shortlist", "0"},
		{"--method", "mrl@99"},
		{"--method", "nope"},
		{"--funnel-dims", "8,16", "--funnel-shortlists", "10"},
		{"--funnel-shortlists", "10,0"},
		{"--k", "0"},
	} {
		if _, errOut, code := runTimed(t, append([]string{"eval-mrl", "--model", dir}, bad...)...); code != 2 {
			t.Errorf("eval-mrl %v: exit %d (%s); want 2", bad, code, errOut)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
