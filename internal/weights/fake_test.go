package weights

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

// Tiny architecture of the fake checkpoints: 16×16 RGB images in 4×4
// patches.
const (
	fD     = 8  // width
	fDepth = 2  // blocks
	fP     = 4  // patch
	fC     = 3  // channels
	fN     = 16 // (16/4)²
	fH     = 32 // MLP width
	fE     = 6  // CLIP projection width
)

// stTensor is one tensor of a fake safetensors file.
type stTensor struct {
	name  string
	dtype string // F32, F16, BF16, F64 or an integer type
	shape []int
	data  []float32
}

// encodeST writes a safetensors file: 8-byte little-endian header length,
// JSON header padded with spaces to 8 bytes, then the tensors' data in
// order.
func encodeST(t testing.TB, tensors []stTensor) []byte {
	t.Helper()
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, x := range tensors {
		begin := len(data)
		for _, v := range x.data {
			switch x.dtype {
			case "F32":
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			case "F16":
				data = binary.LittleEndian.AppendUint16(data, testF32ToF16(t, v))
			case "BF16":
				b := math.Float32bits(v)
				if b&0xffff != 0 {
					t.Fatalf("%s: %v is not exact in bf16", x.name, v)
				}
				data = binary.LittleEndian.AppendUint16(data, uint16(b>>16))
			case "F64":
				data = binary.LittleEndian.AppendUint64(data, math.Float64bits(float64(v)))
			case "I32":
				data = binary.LittleEndian.AppendUint32(data, uint32(int32(v)))
			case "I64":
				data = binary.LittleEndian.AppendUint64(data, uint64(int64(v)))
			default:
				t.Fatalf("%s: dtype %q not handled by the test writer", x.name, x.dtype)
			}
		}
		shape := x.shape
		if shape == nil {
			shape = []int{}
		}
		header[x.name] = map[string]any{"dtype": x.dtype, "shape": shape, "data_offsets": []int{begin, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, data...)
}

// testF32ToF16 encodes v, which must be a normal half or zero and exact.
func testF32ToF16(t testing.TB, v float32) uint16 {
	t.Helper()
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	if v == 0 {
		return sign
	}
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	if exp <= 0 || exp >= 31 || mant&0x1fff != 0 {
		t.Fatalf("%v is not exact in f16", v)
	}
	return sign | uint16(exp)<<10 | uint16(mant>>13)
}

// fake builds a checkpoint and the canonical params expected from it.
type fake struct {
	tensors []stTensor
	want    map[string]Tensor
	arch    Arch
	seed    int
}

func newFake(arch Arch) *fake {
	return &fake{want: make(map[string]Tensor), arch: arch}
}

// add appends a tensor of distinct, f16- and bf16-exact values, cycling
// through F32, F16, BF16 and F64, and returns its values.
func (f *fake) add(name string, shape ...int) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32((i*7+f.seed*13)%61-30) / 16
	}
	f.tensors = append(f.tensors, stTensor{name: name, dtype: []string{"F32", "F16", "BF16", "F64"}[f.seed%4], shape: shape, data: data})
	f.seed++
	return data
}

// expect records the canonical param name with the given shape.
func (f *fake) expect(name string, data []float32, shape ...int) {
	f.want[name] = Tensor{Shape: shape, Data: data}
}

// vec adds src [n] and expects it unchanged as dst.
func (f *fake) vec(dst, src string, n int) {
	f.expect(dst, f.add(src, n), n)
}

// linear adds a PyTorch Linear (weight [out, in], bias [out]) and expects
// kernel [in, out] and bias.
func (f *fake) linear(kernel, bias, src string, in, out int) {
	w := f.add(src+".weight", out, in)
	f.expect(kernel, refTranspose(w, out, in), in, out)
	f.vec(bias, src+".bias", out)
}

// norm adds a layer norm src (weight and bias [D]) and expects them
// unchanged as gain and bias.
func (f *fake) norm(gain, bias, src string) {
	f.vec(gain, src+".weight", fD)
	f.vec(bias, src+".bias", fD)
}

