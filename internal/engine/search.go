package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/decoder"
)

// Method names a retrieval method.
type Method string

// The retrieval methods over one model.
const (
	// IRGen generates IDs with the decoder by trie-constrained beam search
	// and ranks their images, with those of the IDs nearest to the query
	// in the prefix tree, by feature similarity plus the decoder's prior
	// (Rerank).
	IRGen Method = "irgen"
	// IRGenGen is the paper's pure generative order: the images of the
	// generated IDs in the order of their beam scores.
	IRGenGen Method = "irgen-gen"
	// KNN is exact cosine search over the tokenizer's features.
	KNN Method = "knn"
	// RQTree is beam search over the prefix tree scored by codeword
	// distance, without the decoder (seed 000 Table 2).
	RQTree Method = "rqtree"
)

// Methods lists the methods Search knows.
var Methods = []Method{IRGen, IRGenGen, KNN, RQTree}

// ParseMethods parses a comma-separated list of built-in and registered
// methods.
func ParseMethods(s string) ([]Method, error) {
	known := append(append([]Method(nil), Methods...), Registered()...)
	var out []Method
	for _, f := range strings.Split(s, ",") {
		m := Method(strings.TrimSpace(f))
		ok := false
		for _, k := range known {
			ok = ok || k == m
		}
		if !ok {
			return nil, fmt.Errorf("engine: unknown method %q (have %v)", m, known)
		}
		out = append(out, m)
	}
	return out, nil
}

// Hit is one retrieved gallery image.
type Hit struct {
	Index int     // position in the gallery
	Score float32 // method-specific, higher is better
}

// Options tunes a search.
type Options struct {
	K    int // results per query
	Beam int // beam width of irgen and rqtree (default 30)
	// Exclude, when set, drops gallery image id from query q's results
	// (leave-one-out evaluation when queries are gallery images).
	Exclude func(q, id int) bool
	// Batch, when > 0, is the most queries the built-in methods' encoders
	// and decoder run at once, instead of Tokenizer.Batch and QueryBatch:
	// fewer are padded to the next power of two, so that the graphs
	// compile for a few sizes only (a server batching its requests).
	Batch int
}

// Timing splits a search's time between encoding the queries and the
// search proper.
type Timing struct {
	Encode, Search time.Duration
}

// Search retrieves the top K gallery images for each of the n query
// images (n × H × W × C, normalized with e.Transform). Whatever the
// method, it never returns a deleted image nor one opt.Exclude names: it
// drops them from the method's candidates and, when that leaves a query
// with fewer than K while the method has more, asks the method again for
// twice as many.
func (e *Engine) Search(method Method, images []float32, n int, opt Options) ([][]Hit, Timing, error) {
	var tm Timing
	if opt.K <= 0 {
		return nil, tm, fmt.Errorf("engine: k = %d, want > 0", opt.K)
	}
	if opt.Beam <= 0 {
		opt.Beam = beam.DefaultConfig().Width
	}
	size := e.Transform.Len()
	if n < 0 || len(images) != n*size {
		return nil, tm, fmt.Errorf("engine: %d values for %d query images of %d", len(images), n, size)
	}
	r, err := e.retriever(method)
	if err != nil {
		return nil, tm, err
	}
	e.mu.RLock()
	g, dead, slots := e.gallery, e.dead, 0
	if g != nil {
		slots = g.Len()
	}
	e.mu.RUnlock()
	if g == nil {
		return nil, tm, ErrNoGallery
	}
	skip := opt.Exclude
	if dead != nil {
		skip = func(q, id int) bool {
			return dead.has(id) || (opt.Exclude != nil && opt.Exclude(q, id))
		}
	}
	start := time.Now()
	out := make([][]Hit, n)
	todo := make([]int, n) // the queries still to search
	for q := range todo {
		todo[q] = q
	}
	for ask := opt.K; len(todo) > 0; ask *= 2 {
		x, req := images, Request{K: ask, Beam: opt.Beam, Skip: skip, Batch: opt.Batch}
		if len(todo) < n {
			x = make([]float32, 0, len(todo)*size)
			for _, q := range todo {
				x = append(x, images[q*size:(q+1)*size]...)
			}
			if skip != nil {
				sub := todo
				req.Skip = func(j, id int) bool { return skip(sub[j], id) }
			}
		}
		hits, enc, err := r.Search(x, len(todo), req)
		tm.Encode += enc
		if err != nil {
			return nil, tm, err
		}
		if len(hits) != len(todo) {
			return nil, tm, fmt.Errorf("engine: %s returned %d result lists for %d queries", method, len(hits), len(todo))
		}
		var short []int
		for j, hs := range hits {
			q := todo[j]
			out[q] = keep(hs, opt.K, func(id int) bool { return skip != nil && skip(q, id) })
			// A method that filled its list may have more; one that did
			// not has no more at these settings.
			if len(out[q]) < opt.K && len(hs) >= ask && ask < slots {
				short = append(short, q)
			}
		}
		todo = short
	}
	tm.Search = max(time.Since(start)-tm.Encode, 0)
	return out, tm, nil
}

// keep returns the first k hits that skip does not report, in a new
// slice.
func keep(hs []Hit, k int, skip func(id int) bool) []Hit {
	out := make([]Hit, 0, min(k, len(hs)))
	for _, h := range hs {
		if len(out) == k {
			break
		}
		if !skip(h.Index) {
			out = append(out, h)
		}
	}
	return out
}

