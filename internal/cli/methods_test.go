package cli_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/testmodel"
)

// TestMethodsSearchPolicy trains every seed system on the shared tiny
// model and checks that all methods, built in and registered, follow the
// engine's search policy alike: the same K check, K results, none that
// Exclude names, and never a deleted image, even when each method's own
// best images are deleted.
func TestMethodsSearchPolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every seed system")
	}
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	dir := testmodel.Copy(t)
	for _, args := range [][]string{
		{"train-irt", "--max-iter", "0", "--feature", "head"},
		{"train-dsi", "--ids", "label", "--index-epochs", "1", "--retrieval-epochs", "1", "--batch", "32",
			"--dim", "32", "--depth", "1", "--heads", "2", "--mlp", "64", "--lr", "3e-3", "--ia-sample", "8"},
		{"train-mrl", "--dim", "16", "--epochs", "1", "--batch", "32", "--limit", "256", "--lr", "3e-3", "--hnsw-ef-construction", "100"},
		{"train-bovw", "--k", "16", "--limit", "128", "--train-descriptors", "2000", "--kmeans-iters", "5"},
	} {
		if _, errOut, code := irgen(append([]string{args[0], "--model", dir}, args[1:]...)...); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, errOut)
		}
	}
	e := testmodel.MustOpen(t, dir)
	rng := rand.New(rand.NewPCG(5, 5))
	const n, k = testmodel.Classes, 5
	size := e.Transform.Len()
	images := make([]float32, n*size)
	for c := range n {
		if err := e.Transform.Eval(testmodel.Image(c, rng), images[c*size:(c+1)*size]); err != nil {
			t.Fatal(err)
		}
	}

	methods := append(slices.Clone(engine.Methods), engine.Registered()...)
	for _, m := range []engine.Method{"irt", "irt-o", "dsi", "dsi-zeroshot", "mrl", "mrl-adaptive", "mrl-funnel", "mrl-hnsw", "hnsw", "bovw"} {
		if !slices.Contains(methods, m) {
			t.Errorf("method %s is not registered", m)
		}
	}
	deleted := map[int]bool{}
	// check searches with opt and checks each query's hits: K of them,
	// none deleted nor excluded.
	check := func(m engine.Method, what string, opt engine.Options) [][]engine.Hit {
		t.Helper()
		hits, tm, err := e.Search(m, images, n, opt)
		if err != nil {
			t.Fatalf("%s, %s: %v", m, what, err)
		}
		if tm.Encode < 0 || tm.Search < 0 {
			t.Errorf("%s, %s: timing %+v", m, what, tm)
		}
		for q, hs := range hits {
			if len(hs) != k {
				t.Errorf("%s, %s: query %d has %d hits, want %d", m, what, q, len(hs), k)
			}
			for _, h := range hs {
				if deleted[h.Index] {
					t.Errorf("%s, %s: query %d: deleted image %d returned", m, what, q, h.Index)
				}
				if opt.Exclude != nil && opt.Exclude(q, h.Index) {
					t.Errorf("%s, %s: query %d: excluded image %d returned", m, what, q, h.Index)
				}
			}
		}
		return hits
	}
	for _, m := range methods {
		if !e.Available(m) {
			t.Errorf("%s is not available", m)
			continue
		}
		for _, bad := range []int{0, -1} {
			if _, _, err := e.Search(m, images, n, engine.Options{K: bad}); err == nil || !strings.Contains(err.Error(), "engine: k = ") {
				t.Errorf("%s, k %d: got %v; want the engine's k check", m, bad, err)
			}
		}
		hits := check(m, "plain", engine.Options{K: k})
		top := make([]int, n)
		for q, hs := range hits {
			if len(hs) > 0 {
				top[q] = hs[0].Index
			}
		}
		check(m, "exclude", engine.Options{K: k, Exclude: func(q, id int) bool { return id == top[q] || id%3 == 0 }})
		// Delete the method's own best images.
		for _, id := range top {
			if !deleted[id] {
				if err := e.Delete(id); err != nil {
					t.Fatalf("%s: delete %d: %v", m, id, err)
				}
				deleted[id] = true
			}
		}
		check(m, "after delete", engine.Options{K: k})
	}
	if err := e.Check(); err != nil {
		t.Error(err)
	}
}
