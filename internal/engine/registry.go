package engine

import (
	"fmt"
	"sort"
	"sync"
)

// A Retriever is a retrieval method beyond the built-in ones (the other
// seed systems: ViT-DSI, BoVW, IRT, Matryoshka, HNSW), usually with its
// own files in the model bundle. It searches the engine's gallery: hits
// index Gallery().
type Retriever interface {
	// Search retrieves the top opt.K gallery images for each of the n
	// query images (n × H × W × C, normalized with Engine.Transform).
	Search(images []float32, n int, opt Options) ([][]Hit, Timing, error)
}

// Opener loads a method's Retriever for an engine. It returns
// ErrUnavailable when the model lacks what the method needs (say, its
// training has not been run), with a hint on how to get it.
type Opener func(e *Engine) (Retriever, error)

// ErrUnavailable reports a method the model cannot serve yet.
var ErrUnavailable = fmt.Errorf("engine: method not available for this model")

var (
	regMu    sync.Mutex
	registry = map[Method]Opener{}
)

// Register adds a retrieval method. It panics if the name is taken (a
// programmer error, at init time).
func Register(m Method, open Opener) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, b := range Methods {
		if b == m {
			panic("engine: method " + string(m) + " is built in")
		}
	}
	if _, ok := registry[m]; ok {
		panic("engine: method " + string(m) + " registered twice")
	}
	registry[m] = open
}

// Registered lists the registered methods, sorted.
func Registered() []Method {
	regMu.Lock()
	defer regMu.Unlock()
	var out []Method
	for m := range registry {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// retriever opens (once) and returns the registered method m.
func (e *Engine) retriever(m Method) (Retriever, error) {
	regMu.Lock()
	open, ok := registry[m]
	regMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("engine: unknown method %q (have %v and %v)", m, Methods, Registered())
	}
	e.retMu.Lock()
	defer e.retMu.Unlock()
	if r, ok := e.retrievers[m]; ok {
		return r, nil
	}
	r, err := open(e)
	if err != nil {
		return nil, err
	}
	if e.retrievers == nil {
		e.retrievers = map[Method]Retriever{}
	}
	e.retrievers[m] = r
	return r, nil
}

// Available reports whether the engine can serve method m.
func (e *Engine) Available(m Method) bool {
	for _, b := range Methods {
		if b == m {
			return (m != IRGen && m != IRGenGen) || e.Decoder != nil
		}
	}
	_, err := e.retriever(m)
	return err == nil
}
