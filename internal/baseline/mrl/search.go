package mrl

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/vec"
)

// ErrCascade reports retrieval settings that do not fit the embeddings.
var ErrCascade = errors.New("mrl: invalid retrieval settings")

// Cascade is a retrieval plan over nested prefixes, the reranking policy
// of seed 004 (reranking.ipynb, naive_rerank):
//
//  1. shortlist the Shortlists[0] nearest images by exact L2 search over
//     the L2-normalized first RetrieveDim dimensions (all K asked for when
//     there is no rerank stage);
//  2. for each stage t, keep the first Shortlists[t] images of the current
//     list and reorder them by L2 distance between the normalized first
//     RerankDims[t] dimensions.
//
// The result is the list after the last stage; images cut at a stage
// follow it in the order they had there (cut last, ranked first), so a
// search for more results than the last shortlist still gets a full
// ranking of Shortlists[0] images. The first shortlist is raised to K
// when smaller.
//
// Adaptive retrieval (D_r, D_s, k) is {D_r, [D_s], [k]}; funnel retrieval
// is {D_r, [r_1 … r_T], [s_1 … s_T]}; exact search at d dimensions is {d,
// nil, nil}.
type Cascade struct {
	RetrieveDim int   `json:"retrieve_dim"`
	RerankDims  []int `json:"rerank_dims,omitempty"`
	Shortlists  []int `json:"shortlists,omitempty"`
}

// Exact returns the cascade of exact search at dim dimensions.
func Exact(dim int) Cascade { return Cascade{RetrieveDim: dim} }

// Adaptive returns adaptive retrieval: a shortlist of k at dr dimensions
// reranked at ds.
func Adaptive(dr, ds, k int) Cascade {
	return Cascade{RetrieveDim: dr, RerankDims: []int{ds}, Shortlists: []int{k}}
}

// DefaultAdaptive returns seed 004's adaptive retrieval for embeddings of
// width dim: a shortlist of 200 at D_r = 16 reranked at D_s = the full
// width (the seed's 2048), with 16 lowered to dim when wider.
func DefaultAdaptive(dim int) Cascade { return Adaptive(min(16, dim), dim, 200) }

// DefaultFunnel returns seed 004's funnel retrieval, D_r = 8 with the
// rerank cascade [16, 32, 64, 128, 2048] over shortlists [200, 100, 50,
// 25, 10], fitted to embeddings of width dim: sizes above dim become dim
// (2048 is the seed's full width) and consecutive stages at the same size
// merge into the first, which is the same ranking (rerank 25 at 128, then
// keep 10 reranked at 128 again). For dim 128 that is [16, 32, 64, 128]
// over [200, 100, 50, 25].
func DefaultFunnel(dim int) Cascade {
	dims := []int{16, 32, 64, 128, 2048}
	lists := []int{200, 100, 50, 25, 10}
	c := Cascade{RetrieveDim: min(8, dim)}
	for i, d := range dims {
		d = min(d, dim)
		if i == len(dims)-1 {
			d = dim
		}
		if n := len(c.RerankDims); n > 0 && c.RerankDims[n-1] == d {
			continue
		}
		c.RerankDims = append(c.RerankDims, d)
		c.Shortlists = append(c.Shortlists, lists[i])
	}
	return c
}

// Dims returns every prefix size the cascade reads.
func (c Cascade) Dims() []int { return append([]int{c.RetrieveDim}, c.RerankDims...) }

// Validate checks the cascade against embeddings of width dim.
func (c Cascade) Validate(dim int) error {
	if len(c.RerankDims) != len(c.Shortlists) {
		return fmt.Errorf("%w: %d rerank sizes for %d shortlists", ErrCascade, len(c.RerankDims), len(c.Shortlists))
	}
	for _, d := range c.Dims() {
		if d < 1 || d > dim {
			return fmt.Errorf("%w: prefix size %d not in [1, %d]", ErrCascade, d, dim)
		}
	}
	for _, s := range c.Shortlists {
		if s < 1 {
			return fmt.Errorf("%w: shortlist %d must be positive", ErrCascade, s)
		}
	}
	return nil
}

// String formats the cascade as "D_r→r_1[s_1]→…→r_T[s_T]", say
// "16→128[200]" for adaptive retrieval.
func (c Cascade) String() string {
	s := fmt.Sprint(c.RetrieveDim)
	for i, d := range c.RerankDims {
		s += fmt.Sprintf("→%d[%d]", d, c.Shortlists[i])
	}
	return s
}

// Index searches the gallery embeddings by their normalized prefixes. It
// builds, on first use, the normalized prefix matrix of every size a
// search reads and an exact knn index for every retrieval size. It is safe
// for concurrent use.
type Index struct {
	emb *Embeddings

	mu     sync.Mutex
	prefix map[int][]float32  // size → N × size, rows L2-normalized
	exact  map[int]*knn.Index // size → exact L2 index over prefix[size]
}

// NewIndex returns an index over emb, which it keeps (do not modify it).
func NewIndex(emb *Embeddings) (*Index, error) {
	if err := emb.check(); err != nil {
		return nil, err
	}
	return &Index{emb: emb, prefix: map[int][]float32{}, exact: map[int]*knn.Index{}}, nil
}

// Dim is the embedding width.
func (ix *Index) Dim() int { return ix.emb.Dim }

// Len is the number of gallery images.
func (ix *Index) Len() int { return ix.emb.N }