// blockNames names the tensors of an encoder block in a checkpoint
// format, relative to the block's prefix: two layer norms, the attention
// input (one fused Linear qkv, or separate q, k and v where qkv is ""),
// its output Linear and the two MLP Linears.
type blockNames struct {
	ln1, ln2, qkv, q, k, v, out, fc1, fc2 string
}

// blocks adds fDepth encoder blocks under layer+"<i>." named by n, and
// expects their parameters.
func (f *fake) blocks(layer string, n blockNames) {
	for i := range fDepth {
		b := fmt.Sprintf("%s%d.", layer, i)
		f.norm(BlockParam(i, BlockLN1Gain), BlockParam(i, BlockLN1Bias), b+n.ln1)
		if n.qkv != "" {
			f.linear(BlockParam(i, BlockQKVKernel), BlockParam(i, BlockQKVBias), b+n.qkv, fD, 3*fD)
		} else {
			f.qkv(i, b+n.q, b+n.k, b+n.v)
		}
		f.linear(BlockParam(i, BlockOutKernel), BlockParam(i, BlockOutBias), b+n.out, fD, fD)
		f.norm(BlockParam(i, BlockLN2Gain), BlockParam(i, BlockLN2Bias), b+n.ln2)
		f.linear(BlockParam(i, BlockFC1Kernel), BlockParam(i, BlockFC1Bias), b+n.fc1, fD, fH)
		f.linear(BlockParam(i, BlockFC2Kernel), BlockParam(i, BlockFC2Bias), b+n.fc2, fH, fD)
	}
}

// qkv adds separate q, k, v Linears [D, D] and expects the fused kernel.
func (f *fake) qkv(i int, q, k, v string) {
	var ws [3][]float32
	var bias []float32
	for s, src := range []string{q, k, v} {
		ws[s] = f.add(src+".weight", fD, fD)
		bias = append(bias, f.add(src+".bias", fD)...)
	}
	kernel := make([]float32, fD*3*fD)
	for in := range fD {
		for s := range 3 {
			for out := range fD {
				kernel[in*3*fD+s*fD+out] = ws[s][out*fD+in]
			}
		}
	}
	f.expect(BlockParam(i, BlockQKVKernel), kernel, fD, 3*fD)
	f.expect(BlockParam(i, BlockQKVBias), bias, 3*fD)
}

// patch adds a conv weight [D, C, P, P] and expects kernel [P, P, C, D].
func (f *fake) patch(src string) {
	w := f.add(src, fD, fC, fP, fP)
	k := make([]float32, len(w))
	for kh := range fP {
		for kw := range fP {
			for c := range fC {
				for d := range fD {
					k[((kh*fP+kw)*fC+c)*fD+d] = w[((d*fC+c)*fP+kh)*fP+kw]
				}
			}
		}
	}
	f.expect(ParamPatchKernel, k, fP, fP, fC, fD)
}

func refTranspose(w []float32, rows, cols int) []float32 {
	out := make([]float32, len(w))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = w[r*cols+c]
		}
	}
	return out
}

func (f *fake) bytes(t testing.TB) []byte { return encodeST(t, f.tensors) }

func fakeArch(format, act string, eps float64) Arch {
	return Arch{Patch: fP, Channels: fC, Dim: fD, Depth: fDepth, MLPDim: fH, NumPatches: fN,
		Activation: act, NormEps: eps, Format: format}
}

