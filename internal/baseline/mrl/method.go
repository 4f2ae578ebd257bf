package mrl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/store"
)

// The retrieval methods this package registers with the engine.
const (
	// MethodExact is exact L2 search over the normalized full embedding.
	MethodExact engine.Method = "mrl"
	// MethodAdaptive is adaptive retrieval with DefaultAdaptive: a
	// shortlist of 200 at 16 dimensions reranked at the full width.
	MethodAdaptive engine.Method = "mrl-adaptive"
	// MethodFunnel is funnel retrieval with DefaultFunnel: 8 dimensions,
	// then reranks at 16, 32, 64, 128 over shortlists 200, 100, 50, 25.
	MethodFunnel engine.Method = "mrl-funnel"
	// MethodHNSW is HNSW32 over the normalized full embedding.
	MethodHNSW engine.Method = "mrl-hnsw"
)

// ConfigHNSW is the bundle configuration key recording how the HNSW graph
// was built and from which embeddings file.
const ConfigHNSW = "mrl_hnsw"

// HNSWInfo is the ConfigHNSW record.
type HNSWInfo struct {
	M              int    `json:"m"`
	EfConstruction int    `json:"ef_construction"`
	EfSearch       int    `json:"ef_search"`
	Embeddings     string `json:"embeddings"` // SHA-256 of the embeddings file
}

func init() {
	cascade := func(c func(dim int) Cascade) func(r *Retrieval) (engine.Retriever, error) {
		return func(r *Retrieval) (engine.Retriever, error) { return r.Cascade(c(r.Model.Config.Dim)) }
	}
	engine.Register(MethodExact, opener(cascade(Exact)))
	engine.Register(MethodAdaptive, opener(cascade(DefaultAdaptive)))
	engine.Register(MethodFunnel, opener(cascade(DefaultFunnel)))
	engine.Register(MethodHNSW, opener((*Retrieval).HNSW))
}

// opener returns the engine.Opener of a method: Open, then method.
func opener(method func(r *Retrieval) (engine.Retriever, error)) engine.Opener {
	return func(e *engine.Engine) (engine.Retriever, error) {
		r, err := Open(e)
		if err != nil {
			return nil, err
		}
		return method(r)
	}
}

// Retrieval is a trained MRL model with the embeddings of an engine's
// gallery, ready to search.
type Retrieval struct {
	Model *Model
	Index *Index

	// bundle, not the engine: the per-engine cache must not keep the
	// engine reachable.
	bundle   *store.Bundle
	hnswOnce sync.Once
	hnsw     *hnsw.Index
	hnswErr  error
}

var (
	cacheMu sync.Mutex
	cache   = map[weak.Pointer[engine.Engine]]*Retrieval{}
)

// Open loads the MRL model and gallery embeddings of e's bundle, once per
// engine (the four methods share them). It returns an error wrapping
// engine.ErrUnavailable when 'irgen train-mrl' has not been run, or was run
// on a gallery that changed since.
func Open(e *engine.Engine) (*Retrieval, error) {
	key := weak.Make(e)
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if r, ok := cache[key]; ok {
		return r, nil
	}
	r, err := open(e)
	if err != nil {
		return nil, err
	}
	cache[key] = r
	runtime.AddCleanup(e, func(k weak.Pointer[engine.Engine]) {
		cacheMu.Lock()
		delete(cache, k)
		cacheMu.Unlock()
	}, key)
	return r, nil
}

func unavailable(dir, why string) error {
	return fmt.Errorf("%w: mrl: %s; run 'irgen train-mrl --model %s'", engine.ErrUnavailable, why, dir)
}

func open(e *engine.Engine) (*Retrieval, error) {
	b := e.Bundle
	dir := b.Dir()
	files := b.Manifest().Files
	for _, f := range []string{ConfigFile, WeightsFile, EmbeddingsFile} {
		if _, ok := files[f]; !ok {
			return nil, unavailable(dir, "the model has no "+f)
		}
	}
	g := e.Gallery()
	if g == nil {
		return nil, unavailable(dir, "the model has no gallery")
	}
	m, err := LoadBundle(e.Tokenizer.Backend, b)
	if err != nil {
		return nil, err
	}
	if m.Config.Encoder.ImageSize*m.Config.Encoder.ImageSize*m.Config.Encoder.Channels != e.Transform.Len() {
		return nil, fmt.Errorf("mrl: the model reads %d×%d×%d images, the engine's transform gives %d values",
			m.Config.Encoder.ImageSize, m.Config.Encoder.ImageSize, m.Config.Encoder.Channels, e.Transform.Len())
	}
	emb, err := ReadEmbeddings(b.Path(EmbeddingsFile))
	if err != nil {
		return nil, err
	}
	switch {
	case emb.Dim != m.Config.Dim:
		return nil, unavailable(dir, fmt.Sprintf("the embeddings have %d dimensions, the model %d", emb.Dim, m.Config.Dim))
	case emb.Model != files[WeightsFile].SHA256:
		return nil, unavailable(dir, "the embeddings were computed by other weights")
	case !emb.Covers(g.Keys):
		return nil, unavailable(dir, fmt.Sprintf("the embeddings cover %d images of another gallery (this one has %d)", emb.N, g.Len()))
	}
	ix, err := NewIndex(emb)
	if err != nil {
		return nil, err
	}
	return &Retrieval{Model: m, Index: ix, bundle: b}, nil
}

