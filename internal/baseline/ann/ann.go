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
	"time"

	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
)

// Method is the engine method name.
const Method engine.Method = "hnsw"

// File is the saved graph's file name inside a model bundle.
const File = "hnsw.bin"

// The file format: the store.Format header (magic "IRGNANNG", version
// uint32), the SHA-256 of the features the graph was built from
// (FeaturesDigest), then the graph in hnsw's own format (which ends in its
// own checksum).
// Errors of reading a graph file.
var (
	ErrFormat  = errors.New("ann: not a valid graph file")
	ErrVersion = errors.New("ann: unknown graph file version")

	format = store.Format{Magic: "IRGNANNG", Version: 1, ErrFormat: ErrFormat, ErrVersion: ErrVersion}
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

// Save writes ix, built from the features whose digest is d, to w.
func Save(w io.Writer, ix *hnsw.Index, d [32]byte) error {
	if _, err := w.Write(append(format.AppendHeader(nil), d[:]...)); err != nil {
		return err
	}
	return ix.Save(w)
}

// Load reads a graph file and returns the graph and the digest of the
// features it was built from.
func Load(r io.Reader) (*hnsw.Index, [32]byte, error) {
	var d [32]byte
	br := bufio.NewReader(r)
	if err := format.ReadHeader(br); err != nil {
		return nil, d, err
	}
	if _, err := io.ReadFull(br, d[:]); err != nil {
		return nil, d, fmt.Errorf("%w: truncated header", ErrFormat)
	}
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
	ix, err := hnsw.Build(context.Background(), g.Features, g.Dim, hnsw.DefaultConfig(), nil)
	if err != nil {
		return nil, err
	}
	return NewRetriever(ix, e), nil
}

// Retriever searches a graph over the engine's gallery features.
type Retriever struct {
	ix  *hnsw.Index
	tok *tokenizer.Model
	// Workers is the number of goroutines searching a batch of queries
	// (default GOMAXPROCS).
	Workers int
}

// NewRetriever returns a Retriever over ix, whose node i is gallery image
// i of e. Images added to e later are not searched.
func NewRetriever(ix *hnsw.Index, e *engine.Engine) *Retriever {
	return &Retriever{ix: ix, tok: e.Tokenizer, Workers: runtime.GOMAXPROCS(0)}
}

// Index returns the graph.
func (r *Retriever) Index() *hnsw.Index { return r.ix }

// Search implements engine.Retriever: the queries are encoded with the
// tokenizer and each searches the graph, passing over the images req.Skip
// names.
func (r *Retriever) Search(images []float32, n int, req engine.Request) ([][]engine.Hit, time.Duration, error) {
	return engine.SearchEmbedded(images, n, r.tok.Features, func(feats []float32) ([][]knn.Result, error) {
		res, err := r.ix.SearchBatchExclude(feats, req.K, r.Workers, req.Skip)
		if err != nil {
			return nil, fmt.Errorf("ann: %w", err)
		}
		return res, nil
	})
}