// fakeCLIP builds a Hugging Face CLIP checkpoint. outer is a prefix before
// "vision_model."; full adds a text tower and the visual projection, as in
// CLIPModel.
func fakeCLIP(outer string, full bool) *fake {
	f := newFake(fakeArch(FormatCLIP, ActQuickGELU, 1e-5))
	f.arch.PreNorm = true
	p := outer + "vision_model."
	if full {
		f.add(outer+"text_model.embeddings.token_embedding.weight", 10, fD)
		f.add(outer+"logit_scale", 1)
	}
	f.patch(p + "embeddings.patch_embedding.weight")
	f.expect(ParamPatchBias, make([]float32, fD), fD)
	f.vec(ParamCLS, p+"embeddings.class_embedding", fD)
	f.expect(ParamPos, f.add(p+"embeddings.position_embedding.weight", 1+fN, fD), 1+fN, fD)
	f.tensors = append(f.tensors, stTensor{name: p + "embeddings.position_ids", dtype: "I64", shape: []int{1, 1 + fN}, data: make([]float32, 1+fN)})
	f.norm(ParamPreNormGain, ParamPreNormBias, p+"pre_layrnorm")
	f.blocks(p+"encoder.layers.", blockNames{ln1: "layer_norm1", ln2: "layer_norm2",
		q: "self_attn.q_proj", k: "self_attn.k_proj", v: "self_attn.v_proj", out: "self_attn.out_proj",
		fc1: "mlp.fc1", fc2: "mlp.fc2"})
	f.norm(ParamFinalNormGain, ParamFinalNormBias, p+"post_layernorm")
	if full {
		w := f.add(outer+"visual_projection.weight", fE, fD)
		f.expect(ParamProjKernel, refTranspose(w, fE, fD), fD, fE)
		f.add(outer+"text_projection.weight", fE, fD)
		f.arch.ProjDim = fE
	}
	return f
}

// fakeTimm builds a timm ViT checkpoint under prefix p.
func fakeTimm(p string) *fake {
	f := newFake(fakeArch(FormatTimm, ActGELU, 1e-6))
	f.expect(ParamCLS, f.add(p+"cls_token", 1, 1, fD), fD)
	f.expect(ParamPos, f.add(p+"pos_embed", 1, 1+fN, fD), 1+fN, fD)
	f.patch(p + "patch_embed.proj.weight")
	f.vec(ParamPatchBias, p+"patch_embed.proj.bias", fD)
	f.blocks(p+"blocks.", blockNames{ln1: "norm1", ln2: "norm2",
		qkv: "attn.qkv", out: "attn.proj", fc1: "mlp.fc1", fc2: "mlp.fc2"})
	f.norm(ParamFinalNormGain, ParamFinalNormBias, p+"norm")
	f.add(p+"head.weight", 5, fD)
	f.add(p+"head.bias", 5)
	return f
}

// fakeHFViT builds a Hugging Face ViTModel checkpoint under prefix p
// ("vit." for ViTForImageClassification).
func fakeHFViT(p string) *fake {
	f := newFake(fakeArch(FormatHFViT, ActGELU, 1e-12))
	f.expect(ParamCLS, f.add(p+"embeddings.cls_token", 1, 1, fD), fD)
	f.expect(ParamPos, f.add(p+"embeddings.position_embeddings", 1, 1+fN, fD), 1+fN, fD)
	f.patch(p + "embeddings.patch_embeddings.projection.weight")
	f.vec(ParamPatchBias, p+"embeddings.patch_embeddings.projection.bias", fD)
	f.blocks(p+"encoder.layer.", blockNames{ln1: "layernorm_before", ln2: "layernorm_after",
		q: "attention.attention.query", k: "attention.attention.key", v: "attention.attention.value",
		out: "attention.output.dense", fc1: "intermediate.dense", fc2: "output.dense"})
	f.norm(ParamFinalNormGain, ParamFinalNormBias, p+"layernorm")
	f.add(p+"pooler.dense.weight", fD, fD)
	if p != "" {
		f.add("classifier.weight", 5, fD)
	}
	return f
}

// without returns the tensors with name removed.
func without(ts []stTensor, name string) []stTensor {
	var out []stTensor
	for _, x := range ts {
		if x.name != name {
			out = append(out, x)
		}
	}
	return out
}

// replace returns the tensors with name swapped for x.
func replace(ts []stTensor, name string, x stTensor) []stTensor {
	out := make([]stTensor, len(ts))
	for i, t := range ts {
		if t.name == name {
			t = x
		}
		out[i] = t
	}
	return out
}
