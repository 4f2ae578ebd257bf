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
	if ix.Len() > g.Len() || KeysDigest(g.Keys[:ix.Len()]) != ix.GalleryDigest {
		return nil, fmt.Errorf("%w: bovw: the gallery changed since the histograms were computed; %s", engine.ErrUnavailable, hint)
	}
	return NewRetriever(ix, e.Transform, e)
}

// Retriever searches an Index: it extracts the queries' SIFT descriptors,
// builds their weighted histograms and ranks the gallery by cosine
// similarity, exhaustively.
type Retriever struct {
	ix    *Index
	tf    imageproc.Transform
	exact *knn.Index
	live  func(id int) bool
	// Workers is the number of goroutines that extract query descriptors
	// (default GOMAXPROCS).
	Workers int
	pool    sync.Pool // *describer
}

// NewRetriever returns a Retriever over ix for images normalized with tf.
// Images added to the engine e after the index was built are not
// searched; deleted ones are skipped. e may be nil.
func NewRetriever(ix *Index, tf imageproc.Transform, e *engine.Engine) (*Retriever, error) {
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
	r := &Retriever{ix: ix, tf: tf, exact: exact, Workers: runtime.GOMAXPROCS(0)}
	if e != nil {
		r.live = func(id int) bool { _, ok := e.Entry(id); return ok }
	}
	return r, nil
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
func (r *Retriever) Search(images []float32, n int, opt engine.Options) ([][]engine.Hit, engine.Timing, error) {
	var tm engine.Timing
	if opt.K <= 0 {
		return nil, tm, fmt.Errorf("bovw: k = %d, want > 0", opt.K)
	}
	start := time.Now()
	q, err := r.Vectors(context.Background(), images, n)
	if err != nil {
		return nil, tm, err
	}
	tm.Encode = time.Since(start)
	start = time.Now()
	hits, err := searchLive(r.exact, q, n, opt, r.live)
	tm.Search = time.Since(start)
	return hits, tm, err
}

// searchLive runs the exact search, skipping opt.Exclude and the images
// live reports deleted: when deletions leave a query short of K results
// it searches again for twice as many, until the index is exhausted.
func searchLive(ix *knn.Index, q []float32, n int, opt engine.Options, live func(int) bool) ([][]engine.Hit, error) {
	out := make([][]engine.Hit, n)
	for k := opt.K; ; k = 2 * k {
		var res [][]knn.Result
		var err error
		if opt.Exclude != nil {
			res, err = ix.SearchBatchExclude(q, k, 0, opt.Exclude)
		} else {
			res, err = ix.SearchBatch(q, k, 0)
		}
		if err != nil {
			return nil, err
		}
		short := false
		for i, rs := range res {
			hits := make([]engine.Hit, 0, opt.K)
			for _, h := range rs {
				if live == nil || live(h.ID) {
					hits = append(hits, engine.Hit{Index: h.ID, Score: h.Score})
					if len(hits) == opt.K {
						break
					}
				}
			}
			out[i] = hits
			short = short || (len(hits) < opt.K && len(rs) == k)
		}
		if !short {
			return out, nil
		}
	}
}
