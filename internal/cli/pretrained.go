package cli

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/weights"
)

// pretrained holds ViT weights read from a .safetensors file.
type pretrained struct{ vit *weights.ViT }

// loadPretrained reads path and makes enc match its architecture, keeping
// enc's image size (the position embedding is resampled to it).
func loadPretrained(path string, enc *encoder.Config) (*pretrained, error) {
	v, err := weights.LoadViT(path)
	if err != nil {
		return nil, err
	}
	a := v.Arch
	if a.Heads == 0 {
		return nil, fmt.Errorf("%s: cannot tell the number of attention heads of a %d-wide ViT; put its config.json beside it", path, a.Dim)
	}
	enc.Patch, enc.Channels, enc.Dim, enc.Depth, enc.MLPDim, enc.Heads = a.Patch, a.Channels, a.Dim, a.Depth, a.MLPDim, a.Heads
	enc.Activation, enc.PreNorm, enc.Eps = nn.Activation(a.Activation), a.PreNorm, a.NormEps
	if err := enc.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if a.NumPatches != enc.NumPatches() {
		if err := v.Resize(enc.NumPatches()); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &pretrained{vit: v}, nil
}

// assign creates the encoder variables under scope from the weights.
func (p *pretrained) assign(vars *model.Store, scope string) error {
	if err := p.vit.Check(); err != nil {
		return err
	}
	for name, t := range p.vit.Params {
		if name == weights.ParamProjKernel {
			continue // CLIP's image-text projection: not part of the encoder
		}
		path := scope + "/" + name
		if _, err := vars.CreateVariable(path, tensors.FromFlatDataAndDimensions(t.Data, t.Shape...)); err != nil {
			return fmt.Errorf("pretrained %s: %w", path, err)
		}
	}
	return nil
}
