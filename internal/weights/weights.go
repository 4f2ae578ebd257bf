// Package weights loads pretrained Vision Transformer weights from local
// .safetensors files and maps them onto irgen's canonical ViT parameter set,
// the contract with internal/encoder.
//
// Three naming conventions are recognised: Hugging Face CLIP vision towers
// ("clip"), timm ViT/DeiT ("timm") and Hugging Face ViTModel/DeiTModel
// ("hf-vit"). Whatever the source, parameters come out under these names,
// with these layouts (P patch size, C channels, D width, N patches, H MLP
// width, i the block index):
//
//	patch/kernel                     [P, P, C, D]  patch pixels in (row, col, channel) order
//	patch/bias                       [D]           zeros when the source has none (CLIP)
//	cls                              [D]
//	pos                              [1+N, D]      row 0 is the cls position
//	pre_norm/gain, pre_norm/bias     [D]           only when Arch.PreNorm (CLIP)
//	block{i}/ln1/gain, .../ln1/bias  [D]
//	block{i}/attn/qkv/kernel         [D, 3D]       q, k, v concatenated along the output axis
//	block{i}/attn/qkv/bias           [3D]
//	block{i}/attn/out/kernel         [D, D]
//	block{i}/attn/out/bias           [D]
//	block{i}/ln2/gain, .../ln2/bias  [D]
//	block{i}/mlp/fc1/kernel          [D, H]
//	block{i}/mlp/fc1/bias            [H]
//	block{i}/mlp/fc2/kernel          [H, D]
//	block{i}/mlp/fc2/bias            [D]
//	final_norm/gain, final_norm/bias [D]
//	proj/kernel                      [D, E]        optional: CLIP visual_projection, only when Arch.ProjDim > 0
//
// Kernels are [in, out] (PyTorch Linear weights are [out, in] and get
// transposed). All data is float32, flat and row-major; F32, F16, BF16 and
// F64 tensors are accepted.
//
// Checkpoints whose computation the canonical ViT cannot express are
// refused with ErrUnsupported rather than loaded approximately: distilled
// DeiT (dist_token / distillation_token; dropping the token would change
// what the cls token attends to), register tokens, layer scale, q/k norm,
// fc_norm global-pool models, and any other unexpected tensor under the
// model prefix. Classification heads, poolers, text towers and buffers
// such as position_ids are ignored.
package weights

import (
	"errors"
	"fmt"
)

// Sentinel errors. Returned errors wrap one of these with the file and
// tensor they concern.
var (
	// ErrFormat reports a malformed or truncated safetensors file.
	ErrFormat = errors.New("weights: malformed safetensors file")
	// ErrUnknownModel reports a file whose tensor names match no supported
	// ViT naming convention.
	ErrUnknownModel = errors.New("weights: no supported vit naming convention found")
	// ErrMissing reports a required tensor that is absent.
	ErrMissing = errors.New("weights: missing tensor")
	// ErrShape reports a tensor whose shape is inconsistent with the model.
	ErrShape = errors.New("weights: shape mismatch")
	// ErrUnsupported reports a checkpoint feature irgen cannot represent
	// (distillation token, layer scale, unsupported dtype, ...).
	ErrUnsupported = errors.New("weights: unsupported checkpoint")
)

// Activation names used in Arch.Activation.
const (
	ActGELU      = "gelu"       // exact erf GELU (timm, HF ViT)
	ActQuickGELU = "quick_gelu" // x*sigmoid(1.702x) (OpenAI CLIP)
)

// Format names used in Arch.Format.
const (
	FormatCLIP  = "clip"
	FormatTimm  = "timm"
	FormatHFViT = "hf-vit"
)

// Canonical parameter names that do not depend on the block index. Use
// BlockParam for per-block names.
const (
	ParamPatchKernel   = "patch/kernel"
	ParamPatchBias     = "patch/bias"
	ParamCLS           = "cls"
	ParamPos           = "pos"
	ParamPreNormGain   = "pre_norm/gain"
	ParamPreNormBias   = "pre_norm/bias"
	ParamFinalNormGain = "final_norm/gain"
	ParamFinalNormBias = "final_norm/bias"
	ParamProjKernel    = "proj/kernel"
)

