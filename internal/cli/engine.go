package cli

import (
	"github.com/irgen/irgen/internal/engine"
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

func msPer(d interface{ Seconds() float64 }, n int) float64 {
	return d.Seconds() * 1000 / float64(max(n, 1))
}
