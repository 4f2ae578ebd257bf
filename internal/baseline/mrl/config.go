// Package mrl is Matryoshka representation learning with adaptive
// retrieval (seed 004, Kusupati et al., NeurIPS 2022). A ViT whose class
// token is projected linearly to a D-dimensional embedding z is trained
// with the Matryoshka loss
//
//	L = Σ_{m ∈ Nesting} CE(W_m · z[:m] + b_m, y)
//
// (a classification cross-entropy on every nested prefix of z, all with
// relative importance 1 as in the reference MRL.py), so that every prefix
// z[:m] is a usable representation on its own. Gallery images are
// embedded once; retrieval then searches L2-normalized prefixes:
//
//   - exact L2 search at any prefix size (the seed's IndexFlatL2 over
//     normalized vectors),
//   - adaptive retrieval: a shortlist of k images at D_r dimensions,
//     reranked at D_s dimensions,
//   - funnel retrieval: a shortlist at D_r, then a cascade of reranks at
//     increasing sizes over decreasing shortlists,
//   - HNSW over the full embedding (the seed's HNSW32).
//
// Package mrl registers them with the engine as the methods mrl,
// mrl-adaptive, mrl-funnel and mrl-hnsw (see method.go).
package mrl

import (
	"fmt"

	"github.com/irgen/irgen/internal/encoder"
)

// Config describes the MRL model.
type Config struct {
	Encoder encoder.Config `json:"encoder"`
	// Dim is the embedding width D.
	Dim     int `json:"dim"`
	Classes int `json:"classes"`
	// Nesting lists the prefix sizes the loss classifies from, increasing,
	// the last equal to Dim (default NestingDims(Dim): 8, 16, 32, …, D).
	Nesting []int `json:"nesting"`
	// Shared selects MRL-E: one classifier W [Dim, Classes] and bias whose
	// first m rows classify the m-dimensional prefix. When false (MRL,
	// the default) every prefix has its own linear classifier.
	Shared bool `json:"shared"`
}

// DefaultDim is the embedding width of the mini model.
const DefaultDim = 128

// NestingDims returns the seed's nesting list for width dim: the powers of
// two from 8 below dim, then dim (8, 16, 32, 64, 128 for 128; 8, 16, 32,
// 64, 96 for 96; just dim when dim ≤ 8).
func NestingDims(dim int) []int {
	var out []int
	for m := 8; m < dim; m *= 2 {
		out = append(out, m)
	}
	return append(out, dim)
}

// DefaultConfig returns MRL with the default width on the given encoder.
func DefaultConfig(enc encoder.Config, classes int) Config {
	return Config{Encoder: enc, Dim: DefaultDim, Classes: classes, Nesting: NestingDims(DefaultDim)}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if err := c.Encoder.Validate(); err != nil {
		return err
	}
	switch {
	case c.Dim <= 0:
		return fmt.Errorf("mrl: embedding dim %d must be positive", c.Dim)
	case c.Classes < 2:
		return fmt.Errorf("mrl: %d classes, need at least 2", c.Classes)
	case len(c.Nesting) == 0:
		return fmt.Errorf("mrl: empty nesting list")
	case c.Nesting[len(c.Nesting)-1] != c.Dim:
		return fmt.Errorf("mrl: nesting %v must end at the embedding dim %d", c.Nesting, c.Dim)
	}
	for i, m := range c.Nesting {
		if m <= 0 || (i > 0 && m <= c.Nesting[i-1]) {
			return fmt.Errorf("mrl: nesting %v is not increasing positive sizes", c.Nesting)
		}
	}
	return nil
}
