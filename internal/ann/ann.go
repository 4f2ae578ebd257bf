// Package ann serves approximate nearest-neighbour search over the
// tokenizer's gallery features as the engine method "hnsw": an HNSW graph
// (package hnsw) over the same L2-normalized features that the exact knn
// method scans, queried with the same query features, so the two differ
// only in the index. It is the ANN baseline of the seeds.
//
// The graph is built when the method is first opened (seconds to tens of
// seconds for 60,000 features), or loaded from the bundle file File that
// 'irgen build-hnsw' saves, when that file was built from the current
// gallery's features.
package ann

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/hnsw"
	"github.com/irgen/irgen/internal/knn"
)

// Method is the engine method name.
const Method engine.Method = "hnsw"

// File is the saved graph's file name inside a model bundle.
const File = "hnsw.bin"

// The file format: magic [8]byte "IRGNANNG", version uint32, the SHA-256
// of the features the graph was built from (FeaturesDigest), then the
// graph in hnsw's own format (which ends in its own checksum).
const (
	magic   = "IRGNANNG"
	version = 1
)

// Errors of reading a graph file.
var (
	ErrFormat  = errors.New("ann: not a valid graph file")
	ErrVersion = errors.New("ann: unknown graph file version")
)

func init() {
	engine.Register(Method, Open)
}

