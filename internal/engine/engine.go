// Package engine is a loaded irgen model: the tokenizer, the decoder, the
// gallery with its prefix tree and exact index, and the retrieval methods
// over them. The CLI and the HTTP server both search through it.
package engine

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/gomlx/compute"

	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/rq"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
	"github.com/irgen/irgen/internal/trie"
)

// ConfigTransform is the bundle configuration key of the image transform.
const ConfigTransform = "transform"

// ErrNoDecoder reports a search with the irgen method on a model whose
// decoder is not trained yet.
var ErrNoDecoder = errors.New("engine: the decoder is not trained; run 'irgen train-decoder'")

// Engine is a model ready to search. Its methods are safe for concurrent
// use; adding and deleting images take a write lock.
type Engine struct {
	Bundle    *store.Bundle
	Transform imageproc.Transform
	Tokenizer *tokenizer.Model
	Decoder   *decoder.Model // nil before train-decoder
	Quantizer *rq.Quantizer

	// QueryBatch is the number of queries the decoder graphs are compiled
	// for; smaller batches are padded.
	QueryBatch int
	// Rerank orders the irgen method's candidates.
	Rerank Rerank

	// onePass: the decoder's query encoder computes the tokenizer's
	// feature too (shareEncoder).
	onePass bool

	retMu      sync.Mutex
	retrievers map[Method]Retriever

	// wmu serializes changes to the gallery (Add, Delete, Restore) and
	// their journal records; mu guards the gallery, trie and index
	// against searches.
	wmu     sync.Mutex
	journal Journal
	shared  SharedJournal

	mu      sync.RWMutex
	gallery *gallery.Gallery
	trie    *trie.Trie
	index   *knn.Index
	// dead marks the deleted images for Search to drop from the results
	// of methods with their own index. Never modified once set: Delete
	// replaces it, so a search may keep reading the set it took.
	dead deadSet
}

// Open loads the model in the bundle b. The gallery is optional (before
// assign) and so is the decoder.
func Open(b *store.Bundle, backend compute.Backend) (*Engine, error) {
	e := &Engine{Bundle: b, QueryBatch: 16, Rerank: Rerank{Lambda: DefaultLambda}}
	if err := b.Config(ConfigTransform, &e.Transform); err != nil {
		return nil, err
	}
	if err := b.Config(ConfigRerank, &e.Rerank); err != nil && !errors.Is(err, store.ErrNoConfig) {
		return nil, err
	}
	var err error
	if e.Tokenizer, err = tokenizer.Load(backend, b.Dir()); err != nil {
		return nil, err
	}
	if e.Quantizer, err = e.Tokenizer.Quantizer(); err != nil {
		return nil, err
	}
	if decoder.Trained(b.Dir()) {
		if e.Decoder, err = decoder.Load(backend, b.Dir()); err != nil {
			return nil, err
		}
		if err := e.shareEncoder(); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(b.Path(gallery.File))
	if errors.Is(err, os.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var g gallery.Gallery
	if _, err := g.ReadFrom(f); err != nil {
		return nil, err
	}
	return e, e.SetGallery(&g)
}

// SetGallery replaces the gallery and rebuilds the prefix tree and the
// exact index from it.
func (e *Engine) SetGallery(g *gallery.Gallery) error {
	return e.Restore(g, nil)
}

// Gallery returns the current gallery; callers must not modify it, nor
// read it while images may be added (use Entry then).
func (e *Engine) Gallery() *gallery.Gallery {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.gallery
}

// TrainedGallery returns e's gallery, for a method trained by the irgen
// command cmd; without one, an error wrapping ErrUnavailable that says
// to run 'irgen assign', then cmd.
func (e *Engine) TrainedGallery(cmd string) (*gallery.Gallery, error) {
	g := e.Gallery()
	if g == nil {
		return nil, fmt.Errorf("%w: no gallery; run 'irgen assign' then %s", ErrUnavailable, cmd)
	}
	return g, nil
}

// Codes residual-quantizes features (n × FeatureDim) into IDs (n × M).
func (e *Engine) Codes(features []float32) ([]int32, error) {
	return e.Quantizer.EncodeBatch(features)
}
