// Package tokenizer is IRGen's semantic image tokenizer (seed 000 §1, §3):
// a ViT whose class-token feature, projected by a fully connected layer, is
// trained with a classification loss and M levels of partial-reconstruction
// classification loss over its residual quantization, so that every image
// gets a short semantic ID of M tokens, each in [0, L).
package tokenizer

import (
	"fmt"

	"github.com/irgen/irgen/internal/encoder"
)

// Config describes the tokenizer model and its losses.
type Config struct {
	Encoder    encoder.Config `json:"encoder"`
	FeatureDim int            `json:"feature_dim"` // width of the FC projection of the class token
	Classes    int            `json:"classes"`
	M          int            `json:"m"` // ID length: residual quantization levels
	L          int            `json:"l"` // codewords per level

	// Scale multiplies the cosine logits of the classifier.
	Scale float64 `json:"scale"`
	// RQWeight weighs the M partial-reconstruction losses; 0 trains with the
	// classification loss only (the ablation of seed 000 Table 3).
	RQWeight float64 `json:"rq_weight"`
	// CommitWeight is β of the commitment term β‖r − sg(c)‖²; the codebook
	// term ‖sg(r) − c‖² has weight 1.
	CommitWeight float64 `json:"commit_weight"`
}

// DefaultConfig returns IRGen's settings (M=4, L=256) on the given encoder.
func DefaultConfig(enc encoder.Config, classes int) Config {
	return Config{
		Encoder: enc, FeatureDim: 128, Classes: classes,
		M: 4, L: 256, Scale: 16, RQWeight: 1, CommitWeight: 0.25,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if err := c.Encoder.Validate(); err != nil {
		return err
	}
	switch {
	case c.FeatureDim <= 0:
		return fmt.Errorf("tokenizer: feature dim %d must be positive", c.FeatureDim)
	case c.Classes < 2:
		return fmt.Errorf("tokenizer: %d classes, need at least 2", c.Classes)
	case c.M < 1 || c.M > 8:
		return fmt.Errorf("tokenizer: ID length M=%d, want 1..8", c.M)
	case c.L < 2 || c.L > 256:
		return fmt.Errorf("tokenizer: codebook size L=%d, want 2..256", c.L)
	}
	return nil
}
