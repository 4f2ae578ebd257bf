package cli_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/testmodel"
)

// TestEvalPerClass checks eval --per-class on the shared tiny model: the
// classes' queries add up to all queries, their P@1 averages (weighted by
// queries) to the method's, and the table reaches stdout and --markdown.
func TestEvalPerClass(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	dir := testmodel.Copy(t)
	out, errOut, code := irgen("eval", "--model", dir, "--method", "knn,rqtree", "--k", "1,10", "--per-class", "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r eval.Result
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if len(r.Classes) < 2 {
			t.Fatalf("%s: classes %+v; want one per query label", r.Method, r.Classes)
		}
		var n int
		var p1 float64
		for _, c := range r.Classes {
			n += c.Queries
			p1 += c.Precision[1] * float64(c.Queries)
		}
		if n != r.Queries || math.Abs(p1/float64(n)-r.Precision[1]) > 1e-9 {
			t.Errorf("%s: classes hold %d queries, P@1 %g; the method %d, %g", r.Method, n, p1/float64(n), r.Queries, r.Precision[1])
		}
	}

	md := filepath.Join(t.TempDir(), "eval.md")
	out, errOut, code = irgen("eval", "--model", dir, "--method", "knn", "--per-class", "--markdown", md)
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	const header = "| class | queries | knn P@1 | knn MAP@100 |"
	file, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, header) || !strings.Contains(string(file), header) {
		t.Errorf("no per-class table in stdout:\n%s\nor in --markdown:\n%s", out, file)
	}
	if out, _, _ := irgen("eval", "--model", dir, "--method", "knn"); strings.Contains(out, "| class |") {
		t.Errorf("per-class table without --per-class:\n%s", out)
	}
}
