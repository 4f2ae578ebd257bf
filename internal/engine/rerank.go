package engine

import (
	"math"
	"slices"
	"time"

	"github.com/irgen/irgen/internal/beam"
	"github.com/irgen/irgen/internal/semid"
)

// ConfigRerank is the bundle configuration key of the irgen method's
// candidate ranking (Rerank), chosen on validation images when the
// decoder is trained.
const ConfigRerank = "rerank"

// DefaultLambda weighs the decoder's prior for a model whose weight was
// never chosen on validation images.
const DefaultLambda = 0.05

// Rerank says how the irgen method orders its candidate images: by
//
//	cos(query, image) + Lambda · prior(image)
//
// where prior is the decoder's agreement with the image's semantic ID
// (the beam's probability mass, weighted by the shared prefix length),
// scaled so that the query's best candidate has prior 1.
type Rerank struct {
	Lambda float64 `json:"lambda"`
	// Queries and Metrics record the validation that chose Lambda.
	Queries int                `json:"queries,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Candidate is a gallery image the irgen method considers for a query: an
// image of an ID the decoder generated, or of one the RQ prefix tree
// finds nearest to the query's feature.
type Candidate struct {
	Index int
	Sim   float32 // cosine similarity of the query's and the image's features
	Prior float32 // the decoder's agreement with the image's ID, in [0, 1]
}

// duplicate is the similarity from which a candidate counts as the query
// itself (an image added and then searched for): it ranks first whatever
// the decoder's prior.
const duplicate = 0.9999

// Rank orders cs by Sim + lambda·Prior, best first (ties by index), and
// returns the first k as hits, skipping excluded images. Duplicates of the
// query come first. It keeps only the best k while it reads cs (cs is
// left as it is): a query's candidates run to thousands.
func Rank(cs []Candidate, lambda float64, k int, exclude func(id int) bool) []Hit {
	top := make(ranked, 0, min(k, len(cs)))
	for _, c := range cs {
		if k <= 0 || (exclude != nil && exclude(c.Index)) {
			continue
		}
		r := rankedHit{score: rankScore(c, lambda), index: c.Index}
		switch {
		case len(top) < k:
			top = append(top, r)
			top.up(len(top) - 1)
		case r.before(top[0]):
			top[0] = r
			top.down(0)
		}
	}
	slices.SortFunc(top, func(a, b rankedHit) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	hits := make([]Hit, len(top))
	for i, r := range top {
		hits[i] = Hit{Index: r.index, Score: float32(r.score)}
	}
	return hits
}

// rankScore is c's score in Rank.
func rankScore(c Candidate, lambda float64) float64 {
	s := float64(c.Sim) + lambda*float64(c.Prior)
	if c.Sim >= duplicate {
		s += 2 * (1 + lambda)
	}
	return s
}

// Candidates gathers the irgen method's candidates for n query images:
// the images of the opt.Beam IDs the decoder generates and of the
// max(opt.Beam, 2·opt.K) IDs nearest to the query's feature in the prefix
// tree (twice K, so that the prefix tree's approximate order still holds
// the K nearest images), each with its similarity and prior. Candidates
// are in no particular order; Rank orders them. opt.Exclude is not
// applied.
func (e *Engine) Candidates(images []float32, n int, opt Options) ([][]Candidate, Timing, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.candidates(images, n, Request{K: opt.K, Beam: opt.Beam})
}

func (e *Engine) candidates(images []float32, n int, opt Request) ([][]Candidate, Timing, error) {
	if opt.Beam <= 0 {
		opt.Beam = beam.DefaultConfig().Width
	}
	dec, feats, tm, err := e.decode(images, n, opt, true)
	if err != nil {
		return nil, tm, err
	}
	if feats == nil { // the decoder has an encoder of its own
		start := time.Now()
		if feats, err = e.features(images, n, opt.Batch); err != nil {
			return nil, tm, err
		}
		tm.Encode += time.Since(start)
	}
	start := time.Now()
	near, err := e.rqBeams(feats, n, max(opt.Beam, 2*opt.K))
	if err != nil {
		return nil, tm, err
	}
	dim := e.index.Dim()
	out := make([][]Candidate, n)
	for q := range n {
		if out[q], err = e.gather(feats[q*dim:(q+1)*dim], dec[q], near[q]); err != nil {
			return nil, tm, err
		}
	}
	tm.Search += time.Since(start)
	return out, tm, nil
}

// gather unites the images of the decoder's and the prefix tree's IDs and
// scores them: the decoder's agreement once an ID (its images share it),
// the similarity once an image. The caller holds e.mu.
func (e *Engine) gather(feat []float32, dec, near []beam.Hypothesis) ([]Candidate, error) {
	probs := beamProbs(dec)
	seen := make(map[string]bool, len(dec)+len(near))
	var ids []int
	var priors []float32 // per image
	var top float32
	for _, hs := range [][]beam.Hypothesis{dec, near} {
		for _, h := range hs {
			key := h.ID.String()
			if seen[key] {
				continue
			}
			seen[key] = true
			lo := len(ids)
			ids = e.trie.AppendItems(ids, h.ID)
			if len(ids) == lo {
				continue
			}
			a := agreement(h.ID, dec, probs)
			top = max(top, a)
			for range len(ids) - lo {
				priors = append(priors, a)
			}
		}
	}
	sims := make([]float32, len(ids))
	if err := e.index.Scores(feat, ids, sims); err != nil {
		return nil, err
	}
	cs := make([]Candidate, len(ids))
	for i, id := range ids {
		cs[i] = Candidate{Index: id, Sim: sims[i], Prior: priors[i]}
		if top > 0 {
			cs[i].Prior /= top
		}
	}
	return cs, nil
}

// beamProbs turns the beam's scores (log-probabilities) into a
// distribution over its hypotheses.
func beamProbs(hs []beam.Hypothesis) []float64 {
	p := make([]float64, len(hs))
	if len(hs) == 0 {
		return p
	}
	best, sum := hs[0].Score, 0.0
	for _, h := range hs {
		best = max(best, h.Score)
	}
	for i, h := range hs {
		p[i] = math.Exp(h.Score - best)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// agreement is the decoder's support for id: the probability of each
// generated ID times the fraction of id's tokens it shares as a prefix.
func agreement(id semid.ID, hs []beam.Hypothesis, probs []float64) float32 {
	var a float64
	for i, h := range hs {
		shared := 0
		for shared < len(id) && shared < len(h.ID) && h.ID[shared] == id[shared] {
			shared++
		}
		a += probs[i] * float64(shared) / float64(len(id))
	}
	return float32(a)
}
