// Package beam implements trie-constrained beam search over semantic IDs.
//
// A search generates IDs of M tokens one token per step. At step t every
// live beam (a prefix of t tokens with a score, the sum of its tokens'
// log-probabilities) asks the Scorer for the log-probabilities of the next
// token; only tokens that the trie allows after the beam's prefix are
// candidates. The Width best (prefix+token, score) candidates of a query
// survive to step t+1. After M steps the complete IDs are returned best
// first; every one of them is in the trie.
//
// Ranking is by score, highest first; equal scores are ordered by ID,
// lexicographically smallest first, so results are deterministic.
package beam

import (
	"errors"
	"fmt"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// ErrShape reports a configuration, trie or scorer output of the wrong size.
var ErrShape = errors.New("beam: shape mismatch")

// Beams describes the live beams at one step, in one flat batch: beams of
// the same query are contiguous, queries in increasing order, and within a
// query beams are ordered best first.
type Beams struct {
	// T is the step, which is also the length of every prefix (0..M-1).
	T int
	// Query holds the query index of each beam (always 0 in Search). Its
	// length is the number of beams N.
	Query []int32
	// Prefix holds the N prefixes row-major: beam b's is
	// Prefix[b*T:(b+1)*T].
	Prefix []int32
}

// Len returns the number of beams.
func (bs Beams) Len() int { return len(bs.Query) }

// At returns the prefix of beam b.
func (bs Beams) At(b int) []int32 { return bs.Prefix[b*bs.T : (b+1)*bs.T] }

// A Scorer gives next-token log-probabilities for a batch of prefixes. The
// decoder implements it with a batched forward pass; RQScorer scores by
// codeword distance.
//
// For one search the calls are Next(step 0), Reorder, Next(step 1), …,
// Reorder, Next(step M-1). Step 0 has one beam per query with an empty
// prefix. The number of beams varies between steps (it is at most
// queries×Width); a scorer that needs fixed shapes pads to that bound.
type Scorer interface {
	// Next writes the log-probability of every token tok in [0, L) after
	// beam b's prefix to logp[b*L+tok]; len(logp) is beams.Len()*L. Only
	// tokens the trie allows are read. -Inf (or NaN) rules a token out.
	Next(beams Beams, logp []float32) error
	// Reorder is called after each step but the last with, for each beam j
	// of the next step, the index of the beam of the current step that it
	// extends (its parent). Beam j's next prefix is its parent's prefix
	// plus one token, which Next sees as the last token of the prefix. A
	// scorer that caches per-beam state (a KV cache, residuals) gathers it
	// by parents here.
	Reorder(parents []int) error
}

// Hypothesis is a complete ID and its score, the sum of the
// log-probabilities of its tokens.
type Hypothesis struct {
	ID    semid.ID
	Score float64
}

// Config configures a Searcher.
type Config struct {
	// Width is the number of beams kept per query at every step.
	Width int
	// M is the number of tokens per ID; it must match the trie.
	M int
	// L is the number of token values; it must match the trie.
	L int
	// TopK is the number of IDs returned per query, at most Width
	// (0 means Width).
	TopK int
}

// DefaultConfig returns IRGen's setting: width 30 over IDs of 4 tokens in
// [0, 256), returning 30 IDs.
func DefaultConfig() Config {
	return Config{Width: 30, M: 4, L: 256}
}

func (cfg Config) validate() (Config, error) {
	if cfg.TopK == 0 {
		cfg.TopK = cfg.Width
	}
	if cfg.Width < 1 || cfg.M < 1 || cfg.L < 1 || cfg.TopK < 1 || cfg.TopK > cfg.Width {
		return cfg, fmt.Errorf("%w: Width=%d M=%d L=%d TopK=%d, want all ≥ 1 and TopK ≤ Width",
			ErrShape, cfg.Width, cfg.M, cfg.L, cfg.TopK)
	}
	return cfg, nil
}

// Expand turns ranked IDs into ranked items: the items of each ID in the
// order of hyps (an ID's items in insertion order), cut at k items; k ≤ 0
// means no cut. IDs no longer in tr contribute nothing.
func Expand(hyps []Hypothesis, tr *trie.Trie, k int) []int {
	var out []int
	for _, h := range hyps {
		out = tr.AppendItems(out, h.ID)
		if k > 0 && len(out) >= k {
			return out[:k]
		}
	}
	return out
}
