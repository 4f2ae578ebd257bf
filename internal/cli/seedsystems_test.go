package cli_test

import (
	"bytes"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/testmodel"
)

// irgen runs the CLI and returns its standard output, standard error and
// exit code.
func irgen(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := cli.MainIO(args, &out, &errb)
	return out.String(), errb.String(), code
}

func evalJSON(t *testing.T, args ...string) map[string]cli.EvalRow {
	t.Helper()
	out, errOut, code := irgen(append([]string{"eval", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("eval %v: exit %d: %s", args, code, errOut)
	}
	rows := map[string]cli.EvalRow{}
	for _, r := range cli.DecodeEval(t, out) {
		rows[r.Method] = r
	}
	return rows
}

// TestIRT trains IRT on the shared tiny model: without fine-tuning and
// with the head feature, irt and irt-o must score exactly as knn; after a
// few steps with the cross-batch memory and a momentum encoder, irt still
// separates the four classes.
func TestIRT(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	model := testmodel.Copy(t)
	if _, errOut, code := irgen("eval", "--model", model, "--method", "irt"); code == 0 || !strings.Contains(errOut, "train-irt") {
		t.Errorf("eval irt before train-irt: exit %d, %q", code, errOut)
	}
	if _, errOut, code := irgen("train-irt", "--model", model, "--max-iter", "0", "--feature", "head"); code != 0 {
		t.Fatalf("train-irt: exit %d: %s", code, errOut)
	}
	rows := evalJSON(t, "--model", model, "--method", "knn,irt-o,irt", "--k", "1,10")
	for _, m := range []string{"irt-o", "irt"} {
		got, want := rows[m], rows["knn"]
		for _, k := range []string{"1", "10"} {
			if got.Precision[k] != want.Precision[k] || got.Recall[k] != want.Recall[k] {
				t.Errorf("%s P@%s %v R@%s %v; knn %v %v", m, k, got.Precision[k], k, got.Recall[k], want.Precision[k], want.Recall[k])
			}
		}
		if got.MAP["100"] != want.MAP["100"] || got.Queries != testmodel.NumTest {
			t.Errorf("%s: %+v; knn %+v", m, got, want)
		}
	}
	if _, errOut, code := irgen("train-irt", "--model", model, "--feature", "cls"); code == 0 || !strings.Contains(errOut, "feature head") {
		t.Errorf("train-irt with another feature: exit %d, %q", code, errOut)
	}

	model = testmodel.Copy(t)
	if _, errOut, code := irgen("train-irt", "--model", model, "--max-iter", "4", "--batch", "32", "--lr", "1e-4",
		"--memory-ratio", "0.25", "--encoder-momentum", "0.9"); code != 0 {
		t.Fatalf("train-irt: exit %d: %s", code, errOut)
	}
	rows = evalJSON(t, "--model", model, "--method", "irt,irt-o", "--k", "1,10")
	for _, m := range []string{"irt", "irt-o"} {
		r, ok := rows[m]
		if !ok {
			t.Errorf("eval printed no %s", m)
			continue
		}
		t.Logf("%s: P@1 %.3f P@10 %.3f MAP@100 %.3f", m, r.Precision["1"], r.Precision["10"], r.MAP["100"])
		if r.Precision["1"] < 0.9 {
			t.Errorf("%s: P@1 %.3f on separable classes", m, r.Precision["1"])
		}
	}
	if _, errOut, code := irgen("train-irt", "--model", model, "--margin", "0.5", "--encoder-momentum", "1"); code != 2 {
		t.Errorf("train-irt --encoder-momentum 1: exit %d, %q", code, errOut)
	}
}

// TestDSI trains a tiny ViT-DSI on the shared model's 512 gallery images
// and checks the two methods, the indexing accuracy and search.
func TestDSI(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	model := testmodel.Copy(t)
	if _, errOut, code := irgen("eval", "--model", model, "--method", "dsi-zeroshot"); code == 0 || !strings.Contains(errOut, "train-dsi") {
		t.Errorf("eval dsi-zeroshot before train-dsi: exit %d, %q", code, errOut)
	}
	dsiArgs := []string{"train-dsi", "--model", model, "--ids", "label", "--index-epochs", "2", "--retrieval-epochs", "1",
		"--batch", "32", "--dim", "32", "--depth", "1", "--heads", "2", "--mlp", "64", "--lr", "3e-3", "--ia-sample", "32"}
	_, errOut, code := irgen(dsiArgs...)
	if code != 0 {
		t.Fatalf("train-dsi: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"zero-shot IA@1", "fine-tuned IA@1", "IDs of 3 digits"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("train-dsi output lacks %q:\n%s", want, errOut)
		}
	}
	if _, errOut, code := irgen("train-dsi", "--model", model, "--ids", "random"); code == 0 || !strings.Contains(errOut, "scheme label") {
		t.Errorf("train-dsi with other IDs: exit %d, %q", code, errOut)
	}
	// --fresh retrieval retrains the retrieval phase only, over a
	// finished one, and leaves a model that opens.
	_, errOut, code = irgen(append(dsiArgs, "--fresh", "retrieval")...)
	if code != 0 || strings.Contains(errOut, "dsi indexing: validation") || !strings.Contains(errOut, "dsi retrieval: validation at step") {
		t.Errorf("train-dsi --fresh retrieval: exit %d: %s", code, errOut)
	}
	rows := evalJSON(t, "--model", model, "--method", "dsi-zeroshot,dsi", "--k", "1,10", "--map-k", "10", "--beam", "8")
	for _, m := range []string{"dsi-zeroshot", "dsi"} {
		r := rows[m]
		t.Logf("%s: P@1 %.3f R@10 %.3f MAP@10 %.3f", m, r.Precision["1"], r.Recall["10"], r.MAP["10"])
		if r.Queries != testmodel.NumTest || r.MAP["10"] <= 0 {
			t.Errorf("%s: %+v", m, r)
		}
	}
	// Label-clustered IDs and a retrieval phase: the fine-tuned model
	// finds the class (four trivially separable classes).
	if p := rows["dsi"].Precision["10"]; p < 0.5 {
		t.Errorf("dsi: P@10 %.3f", p)
	}

	out, errOut, code := irgen("dsi-indexing-acc", "--model", model, "--sample", "32", "--json")
	if code != 0 {
		t.Fatalf("dsi-indexing-acc: exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, `"ia@1"`); n != 2 {
		t.Errorf("dsi-indexing-acc printed %d results:\n%s", n, out)
	}

	q := filepath.Join(t.TempDir(), "q.png")
	f, err := os.Create(q)
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, testmodel.Image(2, rand.New(rand.NewPCG(9, 9))))
	f.Close()
	// 40 gallery images though the default beam is 30.
	out, errOut, code = irgen("search", "--model", model, "--method", "dsi", "--k", "40", q)
	if code != 0 {
		t.Fatalf("search: exit %d: %s", code, errOut)
	}
	if n := strings.Count(out, "/train/"); n != 40 {
		t.Errorf("search: %d results; want 40:\n%s", n, out)
	}
}
