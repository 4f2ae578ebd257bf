// Package decoder is IRGen's autoregressive ID decoder (seed 000 §3): a
// transformer decoder that cross-attends to the query image's encoder tokens
// and emits the M tokens of a semantic ID, trained on same-class pairs
// (x1 → ID of x2) with label-smoothed cross-entropy.
package decoder

import (
	"fmt"

	"github.com/irgen/irgen/internal/nn"
)

// Config describes the decoder.
type Config struct {
	Dim        int           `json:"dim"`
	Depth      int           `json:"depth"`
	Heads      int           `json:"heads"`
	MLPDim     int           `json:"mlp_dim"`
	M          int           `json:"m"` // ID length
	L          int           `json:"l"` // codewords per level
	Activation nn.Activation `json:"activation"`
	Eps        float64       `json:"eps"`
	// Smoothing is the label smoothing of the training cross-entropy.
	Smoothing float64 `json:"smoothing"`
	// Dropout is the rate at which training zeroes the encoder tokens the
	// decoder reads and the output of every attention and MLP branch
	// (seed 002 trains ViT-DSI with 0.1); inference never drops.
	Dropout float64 `json:"dropout,omitempty"`
}

// DefaultConfig returns a CPU-sized decoder; the paper's is Dim 768, Depth 12.
func DefaultConfig(m, l int) Config {
	return Config{Dim: 128, Depth: 2, Heads: 4, MLPDim: 256, M: m, L: l, Activation: nn.GELU, Eps: 1e-6, Smoothing: 0.1}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.Dim <= 0 || c.Heads <= 0 || c.Dim%c.Heads != 0:
		return fmt.Errorf("decoder: width %d is not a positive multiple of %d heads", c.Dim, c.Heads)
	case c.Depth <= 0 || c.MLPDim <= 0:
		return fmt.Errorf("decoder: depth %d and mlp width %d must be positive", c.Depth, c.MLPDim)
	case c.M < 1 || c.L < 2:
		return fmt.Errorf("decoder: ID of %d tokens in [0,%d)", c.M, c.L)
	case c.Smoothing < 0 || c.Smoothing >= 1:
		return fmt.Errorf("decoder: label smoothing %g outside [0,1)", c.Smoothing)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("decoder: dropout %g outside [0,1)", c.Dropout)
	}
	return nil
}
