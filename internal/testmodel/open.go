package testmodel

import (
	"path/filepath"
	"testing"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/store"
)

// Open opens the model in dir on the configured backend.
func Open(dir string) (*engine.Engine, error) {
	b, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	be, err := backend.New(config.Backend())
	if err != nil {
		return nil, err
	}
	return engine.Open(b, be)
}

// MustOpen is Open that fails tb on an error.
func MustOpen(tb testing.TB, dir string) *engine.Engine {
	tb.Helper()
	e, err := Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// Attach opens the model in dir and attaches its catalog. Single images
// encode in a batch of one, as the server does: the default batch of 64
// costs ~50 times more per image.
func Attach(dir string) (*engine.Engine, *catalog.Catalog, error) {
	e, err := Open(dir)
	if err != nil {
		return nil, nil, err
	}
	e.Tokenizer.Batch, e.QueryBatch = 1, 1
	c, err := catalog.Attach(e, filepath.Join(dir, catalog.File))
	if err != nil {
		return nil, nil, err
	}
	return e, c, nil
}

// Queries returns the shared data set's test images, normalized by e's
// transform, and their labels.
func Queries(tb testing.TB, e *engine.Engine) (images []float32, labels []int) {
	tb.Helper()
	ds, err := dataset.Open(Data(tb), dataset.Options{Limits: imageproc.DefaultLimits()})
	if err != nil {
		tb.Fatal(err)
	}
	n := ds.Query.Len()
	idx := make([]int, n)
	labels = make([]int, n)
	for i := range idx {
		idx[i] = i
		labels[i] = ds.Query.Label(i)
	}
	images = make([]float32, n*e.Transform.Len())
	if err := dataset.NewLoader(ds.Query, e.Transform, 2).Fill(idx, -1, images, nil); err != nil {
		tb.Fatal(err)
	}
	return images, labels
}