// Prefix returns the N × m matrix of the L2-normalized first m
// dimensions of every embedding.
func (ix *Index) Prefix(m int) ([]float32, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.prefixLocked(m)
}

func (ix *Index) prefixLocked(m int) ([]float32, error) {
	if m < 1 || m > ix.emb.Dim {
		return nil, fmt.Errorf("%w: prefix size %d not in [1, %d]", ErrCascade, m, ix.emb.Dim)
	}
	if p, ok := ix.prefix[m]; ok {
		return p, nil
	}
	p := NormalizedPrefixes(ix.emb.Data, ix.emb.Dim, m)
	ix.prefix[m] = p
	return p, nil
}

func (ix *Index) exactIndex(m int) (*knn.Index, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if e, ok := ix.exact[m]; ok {
		return e, nil
	}
	p, err := ix.prefixLocked(m)
	if err != nil {
		return nil, err
	}
	e, err := knn.New(m, knn.L2)
	if err != nil {
		return nil, err
	}
	if err := e.Add(p); err != nil {
		return nil, err
	}
	ix.exact[m] = e
	return e, nil
}

// NormalizedPrefixes returns the first m of every dim values of the rows
// of data (row-major, width dim), each scaled to unit length.
func NormalizedPrefixes(data []float32, dim, m int) []float32 {
	n := len(data) / dim
	out := make([]float32, n*m)
	for i := range n {
		row := out[i*m : (i+1)*m]
		copy(row, data[i*dim:i*dim+m])
		vec.Normalize(row)
	}
	return out
}

// Search runs the cascade c for the queries (nq × Dim embeddings, not
// normalized) and returns up to k results per query, best first. Scores
// are minus the squared L2 distance between normalized prefixes at the
// size of the last stage the image reached. exclude, when not nil, drops
// gallery image id from query q's results.
func (ix *Index) Search(queries []float32, k int, c Cascade, exclude func(q, id int) bool) ([][]knn.Result, error) {
	dim := ix.emb.Dim
	if len(queries)%dim != 0 {
		return nil, fmt.Errorf("%w: %d query values is not a whole number of %d-dim rows", knn.ErrDim, len(queries), dim)
	}
	if k <= 0 {
		return nil, fmt.Errorf("%w: got %d", knn.ErrK, k)
	}
	if err := c.Validate(dim); err != nil {
		return nil, err
	}
	first := k
	if len(c.Shortlists) > 0 {
		first = max(c.Shortlists[0], k)
	}
	ex, err := ix.exactIndex(c.RetrieveDim)
	if err != nil {
		return nil, err
	}
	qs := NormalizedPrefixes(queries, dim, c.RetrieveDim)
	res, err := ex.SearchBatchExclude(qs, first, 0, exclude)
	if err != nil {
		return nil, err
	}
	if len(c.RerankDims) == 0 {
		return res, nil
	}
	stages, err := ix.stages(c)
	if err != nil {
		return nil, err
	}
	nq := len(queries) / dim
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), nq) {
		wg.Go(func() {
			r := reranker{dim: dim, k: k, stages: stages, shortlists: c.Shortlists}
			for qi := int(next.Add(1) - 1); qi < nq; qi = int(next.Add(1) - 1) {
				res[qi] = r.rerank(queries[qi*dim:(qi+1)*dim], res[qi])
			}
		})
	}
	wg.Wait()
	return res, nil
}

// stage is one re-ranking step of a cascade: the first m dimensions of
// every gallery embedding, normalized.
type stage struct {
	m      int
	prefix []float32
}

func (ix *Index) stages(c Cascade) ([]stage, error) {
	stages := make([]stage, len(c.RerankDims))
	for i, m := range c.RerankDims {
		p, err := ix.Prefix(m)
		if err != nil {
			return nil, err
		}
		stages[i] = stage{m, p}
	}
	return stages, nil
}

// reranker runs a cascade's re-ranking stages for one query at a time,
// reusing its buffers.
type reranker struct {
	dim, k     int
	stages     []stage
	shortlists []int

	top             knn.TopK
	q, list, ranked []knn.Result
	qv              []float32
}

// rerank re-ranks the first stage's shortlist res of query through each
// stage, keeping shortlists[t] images at stage t, and fills up to k with
// the images cut, those cut last first. It writes over res.
func (r *reranker) rerank(query []float32, res []knn.Result) []knn.Result {
	if r.qv == nil {
		r.qv = make([]float32, r.dim)
	}
	r.list = append(r.list[:0], res...)
	// The tail holds the images cut so far, cut last first.
	var tails [][]knn.Result
	for t, st := range r.stages {
		s := min(r.shortlists[t], len(r.list))
		tails = append(tails, append([]knn.Result(nil), r.list[s:]...))
		copy(r.qv, query)
		qm := r.qv[:st.m]
		vec.Normalize(qm)
		r.top.Reset(s)
		for _, h := range r.list[:s] {
			r.top.Push(h.ID, -vec.SquaredL2(qm, st.prefix[h.ID*st.m:(h.ID+1)*st.m]))
		}
		r.ranked = r.top.AppendSorted(r.ranked[:0])
		r.list = append(r.list[:0], r.ranked...)
	}
	r.q = append(r.q[:0], r.list...)
	for t := len(tails) - 1; t >= 0 && len(r.q) < r.k; t-- {
		r.q = append(r.q, tails[t]...)
	}
	return append(res[:0], r.q[:min(r.k, len(r.q))]...)
}