// Per-block parameter suffixes, combined with a block index by BlockParam.
const (
	BlockLN1Gain   = "ln1/gain"
	BlockLN1Bias   = "ln1/bias"
	BlockQKVKernel = "attn/qkv/kernel"
	BlockQKVBias   = "attn/qkv/bias"
	BlockOutKernel = "attn/out/kernel"
	BlockOutBias   = "attn/out/bias"
	BlockLN2Gain   = "ln2/gain"
	BlockLN2Bias   = "ln2/bias"
	BlockFC1Kernel = "mlp/fc1/kernel"
	BlockFC1Bias   = "mlp/fc1/bias"
	BlockFC2Kernel = "mlp/fc2/kernel"
	BlockFC2Bias   = "mlp/fc2/bias"
)

// BlockParam returns the canonical name of a per-block parameter, e.g.
// BlockParam(3, BlockQKVKernel) == "block3/attn/qkv/kernel".
func BlockParam(i int, suffix string) string {
	return fmt.Sprintf("block%d/%s", i, suffix)
}

// Arch describes the architecture implied by a checkpoint.
type Arch struct {
	Patch      int // patch side P in pixels
	Channels   int // input channels C
	Dim        int // model width D
	Depth      int // number of transformer blocks
	MLPDim     int // MLP hidden width H
	NumPatches int // N, patches per image (pos has 1+N rows)
	// Heads is the number of attention heads. Safetensors files do not
	// record it: it comes from a config.json next to the file when there is
	// one (see ApplyHFConfig), otherwise it is guessed as Dim/64 (16 for the
	// widths 1280, 1408 and 1664 of ViT-H/g/G), and it is 0 when no guess
	// fits. Callers that know better should overwrite it.
	Heads int
	// Activation is ActGELU or ActQuickGELU. It defaults to the convention's
	// usual choice (quick_gelu for CLIP, gelu otherwise); a config.json
	// overrides it.
	Activation string
	// PreNorm reports a LayerNorm applied to the embeddings before the
	// first block (CLIP pre_layrnorm, timm norm_pre).
	PreNorm bool
	// NormEps is the LayerNorm epsilon: 1e-5 for CLIP, 1e-6 for timm,
	// 1e-12 for HF ViT, unless a config.json says otherwise.
	NormEps float64
	// ProjDim is the output width E of the optional proj/kernel (CLIP
	// visual_projection); 0 when absent.
	ProjDim int
	// Format is the naming convention the weights were read from.
	Format string
}

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Len returns the number of elements implied by the shape.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ViT is a set of pretrained weights under canonical names.
type ViT struct {
	Arch   Arch
	Params map[string]Tensor
}

// Shapes returns the canonical parameter names required by the
// architecture, with their expected shapes.
func (a Arch) Shapes() map[string][]int {
	d, h := a.Dim, a.MLPDim
	s := map[string][]int{
		ParamPatchKernel:   {a.Patch, a.Patch, a.Channels, d},
		ParamPatchBias:     {d},
		ParamCLS:           {d},
		ParamPos:           {1 + a.NumPatches, d},
		ParamFinalNormGain: {d},
		ParamFinalNormBias: {d},
	}
	if a.PreNorm {
		s[ParamPreNormGain] = []int{d}
		s[ParamPreNormBias] = []int{d}
	}
	if a.ProjDim > 0 {
		s[ParamProjKernel] = []int{d, a.ProjDim}
	}
	for i := range a.Depth {
		for suffix, shape := range map[string][]int{
			BlockLN1Gain:   {d},
			BlockLN1Bias:   {d},
			BlockQKVKernel: {d, 3 * d},
			BlockQKVBias:   {3 * d},
			BlockOutKernel: {d, d},
			BlockOutBias:   {d},
			BlockLN2Gain:   {d},
			BlockLN2Bias:   {d},
			BlockFC1Kernel: {d, h},
			BlockFC1Bias:   {h},
			BlockFC2Kernel: {h, d},
			BlockFC2Bias:   {d},
		} {
			s[BlockParam(i, suffix)] = shape
		}
	}
	return s
}

// guessHeads returns the usual head count for a ViT of width dim, or 0.
func guessHeads(dim int) int {
	switch dim {
	case 1280, 1408, 1664: // ViT-H/14, ViT-g/14, ViT-bigG/14: 16 heads
		return 16
	}
	if dim >= 64 && dim%64 == 0 {
		return dim / 64
	}
	return 0
}