// builtin is a built-in method as a Retriever.
type builtin struct {
	e *Engine
	m Method
}

// Search implements Retriever under the engine's read lock: the prefix
// tree and the exact index leave deleted images out.
func (b builtin) Search(images []float32, n int, req Request) ([][]Hit, time.Duration, error) {
	e := b.e
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.gallery == nil {
		return nil, 0, ErrNoGallery
	}
	switch b.m {
	case KNN, RQTree:
		start := time.Now()
		feats, err := e.features(images, n, req.Batch)
		if err != nil {
			return nil, 0, err
		}
		enc := time.Since(start)
		if b.m == KNN {
			res, err := e.index.SearchBatchExclude(feats, req.K, 0, req.Skip)
			return Hits(res), enc, err
		}
		hyps, err := e.rqBeams(feats, n, req.Beam)
		if err != nil {
			return nil, enc, err
		}
		return e.expand(hyps, req), enc, nil
	case IRGen:
		cs, tm, err := e.candidates(images, n, req)
		if err != nil {
			return nil, tm.Encode, err
		}
		out := make([][]Hit, n)
		for q := range cs {
			var skip func(int) bool
			if req.Skip != nil {
				skip = func(id int) bool { return req.Skip(q, id) }
			}
			out[q] = Rank(cs[q], e.Rerank.Lambda, req.K, skip)
		}
		return out, tm.Encode, nil
	case IRGenGen:
		hyps, tm, err := e.generate(images, n, req)
		if err != nil {
			return nil, tm.Encode, err
		}
		return e.expand(hyps, req), tm.Encode, nil
	}
	return nil, 0, fmt.Errorf("engine: unknown method %q", b.m)
}

// rqBeams returns the width IDs of the prefix tree nearest to each of the
// n features by codeword distance.
func (e *Engine) rqBeams(feats []float32, n, width int) ([][]beam.Hypothesis, error) {
	sc, err := beam.NewRQScorer(e.Quantizer, beam.SumResiduals)
	if err != nil {
		return nil, err
	}
	if err := sc.SetQueries(feats); err != nil {
		return nil, err
	}
	bs, err := e.beamSearcher(width)
	if err != nil {
		return nil, err
	}
	return bs.SearchBatch(sc, e.trie, n)
}

// generate runs the decoder's beam search of width req.Beam for n query
// images, in padded batches (of QueryBatch unless req.Batch says).
func (e *Engine) generate(images []float32, n int, req Request) ([][]beam.Hypothesis, Timing, error) {
	hyps, _, tm, err := e.decode(images, n, req, false)
	return hyps, tm, err
}

// decode is generate that, when feats is set and the decoder's encoder is
// the tokenizer's (onePass), also returns the n queries' tokenizer
// features from the same encoder pass.
func (e *Engine) decode(images []float32, n int, req Request, feats bool) ([][]beam.Hypothesis, []float32, Timing, error) {
	var tm Timing
	if e.Decoder == nil {
		return nil, nil, tm, ErrNoDecoder
	}
	bs, err := e.beamSearcher(req.Beam)
	if err != nil {
		return nil, nil, tm, err
	}
	var (
		hyps [][]beam.Hypothesis
		f    []float32
		t    decoder.Timing
	)
	batch := batchSize(n, req.Batch, e.QueryBatch)
	if feats && e.onePass {
		hyps, f, t, err = e.Decoder.SearchHead(images, n, batch, bs, e.trie)
	} else {
		hyps, t, err = e.Decoder.SearchBatched(images, n, batch, bs, e.trie)
	}
	return hyps, f, Timing{Encode: t.Encode, Search: t.Search}, err
}

// features encodes n query images with the tokenizer, in padded batches
// (of Tokenizer.Batch unless batch > 0 says).
func (e *Engine) features(images []float32, n, batch int) ([]float32, error) {
	return e.Tokenizer.FeaturesBatch(images, n, batchSize(n, batch, e.Tokenizer.Batch))
}

// batchSize is the batch that n queries run in: def when limit is 0, else
// the smallest power of two that holds them, at most limit.
func batchSize(n, limit, def int) int {
	if limit <= 0 {
		return def
	}
	b := 1
	for b < n && b < limit {
		b *= 2
	}
	return min(b, limit)
}

func (e *Engine) beamSearcher(width int) (*beam.Searcher, error) {
	return beam.New(beam.Config{Width: width, M: e.gallery.M, L: e.gallery.L})
}

// expand turns ranked IDs into ranked gallery images, each scored by its
// ID's score, cut at req.K, passing over those req.Skip reports.
func (e *Engine) expand(hyps [][]beam.Hypothesis, req Request) [][]Hit {
	out := make([][]Hit, len(hyps))
	for q, hs := range hyps {
		var hits []Hit
	ids:
		for _, h := range hs {
			for _, item := range e.trie.Items(h.ID) {
				if req.Skip != nil && req.Skip(q, item) {
					continue
				}
				hits = append(hits, Hit{Index: item, Score: float32(h.Score)})
				if len(hits) == req.K {
					break ids
				}
			}
		}
		out[q] = hits
	}
	return out
}
