package irt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/store"
)

// Files of IRT inside a model bundle (slash-separated, relative).
const (
	// Dir holds the fine-tuned model (ConfigFile, WeightsFile, StateFile)
	// and the gallery embeddings.
	Dir = "irt"
	// GalleryFile holds the gallery's embeddings by the fine-tuned model.
	GalleryFile = "irt/gallery.emb"
	// OffTheShelfFile holds the gallery's embeddings by the starting
	// (tokenizer) encoder, for IRT_O.
	OffTheShelfFile = "irt/gallery-o.emb"
)

// The retrieval methods of IRT.
const (
	// FineTuned is IRT_R (IRT_L with λ = 0): the fine-tuned encoder.
	FineTuned engine.Method = "irt"
	// OffTheShelf is IRT_O: the starting encoder, not fine-tuned.
	OffTheShelf engine.Method = "irt-o"
)

func init() {
	engine.Register(FineTuned, func(e *engine.Engine) (engine.Retriever, error) { return Open(e, FineTuned) })
	engine.Register(OffTheShelf, func(e *engine.Engine) (engine.Retriever, error) { return Open(e, OffTheShelf) })
}

// Retriever is exact cosine kNN over a gallery's embeddings.
type Retriever struct {
	Embedder *Embedder
	Index    *knn.Index
}

// Open loads method m (FineTuned or OffTheShelf) for e's gallery. It
// returns an error wrapping engine.ErrUnavailable when 'irgen train-irt'
// has not been run or was run for another gallery.
func Open(e *engine.Engine, m engine.Method) (*Retriever, error) {
	hint := fmt.Sprintf("run 'irgen train-irt --model %s'", e.Bundle.Dir())
	g, err := e.TrainedGallery("train-irt")
	if err != nil {
		return nil, err
	}
	c, err := LoadBundleConfig(e.Bundle)
	if errors.Is(err, store.ErrNotRecorded) || (err == nil && !Trained(e.Bundle.Path(Dir))) {
		return nil, fmt.Errorf("%w: IRT is not trained; %s", engine.ErrUnavailable, hint)
	}
	if err != nil {
		return nil, err
	}
	file := GalleryFile
	if m == OffTheShelf {
		file = OffTheShelfFile
	}
	emb, err := readEmbeddings(e.Bundle.Path(file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s; %s", engine.ErrUnavailable, file, hint)
	}
	if err != nil {
		return nil, err
	}
	// Images added since training are not embedded; the embedded ones
	// must be the gallery's first.
	if !g.StartsWith(emb.Len(), emb.Gallery) {
		return nil, fmt.Errorf("%w: %s holds the embeddings of another gallery (%d images); %s", engine.ErrUnavailable, file, emb.Len(), hint)
	}
	if emb.Dim != c.Dim() {
		return nil, fmt.Errorf("irt: %s has embeddings of %d values, the model makes %d", file, emb.Dim, c.Dim())
	}
	var em *Embedder
	if m == OffTheShelf {
		// The tokenizer's batch: with the head feature the graph is then
		// the tokenizer's own, and IRT_O retrieves exactly as knn.
		em = &Embedder{Backend: e.Tokenizer.Backend, Vars: e.Tokenizer.Vars, Config: c, Batch: e.Tokenizer.Batch}
	} else {
		model, err := LoadBundle(e.Tokenizer.Backend, e.Bundle)
		if err != nil {
			return nil, err
		}
		em = model.NewEmbedder()
	}
	ix, err := knn.New(emb.Dim, knn.Cosine)
	if err != nil {
		return nil, err
	}
	if err := ix.Add(emb.Data); err != nil {
		return nil, err
	}
	return &Retriever{Embedder: em, Index: ix}, nil
}

func readEmbeddings(path string) (*Embeddings, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	emb, err := ReadEmbeddings(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return emb, nil
}

// Search implements engine.Retriever.
func (r *Retriever) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	return engine.SearchEmbedded(images, n, r.Embedder.Embed, func(q []float32) ([][]knn.Result, error) {
		return r.Index.SearchBatchExclude(q, req.K, 0, req.Skip)
	})
}
