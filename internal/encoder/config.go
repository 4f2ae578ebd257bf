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
	ImageSize int `json:"image_size"` // input height = width
	// Stem lists the output channels of convolutional stages applied before
	// the patch embedding, each halving the resolution (space-to-depth 2×2,
	// 3×3 convolution, layer norm, activation): the hybrid ViT of
	// Dosovitskiy et al. §3.1, whose patches are taken from a CNN feature
	// map. Empty for a plain ViT.
	Stem       []int         `json:"stem,omitempty"`
	Patch      int           `json:"patch"`    // patch height = width, on the stem's output
	Channels   int           `json:"channels"` // 1 (grayscale) or 3
	Dim        int           `json:"dim"`      // token width
	Depth      int           `json:"depth"`    // number of blocks
	Heads      int           `json:"heads"`
	MLPDim     int           `json:"mlp_dim"`
	Activation nn.Activation `json:"activation"`
	PreNorm    bool          `json:"pre_norm"` // CLIP's layer norm before the blocks
	Eps        float64       `json:"eps"`
}

// GridSize is the side of the map the patch embedding reads: the image
// shrunk by the stem's strides.
func (c Config) GridSize() int { return c.ImageSize >> len(c.Stem) }

// PatchChannels is the number of channels the patch embedding reads.
func (c Config) PatchChannels() int {
	if len(c.Stem) > 0 {
		return c.Stem[len(c.Stem)-1]
	}
	return c.Channels
}

// NumPatches is the number of patch tokens (the class token not counted).
func (c Config) NumPatches() int {
	n := c.GridSize() / c.Patch
	return n * n
}

// Tokens is the sequence length: patches plus the class token.
func (c Config) Tokens() int { return c.NumPatches() + 1 }

// Validate checks that the sizes fit together.
func (c Config) Validate() error {
	switch {
	case c.ImageSize <= 0 || c.ImageSize%(1<<len(c.Stem)) != 0:
		return fmt.Errorf("encoder: image size %d is not a multiple of the stem's stride %d", c.ImageSize, 1<<len(c.Stem))
	case c.Patch <= 0 || c.GridSize()%c.Patch != 0:
		return fmt.Errorf("encoder: grid of %d is not a positive multiple of patch %d", c.GridSize(), c.Patch)
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
	pp := float64(c.Patch * c.Patch * c.PatchChannels())
	perBlock := t*(4*d*d+2*d*float64(c.MLPDim)) + 2*t*t*d
	stem, side, in := 0.0, c.ImageSize, c.Channels
	for _, out := range c.Stem {
		side /= 2
		stem += float64(side * side * 9 * 4 * in * out)
		in = out
	}
	return 2 * (stem + float64(c.NumPatches())*pp*d + float64(c.Depth)*perBlock) / 1e9
}

var sizes = map[string]Config{
	// mini fits 28×28 grayscale images on a laptop CPU: 7×7 patches of 4×4.
	"mini": {ImageSize: 28, Patch: 4, Channels: 1, Dim: 96, Depth: 4, Heads: 4, MLPDim: 192, Activation: nn.GELU, Eps: 1e-6},
	// mini-hybrid is mini with a two-layer convolutional stem (28 → 14 → 7)
	// and 1×1 patches on its 7×7 map: the same 49 tokens, learnt far faster
	// from scratch.
	"mini-hybrid": {ImageSize: 28, Stem: []int{32, 64}, Patch: 1, Channels: 1, Dim: 96, Depth: 4, Heads: 4, MLPDim: 192, Activation: nn.GELU, Eps: 1e-6},
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
