package engine

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/tokenizer"
)

// featureEngine returns an engine over a random gallery of n images of
// dim-wide features (IDs of one token in [0, 16)), with no model.
func featureEngine(t *testing.T, n, dim int) (*Engine, *gallery.Gallery) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), uint64(dim)))
	g := &gallery.Gallery{Dim: dim, M: 1, L: 16, Classes: []string{"c"}}
	for i := range n {
		f := make([]float32, dim)
		for j := range f {
			f[j] = float32(rng.NormFloat64())
		}
		if _, err := g.Append(fmt.Sprintf("img/%d", i), 0, f, []int32{int32(i % 16)}); err != nil {
			t.Fatal(err)
		}
	}
	e := &Engine{Tokenizer: &tokenizer.Model{Config: tokenizer.Config{FeatureDim: dim, M: 1, L: 16}}}
	if err := e.SetGallery(g); err != nil {
		t.Fatal(err)
	}
	return e, g
}

// nearest returns the gallery image the exact index ranks first for q.
func nearest(t *testing.T, e *Engine, q []float32) int {
	t.Helper()
	res, err := e.index.SearchBatch(q, 1, 1)
	if err != nil || len(res[0]) != 1 {
		t.Fatalf("exact search: %v, %v", res, err)
	}
	return res[0][0].ID
}

// TestIndexSharesGalleryFeatures checks that the exact index reads the
// gallery's features rather than a copy, after SetGallery and after
// images are added (the gallery's array then moves): a feature changed in
// the gallery changes what the index finds.
func TestIndexSharesGalleryFeatures(t *testing.T) {
	const n, dim = 40, 8
	e, g := featureEngine(t, n, dim)
	q := []float32{1, -2, 3, -4, 5, -6, 7, -8}
	finds := func(id int) {
		t.Helper()
		copy(g.Feature(id), q)
		if got := nearest(t, e, q); got != id {
			t.Errorf("after writing the query into gallery feature %d, the index finds %d first", id, got)
		}
		clear(g.Feature(id))
	}
	finds(5)
	for i := range 30 { // grows the gallery's array several times
		e.mu.Lock()
		err := e.insert(g.Len(), fmt.Sprintf("new/%d", i), 0, make([]float32, dim), []int32{3})
		e.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	finds(5)
	finds(n + 20)
}

// TestRestoreKeepsOneCopy checks the bytes SetGallery allocates per image
// against the features' own: the prefix tree and the index's inverse
// norms, not another copy of the features.
func TestRestoreKeepsOneCopy(t *testing.T) {
	const n, dim = 20000, 256
	e, g := featureEngine(t, n, dim)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := e.SetGallery(g); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if per := float64(after.TotalAlloc-before.TotalAlloc) / n; per > dim {
		t.Errorf("SetGallery allocated %.0f bytes per image; want under a quarter of the feature's %d", per, 4*dim)
	}
}
