package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/store"
)

type transformT = imageproc.Transform

func openEngine(b *store.Bundle) (*engine.Engine, error) {
	backend, err := newBackend()
	if err != nil {
		return nil, err
	}
	return engine.Open(b, backend)
}

// openModel loads the model bundle in dir and opens its engine.
func openModel(dir string) (*store.Bundle, *engine.Engine, error) {
	b, err := loadBundle(dir)
	if err != nil {
		return nil, nil, err
	}
	e, err := openEngine(b)
	if err != nil {
		return nil, nil, err
	}
	return b, e, nil
}

// assigned returns the gallery of e, the engine of the model in dir; an
// error says to run 'irgen assign' when it has none yet.
func assigned(e *engine.Engine, dir string) (*gallery.Gallery, error) {
	g := e.Gallery()
	if g == nil {
		return nil, fmt.Errorf("%s has no gallery yet; run 'irgen assign --model %s'", dir, dir)
	}
	return g, nil
}

// writeJSONLines writes each of rows to w as one line of JSON.
func writeJSONLines[T any](w io.Writer, rows []T) error {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func msPer(d interface{ Seconds() float64 }, n int) float64 {
	return d.Seconds() * 1000 / float64(max(n, 1))
}