// ReadEmbeddings reads an embeddings file.
func ReadEmbeddings(path string) (*Embeddings, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mrl: %w", err)
	}
	defer f.Close()
	var emb Embeddings
	if _, err := emb.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("mrl: %s: %w", path, err)
	}
	return &emb, nil
}

// Cascade returns a retriever running cascade c.
func (r *Retrieval) Cascade(c Cascade) (engine.Retriever, error) {
	if err := c.Validate(r.Index.Dim()); err != nil {
		return nil, err
	}
	return cascadeRetriever{r: r, c: c}, nil
}

// HNSW returns the retriever over the HNSW graph saved by train-mrl.
func (r *Retrieval) HNSW() (engine.Retriever, error) {
	ix, err := r.HNSWIndex()
	if err != nil {
		return nil, err
	}
	return hnswRetriever{r: r, ix: ix}, nil
}

// HNSWIndex loads (once) the HNSW graph saved by train-mrl.
func (r *Retrieval) HNSWIndex() (*hnsw.Index, error) {
	r.hnswOnce.Do(func() { r.hnsw, r.hnswErr = r.loadHNSW() })
	return r.hnsw, r.hnswErr
}

func (r *Retrieval) loadHNSW() (*hnsw.Index, error) {
	b := r.bundle
	files := b.Manifest().Files
	var info HNSWInfo
	if _, ok := files[HNSWFile]; !ok {
		return nil, unavailable(b.Dir(), "the model has no "+HNSWFile)
	}
	if err := b.Config(ConfigHNSW, &info); err != nil || info.Embeddings != files[EmbeddingsFile].SHA256 {
		return nil, unavailable(b.Dir(), "the HNSW graph was built from other embeddings")
	}
	f, err := os.Open(b.Path(HNSWFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, unavailable(b.Dir(), "the model has no "+HNSWFile)
	}
	if err != nil {
		return nil, fmt.Errorf("mrl: %w", err)
	}
	defer f.Close()
	ix, err := hnsw.Load(f)
	if err != nil {
		return nil, fmt.Errorf("mrl: %s: %w", HNSWFile, err)
	}
	if ix.Len() != r.Index.Len() || ix.Dim() != r.Index.Dim() {
		return nil, unavailable(b.Dir(), fmt.Sprintf("the HNSW graph holds %d vectors of %d dimensions, the embeddings %d of %d",
			ix.Len(), ix.Dim(), r.Index.Len(), r.Index.Dim()))
	}
	return ix, nil
}

type cascadeRetriever struct {
	r *Retrieval
	c Cascade
}

// Search implements engine.Retriever.
func (cr cascadeRetriever) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	return cr.r.search(images, n, func(z []float32) ([][]knn.Result, error) {
		return cr.r.Index.Search(z, req.K, cr.c, req.Skip)
	})
}

type hnswRetriever struct {
	r  *Retrieval
	ix *hnsw.Index
}

// Search implements engine.Retriever.
func (hr hnswRetriever) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	return hr.r.search(images, n, func(z []float32) ([][]knn.Result, error) {
		return SearchHNSW(hr.ix, z, req.K, req.Skip)
	})
}

// search embeds the query images and finds their neighbours with find.
func (r *Retrieval) search(images []float32, n int, find func(z []float32) ([][]knn.Result, error)) ([][]engine.Hit, time.Duration, error) {
	return engine.SearchEmbedded(images, n, r.Model.Embed, find)
}

// EmbedImages returns the embeddings of the images idx of src (eval
// transform), calling progress with the number done after each chunk.
func EmbedImages(ctx context.Context, m *Model, src *dataset.Loader, idx []int, progress func(done int)) ([]float32, error) {
	return src.Encode(ctx, idx, m.Batch*8, m.Embed, progress)
}
