package beam

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// scoreFunc is a pure next-token score: the same (query, prefix, token)
// always gets the same value, so a reference can recompute it.
type scoreFunc func(q int32, prefix []int32, tok int32) float32

func mix(h uint64) uint64 { // splitmix64 finalizer
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

func prefixHash(seed uint64, q int32, prefix []int32) uint64 {
	h := mix(seed ^ uint64(q+1)*0x9e3779b97f4a7c15)
	for _, tok := range prefix {
		h = mix(h ^ uint64(tok+1))
	}
	return mix(h ^ uint64(len(prefix))<<32)
}

// randomScores gives log-probabilities drawn uniformly from (-4, 0].
func randomScores(seed uint64) scoreFunc {
	return func(q int32, prefix []int32, tok int32) float32 {
		h := mix(prefixHash(seed, q, prefix) ^ uint64(tok)<<40)
		return -4 * float32(h>>40) / (1 << 24)
	}
}

// tiedScores gives only the values 0, -1 and -2, so many IDs tie and the
// ID order decides.
func tiedScores(seed uint64) scoreFunc {
	return func(q int32, prefix []int32, tok int32) float32 {
		return -float32(mix(prefixHash(seed, q, prefix)^uint64(tok)<<40) % 3)
	}
}

// greedyScores is greedy-consistent: siblings get distinct ranks from a
// per-prefix permutation, and level t's rank is weighted by L^(M-1-t),
// more than all later levels can add up to. An ID's total is then its rank
// vector read as a base-L number, exact in float32, so the best ID is the
// one that is best at every level in turn: what a width-1 search finds.
func greedyScores(seed uint64, m, l int) scoreFunc {
	return func(q int32, prefix []int32, tok int32) float32 {
		h := prefixHash(seed, q, prefix)
		key := func(i int32) uint64 { return mix(h ^ uint64(i)<<40) }
		kt, rank := key(tok), 0
		for i := range int32(l) {
			if k := key(i); k < kt || (k == kt && i < tok) {
				rank++
			}
		}
		return -float32(rank) * float32(math.Pow(float64(l), float64(m-1-len(prefix))))
	}
}

// funcScorer implements Scorer with a scoreFunc. It also checks the
// Reorder contract: it tracks each beam's prefix itself through Reorder
// and fails if Next disagrees.
type funcScorer struct {
	f scoreFunc
	l int

	known  []int32 // the prefixes (stride knownT) as this scorer tracks them
	query  []int32
	knownT int
	spareP []int32
	spareQ []int32
	calls  int
}

func (s *funcScorer) Next(beams Beams, logp []float32) error {
	n, t := beams.Len(), beams.T
	if len(logp) != n*s.l {
		return fmt.Errorf("logp has %d values for %d beams", len(logp), n)
	}
	if t == 0 {
		s.knownT = 0
		s.calls = 0
	} else {
		if t != s.knownT+1 || len(s.query) != n {
			return fmt.Errorf("step %d after step %d with %d beams, now %d", t, s.knownT, len(s.query), n)
		}
		for b := range n {
			if !slices.Equal(beams.At(b)[:t-1], s.known[b*(t-1):(b+1)*(t-1)]) || beams.Query[b] != s.query[b] {
				return fmt.Errorf("step %d beam %d: prefix %v query %d; Reorder said %v query %d",
					t, b, beams.At(b), beams.Query[b], s.known[b*(t-1):(b+1)*(t-1)], s.query[b])
			}
		}
	}
	s.calls++
	s.known = append(s.known[:0], beams.Prefix...)
	s.query = append(s.query[:0], beams.Query...)
	s.knownT = t
	for b := range n {
		p := beams.At(b)
		for tok := range s.l {
			logp[b*s.l+tok] = s.f(beams.Query[b], p, int32(tok))
		}
	}
	return nil
}

func (s *funcScorer) Reorder(parents []int) error {
	t := s.knownT
	s.spareP, s.spareQ = s.spareP[:0], s.spareQ[:0]
	for _, p := range parents {
		if p < 0 || p >= len(s.query) {
			return fmt.Errorf("parent %d of %d beams", p, len(s.query))
		}
		s.spareP = append(s.spareP, s.known[p*t:(p+1)*t]...)
		s.spareQ = append(s.spareQ, s.query[p])
	}
	s.known, s.spareP = s.spareP, s.known
	s.query, s.spareQ = s.spareQ, s.query
	return nil
}

// exhaustive scores every valid ID of tr for query q by summing f over its
// tokens in order (as the search does) and ranks them: score descending,
// then ID ascending. IDs with a -Inf or NaN token score are left out.
func exhaustive(tr *trie.Trie, f scoreFunc, q int32) []Hypothesis {
	var out []Hypothesis
next:
	for id := range tr.All() {
		var s float64
		for t := range id {
			lp := f(q, id[:t], id[t])
			if math.IsNaN(float64(lp)) || math.IsInf(float64(lp), -1) {
				continue next
			}
			s += float64(lp)
		}
		out = append(out, Hypothesis{ID: id.Clone(), Score: s})
	}
	slices.SortFunc(out, func(a, b Hypothesis) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return a.ID.Compare(b.ID)
	})
	return out
}

// idScore recomputes the score of one ID.
func idScore(f scoreFunc, q int32, id semid.ID) float64 {
	var s float64
	for t := range id {
		s += float64(f(q, id[:t], id[t]))
	}
	return s
}