// FeaturesDigest returns the SHA-256 of feats as little-endian float32s.
func FeaturesDigest(feats []float32) [32]byte {
	h := sha256.New()
	buf := make([]byte, 0, 1<<16)
	for _, v := range feats {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// Build inserts the rows of feats (n × dim, row-major) into a new graph,
// in order, so that node i is row i. progress, if set, is called every
// 1024 rows with the number done. It stops with ctx's error when ctx is
// cancelled.
func Build(ctx context.Context, feats []float32, dim int, cfg hnsw.Config, progress func(done int)) (*hnsw.Index, error) {
	if dim <= 0 || len(feats)%dim != 0 {
		return nil, fmt.Errorf("ann: %d feature values are not rows of %d", len(feats), dim)
	}
	ix, err := hnsw.New(dim, cfg)
	if err != nil {
		return nil, err
	}
	n := len(feats) / dim
	for i := range n {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if progress != nil && i > 0 {
				progress(i)
			}
		}
		if _, err := ix.Append(feats[i*dim : (i+1)*dim]); err != nil {
			return nil, fmt.Errorf("ann: feature %d: %w", i, err)
		}
	}
	if progress != nil {
		progress(n)
	}
	return ix, nil
}

// Save writes ix, built from the features whose digest is d, to w.
func Save(w io.Writer, ix *hnsw.Index, d [32]byte) error {
	head := append([]byte(magic), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(head[8:], version)
	head = append(head, d[:]...)
	if _, err := w.Write(head); err != nil {
		return err
	}
	return ix.Save(w)
}

// Load reads a graph file and returns the graph and the digest of the
// features it was built from.
func Load(r io.Reader) (*hnsw.Index, [32]byte, error) {
	var d [32]byte
	br := bufio.NewReader(r)
	head := make([]byte, len(magic)+4+len(d))
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, d, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	if string(head[:len(magic)]) != magic {
		return nil, d, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := binary.LittleEndian.Uint32(head[len(magic):]); v != version {
		return nil, d, fmt.Errorf("%w: %d (this irgen reads %d)", ErrVersion, v, version)
	}
	copy(d[:], head[len(magic)+4:])
	ix, err := hnsw.Load(br)
	if err != nil {
		return nil, d, err
	}
	return ix, d, nil
}

// Open is the engine's opener of the hnsw method: it loads the bundle's
// graph when it matches the gallery's features, else builds one with
// hnsw.DefaultConfig.
func Open(e *engine.Engine) (engine.Retriever, error) {
	g := e.Gallery()
	if g == nil {
		return nil, fmt.Errorf("%w: hnsw: the model has no gallery; run 'irgen assign --model %s'", engine.ErrUnavailable, e.Bundle.Dir())
	}
	want := FeaturesDigest(g.Features)
	f, err := os.Open(e.Bundle.Path(File))
	switch {
	case err == nil:
		ix, d, lerr := Load(f)
		f.Close()
		if lerr != nil {
			return nil, fmt.Errorf("ann: %s: %w", e.Bundle.Path(File), lerr)
		}
		if d == want && ix.Len() == g.Len() && ix.Dim() == g.Dim {
			return NewRetriever(ix, e), nil
		}
		// A graph of an earlier gallery: rebuild below.
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	ix, err := Build(context.Background(), g.Features, g.Dim, hnsw.DefaultConfig(), nil)
	if err != nil {
		return nil, err
	}
	return NewRetriever(ix, e), nil
}

// Retriever searches a graph over the engine's gallery features.
type Retriever struct {
	ix   *hnsw.Index
	e    *engine.Engine
	pool sync.Pool // *hnsw.Searcher
	// Workers is the number of goroutines searching a batch of queries
	// (default GOMAXPROCS).
	Workers int
}

// NewRetriever returns a Retriever over ix, whose node i is gallery image
// i of e. Images added to e later are not searched; deleted ones are
// skipped.
func NewRetriever(ix *hnsw.Index, e *engine.Engine) *Retriever {
	return &Retriever{ix: ix, e: e, Workers: runtime.GOMAXPROCS(0)}
}

// Index returns the graph.
func (r *Retriever) Index() *hnsw.Index { return r.ix }

// Search implements engine.Retriever: the queries are encoded with the
// tokenizer and each searches the graph.
func (r *Retriever) Search(images []float32, n int, opt engine.Options) ([][]engine.Hit, engine.Timing, error) {
	var tm engine.Timing
	if opt.K <= 0 {
		return nil, tm, fmt.Errorf("hnsw: k = %d, want > 0", opt.K)
	}
	start := time.Now()
	feats, err := r.e.Tokenizer.Features(images, n)
	if err != nil {
		return nil, tm, err
	}
	tm.Encode = time.Since(start)
	start = time.Now()
	live := func(id int) bool { _, ok := r.e.Entry(id); return ok }
	hits, err := r.SearchFeatures(feats, n, opt, live)
	tm.Search = time.Since(start)
	return hits, tm, err
}

// SearchFeatures searches the n query features (n × Dim), skipping the
// images opt.Exclude names and those live (if not nil) reports deleted.
func (r *Retriever) SearchFeatures(feats []float32, n int, opt engine.Options, live func(int) bool) ([][]engine.Hit, error) {
	dim := r.ix.Dim()
	if len(feats) != n*dim {
		return nil, fmt.Errorf("hnsw: %d values for %d queries of %d: %w", len(feats), n, dim, knn.ErrDim)
	}
	out := make([][]engine.Hit, n)
	workers := max(1, min(r.Workers, n))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := r.pool.Get().(*hnsw.Searcher)
			if s == nil {
				s = r.ix.NewSearcher()
			}
			defer r.pool.Put(s)
			var buf []knn.Result
			for q := w; q < n; q += workers {
				hits, nb, err := r.searchOne(s, feats[q*dim:(q+1)*dim], q, opt, live, buf)
				if err != nil {
					errs[w] = err
					return
				}
				out[q], buf = hits, nb
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// searchOne asks the graph for K results plus those the filters might
// drop, and asks again for twice as many while filtering leaves fewer than
// K and the graph has more.
func (r *Retriever) searchOne(s *hnsw.Searcher, q []float32, qi int, opt engine.Options, live func(int) bool, buf []knn.Result) ([]engine.Hit, []knn.Result, error) {
	k := opt.K
	if opt.Exclude != nil {
		k++
	}
	for {
		var err error
		buf, err = s.SearchInto(q, k, buf)
		if err != nil {
			return nil, buf, err
		}
		hits := make([]engine.Hit, 0, opt.K)
		for _, h := range buf {
			if (opt.Exclude != nil && opt.Exclude(qi, h.ID)) || (live != nil && !live(h.ID)) {
				continue
			}
			hits = append(hits, engine.Hit{Index: h.ID, Score: h.Score})
			if len(hits) == opt.K {
				break
			}
		}
		if len(hits) == opt.K || len(buf) < k {
			return hits, buf, nil
		}
		k *= 2
	}
}
