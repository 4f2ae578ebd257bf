package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/knn"
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
}

// Timing splits a search's time between encoding the queries and the
// search proper.
type Timing struct {
	Encode, Search time.Duration
}

// Search retrieves the top K gallery images for each of the n query
// images (n × H × W × C, normalized with e.Transform).
func (e *Engine) Search(method Method, images []float32, n int, opt Options) ([][]Hit, Timing, error) {
	var tm Timing
	if opt.K <= 0 {
		return nil, tm, fmt.Errorf("engine: k = %d, want > 0", opt.K)
	}
	if opt.Beam <= 0 {
		opt.Beam = 30
	}
	if !slices.Contains(Methods, method) {
		r, err := e.retriever(method)
		if err != nil {
			return nil, tm, err
		}
		return r.Search(images, n, opt)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.gallery == nil {
		return nil, tm, fmt.Errorf("engine: the model has no gallery; run 'irgen assign'")
	}
	switch method {
	case KNN, RQTree:
		start := time.Now()
		feats, err := e.Tokenizer.Features(images, n)
		if err != nil {
			return nil, tm, err
		}
		tm.Encode = time.Since(start)
		start = time.Now()
		var hits [][]Hit
		if method == KNN {
			hits, err = e.searchKNN(feats, opt)
		} else {
			hits, err = e.searchRQ(feats, n, opt)
		}
		tm.Search = time.Since(start)
		return hits, tm, err
	case IRGen:
		return e.searchRerank(images, n, opt)
	case IRGenGen:
		return e.searchIRGen(images, n, opt)
	}
	return nil, tm, fmt.Errorf("engine: unknown method %q", method)
}

func (e *Engine) searchKNN(feats []float32, opt Options) ([][]Hit, error) {
	k := opt.K
	var res [][]knn.Result
	var err error
	if opt.Exclude != nil {
		res, err = e.index.SearchBatchExclude(feats, k, 0, opt.Exclude)
	} else {
		res, err = e.index.SearchBatch(feats, k, 0)
	}
	if err != nil {
		return nil, err
	}
	out := make([][]Hit, len(res))
	for q, rs := range res {
		out[q] = make([]Hit, len(rs))
		for i, r := range rs {
			out[q][i] = Hit{Index: r.ID, Score: r.Score}
		}
	}
	return out, nil
}

func (e *Engine) searchRQ(feats []float32, n int, opt Options) ([][]Hit, error) {
	hyps, err := e.rqBeams(feats, n, opt.Beam)
	if err != nil {
		return nil, err
	}
	return e.expand(hyps, 0, opt), nil
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

func (e *Engine) searchIRGen(images []float32, n int, opt Options) ([][]Hit, Timing, error) {
	hyps, tm, err := e.generate(images, n, opt.Beam)
	if err != nil {
		return nil, tm, err
	}
	return e.expand(hyps, 0, opt), tm, nil
}

func (e *Engine) searchRerank(images []float32, n int, opt Options) ([][]Hit, Timing, error) {
	cs, tm, err := e.candidates(images, n, opt)
	if err != nil {
		return nil, tm, err
	}
	start := time.Now()
	out := make([][]Hit, n)
	for q := range cs {
		var exclude func(int) bool
		if opt.Exclude != nil {
			exclude = func(id int) bool { return opt.Exclude(q, id) }
		}
		out[q] = Rank(cs[q], e.Rerank.Lambda, opt.K, exclude)
	}
	tm.Search += time.Since(start)
	return out, tm, nil
}

// generate runs the decoder's beam search of the given width for n query
// images, in padded batches of QueryBatch.
func (e *Engine) generate(images []float32, n, width int) ([][]beam.Hypothesis, Timing, error) {
	var tm Timing
	if e.Decoder == nil {
		return nil, tm, ErrNoDecoder
	}
	bs, err := e.beamSearcher(width)
	if err != nil {
		return nil, tm, err
	}
	size := e.Transform.Len()
	qb := e.QueryBatch
	buf := make([]float32, qb*size)
	out := make([][]beam.Hypothesis, 0, n)
	for lo := 0; lo < n; lo += qb {
		hi := min(lo+qb, n)
		clear(buf)
		copy(buf, images[lo*size:hi*size])
		hyps, t, err := e.Decoder.Search(buf, qb, bs, e.trie)
		if err != nil {
			return nil, tm, err
		}
		tm.Encode += t.Encode
		tm.Search += t.Search
		out = append(out, hyps[:hi-lo]...)
	}
	return out, tm, nil
}

func (e *Engine) beamSearcher(width int) (*beam.Searcher, error) {
	return beam.New(beam.Config{Width: width, M: e.gallery.M, L: e.gallery.L})
}

// expand turns ranked IDs into ranked gallery images, each scored by its
// ID's score, cut at K. first is the index of hyps[0]'s query.
func (e *Engine) expand(hyps [][]beam.Hypothesis, first int, opt Options) [][]Hit {
	out := make([][]Hit, len(hyps))
	for q, hs := range hyps {
		var hits []Hit
	ids:
		for _, h := range hs {
			for _, item := range e.trie.Items(h.ID) {
				if opt.Exclude != nil && opt.Exclude(first+q, item) {
					continue
				}
				hits = append(hits, Hit{Index: item, Score: float32(h.Score)})
				if len(hits) == opt.K {
					break ids
				}
			}
		}
		out[q] = hits
	}
	return out
}
