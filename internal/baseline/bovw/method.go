package bovw

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/knn"
)

// Method is the engine method name of the BoVW baseline.
const Method engine.Method = "bovw"

func init() {
	engine.Register(Method, Open)
}

// Load reads the index file at path.
func Load(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ix Index
	if _, err := ix.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("bovw: %s: %w", path, err)
	}
	return &ix, nil
}

// Open is the engine's opener of the bovw method: it loads the bundle's
// index file and checks that it describes the engine's gallery.
func Open(e *engine.Engine) (engine.Retriever, error) {
	dir := e.Bundle.Dir()
	hint := fmt.Sprintf("run 'irgen train-bovw --model %s'", dir)
	ix, err := Load(e.Bundle.Path(File))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: bovw: no vocabulary; %s", engine.ErrUnavailable, hint)
	}
	if err != nil {
		return nil, err
	}
	g := e.Gallery()
	if g == nil {
		return nil, fmt.Errorf("%w: bovw: the model has no gallery; run 'irgen assign --model %s'", engine.ErrUnavailable, dir)
	}
	if !g.StartsWith(ix.Len(), ix.GalleryDigest) {
		return nil, fmt.Errorf("%w: bovw: the gallery changed since the histograms were computed; %s", engine.ErrUnavailable, hint)
	}
	return NewRetriever(ix, e.Transform)
}

// Retriever searches an Index: it extracts the queries' SIFT descriptors,
// builds their weighted histograms and ranks the gallery by cosine
// similarity, exhaustively.
type Retriever struct {
	ix    *Index
	tf    imageproc.Transform
	exact *knn.Index
	// Workers is the number of goroutines that extract query descriptors
	// (default GOMAXPROCS).
	Workers int
	pool    sync.Pool // *describer
}

// NewRetriever returns a Retriever over ix for images normalized with tf.
// Images added to the gallery after the index was built are not searched.
func NewRetriever(ix *Index, tf imageproc.Transform) (*Retriever, error) {
	if _, err := newDescriber(ix.Config, tf); err != nil {
		return nil, err
	}
	exact, err := knn.New(ix.Vocab.K, knn.Cosine)
	if err != nil {
		return nil, err
	}
	if err := exact.Add(ix.Vectors()); err != nil {
		return nil, err
	}
	return &Retriever{ix: ix, tf: tf, exact: exact, Workers: runtime.GOMAXPROCS(0)}, nil
}

// Vectors returns the weighted, unit-length histograms of the n query
// images (n × K).
func (r *Retriever) Vectors(ctx context.Context, images []float32, n int) ([]float32, error) {
	size := r.tf.Len()
	if n < 0 || len(images) != n*size {
		return nil, fmt.Errorf("bovw: %d values for %d images of %d", len(images), n, size)
	}
	k := r.ix.Vocab.K
	out := make([]float32, n*k)
	src := Images{N: n, Fill: func(idx []int, dst []float32) error {
		for j, i := range idx {
			copy(dst[j*size:(j+1)*size], images[i*size:(i+1)*size])
		}
		return nil
	}}
	workers := max(1, min(r.Workers, n))
	scratch := make([][]float32, workers)
	counts := make([][]uint32, workers)
	for w := range workers {
		scratch[w], counts[w] = make([]float32, k), make([]uint32, k)
	}
	_, err := forEach(ctx, r.ix.Config, r.tf, src, workers, nil, func(w, i int, desc []float32) {
		clear(counts[w])
		r.ix.Vocab.Count(desc, counts[w], scratch[w])
		weigh(counts[w], r.ix.idf(), out[i*k:(i+1)*k])
	})
	return out, err
}

// Search implements engine.Retriever.
func (r *Retriever) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	embed := func(images []float32, n int) ([]float32, error) { return r.Vectors(context.Background(), images, n) }
	return engine.SearchEmbedded(images, n, embed, func(q []float32) ([][]knn.Result, error) {
		return r.exact.SearchBatchExclude(q, req.K, 0, req.Skip)
	})
}
