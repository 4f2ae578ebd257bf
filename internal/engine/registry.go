package engine

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/irgen/irgen/internal/knn"
)

// A Retriever is a retrieval method. Those beyond the built-in ones (the
// other seed systems: ViT-DSI, BoVW, IRT, Matryoshka, HNSW) are
// registered, usually with their own files in the model bundle. A
// Retriever searches the engine's gallery: hits index Gallery().
//
// A Retriever only produces candidates. Engine.Search owns the policy:
// it checks the options, times the search, drops the images Options.Exclude
// names and the deleted ones, cuts the lists to K, and asks the method
// again, for more, when dropping left a query short.
type Retriever interface {
	// Search returns, for each of the n query images (n × H × W × C,
	// normalized with Engine.Transform), its best gallery images, best
	// first: req.K of them when it has that many (more is fine), and
	// fewer only when it has no more at req's settings. It may pass over
	// the images req.Skip reports, as its index searches; the engine drops
	// any it returns. It also returns how long encoding the queries took,
	// the part of the search that Timing.Encode reports. The engine has
	// checked req; Search must not call the engine's methods, which may
	// be locked.
	Search(images []float32, n int, req Request) ([][]Hit, time.Duration, error)
}

// Request is what Engine.Search asks of a method.
type Request struct {
	K    int // candidates wanted per query, > 0
	Beam int // beam width of the methods that use one, > 0
	// Skip, when not nil, reports the gallery images that the engine will
	// drop from query q's results: those Options.Exclude names and the
	// deleted ones. q is the query's position among the n images.
	Skip func(q, id int) bool
	// Batch is Options.Batch: when > 0, the most queries a method's
	// encoder should run at once, padded to a power of two.
	Batch int
}

// Hits converts the result lists of an exact or approximate index to hits.
func Hits(res [][]knn.Result) [][]Hit {
	out := make([][]Hit, len(res))
	for q, rs := range res {
		out[q] = make([]Hit, len(rs))
		for i, r := range rs {
			out[q][i] = Hit{Index: r.ID, Score: r.Score}
		}
	}
	return out
}

// SearchEmbedded is the Search of a Retriever over embeddings: it embeds
// the n query images with embed, timing it, and finds their neighbours
// with find. Errors are returned as they are.
func SearchEmbedded(images []float32, n int, embed func(images []float32, n int) ([]float32, error),
	find func(q []float32) ([][]knn.Result, error)) ([][]Hit, time.Duration, error) {
	start := time.Now()
	q, err := embed(images, n)
	if err != nil {
		return nil, 0, err
	}
	enc := time.Since(start)
	res, err := find(q)
	if err != nil {
		return nil, enc, err
	}
	return Hits(res), enc, nil
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

// retriever returns the built-in method m, or opens (once) and returns
// the registered method m.
func (e *Engine) retriever(m Method) (Retriever, error) {
	if slices.Contains(Methods, m) {
		return builtin{e, m}, nil
	}
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
