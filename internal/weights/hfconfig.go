package weights

import (
	"encoding/json"
	"fmt"
)

// hfConfig holds the config.json fields of Hugging Face CLIP and ViT models
// that matter here. Zero means absent.
type hfConfig struct {
	ModelType         string    `json:"model_type"`
	HiddenSize        int       `json:"hidden_size"`
	NumHiddenLayers   int       `json:"num_hidden_layers"`
	NumAttentionHeads int       `json:"num_attention_heads"`
	IntermediateSize  int       `json:"intermediate_size"`
	PatchSize         int       `json:"patch_size"`
	NumChannels       int       `json:"num_channels"`
	HiddenAct         string    `json:"hidden_act"`
	LayerNormEps      float64   `json:"layer_norm_eps"`
	VisionConfig      *hfConfig `json:"vision_config"`
}

// hfDefaults are the transformers class defaults. save_pretrained omits
// fields equal to them, so an absent field means the default.
var hfDefaults = map[string]hfConfig{
	FormatCLIP: { // CLIPVisionConfig
		HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
		PatchSize: 32, NumChannels: 3, HiddenAct: "quick_gelu", LayerNormEps: 1e-5,
	},
	FormatHFViT: { // ViTConfig
		HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
		PatchSize: 16, NumChannels: 3, HiddenAct: "gelu", LayerNormEps: 1e-12,
	},
}

// hfModelTypes maps config.json model_type values to the weight format
// they describe.
var hfModelTypes = map[string]string{
	"clip":              FormatCLIP,
	"clip_vision_model": FormatCLIP,
	"vit":               FormatHFViT,
	"deit":              FormatHFViT,
}

// ApplyHFConfig sets Heads, Activation and NormEps from a Hugging Face
// config.json (CLIPModel, CLIPVisionModel, ViTModel; a CLIPModel's
// vision_config is used). Absent fields take the transformers class
// defaults. Configs of other model types, or of a family other than a's
// Format (a timm config, say), are ignored. Sizes that disagree with the
// weights are an error wrapping ErrShape; an activation other than gelu or
// quick_gelu is an error wrapping ErrUnsupported.
func (a *Arch) ApplyHFConfig(data []byte) error {
	var cfg hfConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("weights: parse config: %w", err)
	}
	if hfModelTypes[cfg.ModelType] != a.Format || a.Format == "" {
		return nil
	}
	if cfg.ModelType == "clip" {
		if cfg.VisionConfig == nil {
			cfg = hfConfig{}
		} else {
			cfg = *cfg.VisionConfig
		}
	}
	cfg = withDefaults(cfg, hfDefaults[a.Format])
	for _, f := range []struct {
		name      string
		cfg, arch int
	}{
		{"hidden_size", cfg.HiddenSize, a.Dim},
		{"num_hidden_layers", cfg.NumHiddenLayers, a.Depth},
		{"intermediate_size", cfg.IntermediateSize, a.MLPDim},
		{"patch_size", cfg.PatchSize, a.Patch},
		{"num_channels", cfg.NumChannels, a.Channels},
	} {
		if f.cfg != f.arch {
			return fmt.Errorf("%w: config %s is %d, the weights have %d", ErrShape, f.name, f.cfg, f.arch)
		}
	}
	if cfg.NumAttentionHeads <= 0 || a.Dim%cfg.NumAttentionHeads != 0 {
		return fmt.Errorf("%w: config num_attention_heads %d does not divide hidden size %d", ErrShape, cfg.NumAttentionHeads, a.Dim)
	}
	switch cfg.HiddenAct {
	case ActGELU, ActQuickGELU:
	default:
		return fmt.Errorf("%w: config hidden_act %q (want %q or %q)", ErrUnsupported, cfg.HiddenAct, ActGELU, ActQuickGELU)
	}
	if cfg.LayerNormEps <= 0 {
		return fmt.Errorf("%w: config layer_norm_eps %g, want > 0", ErrShape, cfg.LayerNormEps)
	}
	a.Heads = cfg.NumAttentionHeads
	a.Activation = cfg.HiddenAct
	a.NormEps = cfg.LayerNormEps
	return nil
}

// withDefaults fills the absent (zero) fields of c from def.
func withDefaults(c, def hfConfig) hfConfig {
	pick := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	c.HiddenSize = pick(c.HiddenSize, def.HiddenSize)
	c.NumHiddenLayers = pick(c.NumHiddenLayers, def.NumHiddenLayers)
	c.NumAttentionHeads = pick(c.NumAttentionHeads, def.NumAttentionHeads)
	c.IntermediateSize = pick(c.IntermediateSize, def.IntermediateSize)
	c.PatchSize = pick(c.PatchSize, def.PatchSize)
	c.NumChannels = pick(c.NumChannels, def.NumChannels)
	if c.HiddenAct == "" {
		c.HiddenAct = def.HiddenAct
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = def.LayerNormEps
	}
	return c
}
