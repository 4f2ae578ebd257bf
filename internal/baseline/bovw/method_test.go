package bovw_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/baseline/bovw"
	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/testmodel"
)

// TestCommandAndMethod trains the method with 'irgen train-bovw' on the
// tiny model and searches it through the engine and 'irgen eval'.
func TestCommandAndMethod(t *testing.T) {
	dir := testmodel.Copy(t)
	e := testmodel.MustOpen(t, dir)
	if e.Available(bovw.Method) {
		t.Fatal("bovw available before train-bovw")
	}
	if _, err := bovw.Open(e); !errors.Is(err, engine.ErrUnavailable) || !strings.Contains(err.Error(), "train-bovw") {
		t.Fatalf("Open before training: %v, want ErrUnavailable with a hint", err)
	}
	var log bytes.Buffer
	args := []string{"train-bovw", "--model", dir, "--k", "16", "--limit", "128", "--train-descriptors", "2000", "--kmeans-iters", "5"}
	if code := cli.MainIO(args, &log, &log); code != 0 {
		t.Fatalf("train-bovw: exit %d\n%s", code, log.String())
	}
	t.Log(log.String())
	// 28×28 images get the small-image defaults, under the flags given.
	if !strings.Contains(log.String(), "16 words, dense SIFT (grid step 3, size 2.5), upright") {
		t.Errorf("train-bovw did not use the small-image defaults with --k 16:\n%s", log.String())
	}
	b, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(bovw.File); err != nil {
		t.Fatalf("index not recorded: %v", err)
	}

	e = testmodel.MustOpen(t, dir)
	qs, labels := testmodel.Queries(t, e)
	n := len(labels)
	hits, _, err := e.Search(bovw.Method, qs, n, engine.Options{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	g := e.Gallery()
	right := 0
	for q, hs := range hits {
		if len(hs) != 10 {
			t.Fatalf("query %d: %d hits", q, len(hs))
		}
		for _, h := range hs {
			if int(g.Labels[h.Index]) == labels[q] {
				right++
			}
		}
	}
	// Four classes, so chance is 0.25 (± 0.02 over these 640 hits). The
	// classes differ only in where a band lies, which an orderless bag of
	// words sees only through the descriptors of the grid nodes near the
	// image's border (0.95 with the small-image defaults, 0.37 with DoG
	// keypoints).
	p := float64(right) / float64(10*n)
	t.Logf("precision@10 on the tiny model's queries: %.3f", p)
	if p < 0.6 {
		t.Errorf("precision@10 %.3f, want ≥ 0.6", p)
	}

	var out bytes.Buffer
	log.Reset()
	if code := cli.MainIO([]string{"eval", "--model", dir, "--method", "bovw,hnsw,knn", "--queries", "32"}, &out, &log); code != 0 {
		t.Fatalf("eval: exit %d\n%s", code, log.String())
	}
	for _, m := range []string{"bovw", "hnsw", "knn"} {
		if !strings.Contains(out.String(), m) {
			t.Errorf("eval table lacks %s:\n%s", m, out.String())
		}
	}
	t.Log("\n" + out.String())

	// An index of another gallery is refused.
	ix, err := bovw.Load(b.Path(bovw.File))
	if err != nil {
		t.Fatal(err)
	}
	ix.GalleryDigest = store.KeysDigest([]string{"other"})
	var buf bytes.Buffer
	if _, err := ix.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.Path(bovw.File), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := bovw.Open(e); !errors.Is(err, engine.ErrUnavailable) {
		t.Errorf("Open of a stale index: %v, want ErrUnavailable", err)
	}
	for _, bad := range [][]string{{"--k", "1"}, {"--detector", "harris"}, {"--limit", "-1"}} {
		if code := cli.MainIO(append([]string{"train-bovw", "--model", dir}, bad...), &log, &log); code != 2 {
			t.Errorf("train-bovw %v: exit %d, want 2", bad, code)
		}
	}
}
