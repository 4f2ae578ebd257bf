// Package encoder is irgen's Vision Transformer: patch embedding, class
// token, position embedding and pre-norm transformer blocks, built with
// GoMLX. Its parameters follow the canonical layout of package weights so
// that CLIP and timm/DeiT checkpoints load by name.
package encoder

import (
	"fmt"
	"sort"

	"github.com/irgen/irgen/internal/nn"
)

// Config describes a ViT.
type Config struct {
	ImageSize  int           `json:"image_size"` // input height = width
	Patch      int           `json:"patch"`      // patch height = width
	Channels   int           `json:"channels"`   // 1 (grayscale) or 3
	Dim        int           `json:"dim"`        // token width
	Depth      int           `json:"depth"`      // number of blocks
	Heads      int           `json:"heads"`
	MLPDim     int           `json:"mlp_dim"`
	Activation nn.Activation `json:"activation"`
	PreNorm    bool          `json:"pre_norm"` // CLIP's layer norm before the blocks
	Eps        float64       `json:"eps"`
}

// NumPatches is the number of patch tokens (the class token not counted).
func (c Config) NumPatches() int {
	n := c.ImageSize / c.Patch
	return n * n
}

// Tokens is the sequence length: patches plus the class token.
func (c Config) Tokens() int { return c.NumPatches() + 1 }

// Validate checks that the sizes fit together.
func (c Config) Validate() error {
	switch {
	case c.ImageSize <= 0 || c.Patch <= 0 || c.ImageSize%c.Patch != 0:
		return fmt.Errorf("encoder: image size %d is not a positive multiple of patch %d", c.ImageSize, c.Patch)
	case c.Channels != 1 && c.Channels != 3:
		return fmt.Errorf("encoder: %d channels, want 1 or 3", c.Channels)
	case c.Dim <= 0 || c.Heads <= 0 || c.Dim%c.Heads != 0:
		return fmt.Errorf("encoder: width %d is not a positive multiple of %d heads", c.Dim, c.Heads)
	case c.Depth <= 0 || c.MLPDim <= 0:
		return fmt.Errorf("encoder: depth %d and mlp width %d must be positive", c.Depth, c.MLPDim)
	}
	return nil
}

// GFLOPs estimates the forward cost of one image in 10⁹ floating-point
// operations (multiply-adds count 2).
func (c Config) GFLOPs() float64 {
	t, d := float64(c.Tokens()), float64(c.Dim)
	pp := float64(c.Patch * c.Patch * c.Channels)
	perBlock := t*(4*d*d+2*d*float64(c.MLPDim)) + 2*t*t*d
	return 2 * (float64(c.NumPatches())*pp*d + float64(c.Depth)*perBlock) / 1e9
}

var sizes = map[string]Config{
	// mini fits 28×28 grayscale images on a laptop CPU.
	"mini": {ImageSize: 28, Patch: 4, Channels: 1, Dim: 96, Depth: 4, Heads: 4, MLPDim: 192, Activation: nn.GELU, Eps: 1e-6},
	// tiny, small and base are the ViT/DeiT sizes at 224×224 with 16×16 patches;
	// base is ViT-B/16 as in the IRGen paper.
	"tiny":  {ImageSize: 224, Patch: 16, Channels: 3, Dim: 192, Depth: 12, Heads: 3, MLPDim: 768, Activation: nn.GELU, Eps: 1e-6},
	"small": {ImageSize: 224, Patch: 16, Channels: 3, Dim: 384, Depth: 12, Heads: 6, MLPDim: 1536, Activation: nn.GELU, Eps: 1e-6},
	"base":  {ImageSize: 224, Patch: 16, Channels: 3, Dim: 768, Depth: 12, Heads: 12, MLPDim: 3072, Activation: nn.GELU, Eps: 1e-6},
}

// Size returns the named configuration: mini, tiny, small or base.
func Size(name string) (Config, error) {
	c, ok := sizes[name]
	if !ok {
		return Config{}, fmt.Errorf("encoder: unknown size %q (have %v)", name, SizeNames())
	}
	return c, nil
}

// SizeNames lists the named sizes.
func SizeNames() []string {
	var names []string
	for n := range sizes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
