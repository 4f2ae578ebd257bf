package dsi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/irgen/irgen/internal/decoder"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/trie"
)

// The retrieval methods of ViT-DSI.
const (
	// FineTuned is the model after the indexing and retrieval phases.
	FineTuned engine.Method = "dsi"
	// ZeroShot is the model after the indexing phase only.
	ZeroShot engine.Method = "dsi-zeroshot"
)

func init() {
	engine.Register(FineTuned, func(e *engine.Engine) (engine.Retriever, error) { return Open(e, RetrievalDir) })
	engine.Register(ZeroShot, func(e *engine.Engine) (engine.Retriever, error) { return Open(e, IndexDir) })
}

// LoadIDs reads the IDs file of the bundle directory dir.
func LoadIDs(dir string) (*IDs, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(IDsFile)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids, err := ReadIDs(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", IDsFile, err)
	}
	return ids, nil
}

// Retriever searches an engine's gallery with a trained DSI model.
type Retriever struct {
	Model *decoder.Model
	IDs   *IDs
	Trie  *trie.Trie
	// Batch is the number of queries the decoder graphs are compiled for.
	Batch int
}

// Open loads the DSI model in the bundle subdirectory sub (IndexDir or
// RetrievalDir) of e's model for e's gallery. It returns an error wrapping
// engine.ErrUnavailable when the model is missing or was trained for
// another gallery.
func Open(e *engine.Engine, sub string) (*Retriever, error) {
	hint := fmt.Sprintf("run 'irgen train-dsi --model %s'", e.Bundle.Dir())
	g, err := e.TrainedGallery("train-dsi")
	if err != nil {
		return nil, err
	}
	ids, err := LoadIDs(e.Bundle.Dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: ViT-DSI is not trained; %s", engine.ErrUnavailable, hint)
	}
	if err != nil {
		return nil, err
	}
	// Images added since training are not in the model; the trained ones
	// must be the gallery's first.
	if !g.StartsWith(ids.Len(), ids.Gallery) {
		return nil, fmt.Errorf("%w: ViT-DSI was trained for another gallery (%d images); %s", engine.ErrUnavailable, ids.Len(), hint)
	}
	dir := e.Bundle.Path(sub)
	if !decoder.Trained(dir) {
		return nil, fmt.Errorf("%w: ViT-DSI %s is not trained; %s", engine.ErrUnavailable, sub, hint)
	}
	m, err := decoder.Load(e.Tokenizer.Backend, dir)
	if err != nil {
		return nil, err
	}
	if m.Config.M != ids.Digits || m.Config.L != Vocab {
		return nil, fmt.Errorf("dsi: %s decodes %d tokens in [0,%d), the IDs have %d digits", sub, m.Config.M, m.Config.L, ids.Digits)
	}
	tr, err := ids.Trie()
	if err != nil {
		return nil, err
	}
	return &Retriever{Model: m, IDs: ids, Trie: tr, Batch: e.QueryBatch}, nil
}

// Search implements engine.Retriever. Each ID names one gallery image, so
// the beam is max(req.Beam, req.K) wide, one more with req.Skip: room for
// an image the engine drops (the query itself, in leave-one-out
// evaluation) without a second search.
func (r *Retriever) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	k := req.K
	if req.Skip != nil {
		k++
	}
	hyps, tm, err := Search(r.Model, r.Trie, images, n, max(req.Beam, k), max(r.Batch, 1))
	if err != nil {
		return nil, tm.Encode, err
	}
	out := make([][]engine.Hit, len(hyps))
	var items []int
	for q, hs := range hyps {
		hits := make([]engine.Hit, 0, min(len(hs), k))
	ids:
		for _, h := range hs {
			items = r.Trie.AppendItems(items[:0], h.ID)
			for _, it := range items {
				hits = append(hits, engine.Hit{Index: it, Score: float32(h.Score)})
				if len(hits) == k {
					break ids
				}
			}
		}
		out[q] = hits
	}
	return out, tm.Encode, nil
}
