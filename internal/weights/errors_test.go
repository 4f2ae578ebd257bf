package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawST builds a file from a literal JSON header and data bytes.
func rawST(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func TestLoadViTErrors(t *testing.T) {
	valid := fakeTimm("").bytes(t)
	headerLen := int(binary.LittleEndian.Uint64(valid))
	timm := fakeTimm("").tensors
	qkv := "blocks.0.attn.qkv.weight"

	for _, tc := range []struct {
		name    string
		file    []byte
		wantErr error
		wantMsg string // substring of the error besides the file path
	}{
		{"empty", nil, ErrFormat, "too short"},
		{"truncated/length", valid[:5], ErrFormat, "too short"},
		{"truncated/header", valid[:8+headerLen/2], ErrFormat, "exceeds the"},
		{"truncated/no-data", valid[:8+headerLen], ErrFormat, "outside the"},
		{"truncated/last-byte", valid[:len(valid)-1], ErrFormat, "truncated"},
		{"header/absurd-length", binary.LittleEndian.AppendUint64(nil, 1<<40), ErrFormat, "limit"},
		{"header/not-json", rawST("{nope", nil), ErrFormat, "header"},
		{"header/array", rawST("[1, 2]", nil), ErrFormat, "header"},
		{"header/bad-dtype", rawST(`{"a": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4)), ErrFormat, "Q7"},
		{"header/missing-shape", rawST(`{"a": {"dtype": "F32", "data_offsets": [0, 4]}}`, make([]byte, 4)), ErrFormat, "shape"},
		{"header/negative-shape", rawST(`{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}`, make([]byte, 4)), ErrFormat, "shape"},
		{"header/reversed-offsets", rawST(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}`, make([]byte, 4)), ErrFormat, `"a"`},
		{"header/offsets-out-of-range", rawST(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 400]}}`, make([]byte, 4)), ErrFormat, `"a"`},
		{"header/size-mismatch", rawST(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}`, make([]byte, 4)), ErrFormat, `"a"`},
		{"header/overflow", rawST(`{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}`, make([]byte, 4)), ErrFormat, "overflow"},
		{"unknown-model", rawST(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4)), ErrUnknownModel, "patch embedding"},
		{"ambiguous", encodeST(t, append(fakeCLIP("a.", false).tensors, fakeCLIP("b.", false).tensors...)), ErrUnknownModel, "ambiguous"},
		{"missing-tensor", encodeST(t, without(timm, "blocks.1.mlp.fc2.bias")), ErrMissing, `"blocks.1.mlp.fc2.bias"`},
		{"missing-final-norm", encodeST(t, without(fakeHFViT("vit.").tensors, "vit.layernorm.weight")), ErrMissing, `"vit.layernorm.weight"`},
		{"wrong-shape", encodeST(t, replace(timm, qkv, stTensor{name: qkv, dtype: "F32", shape: []int{3 * fD, fD + 1}, data: make([]float32, 3*fD*(fD+1))})), ErrShape, `"blocks.0.attn.qkv.weight"`},
		{"wrong-shape/pos", encodeST(t, replace(timm, "pos_embed", stTensor{name: "pos_embed", dtype: "F32", shape: []int{1 + fN, fD}, data: make([]float32, (1+fN)*fD)})), ErrShape, `"pos_embed"`},
		{"unsupported-dtype", encodeST(t, replace(timm, "cls_token", stTensor{name: "cls_token", dtype: "I32", shape: []int{1, 1, fD}, data: make([]float32, fD)})), ErrUnsupported, `"cls_token"`},
		{"distilled/timm", encodeST(t, append(timm, stTensor{name: "dist_token", dtype: "F32", shape: []int{1, 1, fD}, data: make([]float32, fD)})), ErrUnsupported, "distilled"},
		{"distilled/hf", encodeST(t, append(fakeHFViT("deit.").tensors, stTensor{name: "deit.embeddings.distillation_token", dtype: "F32", shape: []int{1, 1, fD}, data: make([]float32, fD)})), ErrUnsupported, "distilled"},
		{"layer-scale", encodeST(t, append(timm, stTensor{name: "blocks.0.ls1.gamma", dtype: "F32", shape: []int{fD}, data: make([]float32, fD)})), ErrUnsupported, "layer scale"},
		{"unexpected-tensor", encodeST(t, append(timm, stTensor{name: "blocks.0.attn.rel_pos", dtype: "F32", shape: []int{fD}, data: make([]float32, fD)})), ErrUnsupported, `"blocks.0.attn.rel_pos"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			v, err := LoadViT(path)
			if err == nil {
				t.Fatalf("LoadViT = %+v, nil; want error %v", v.Arch, tc.wantErr)
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("got error %v; want %v", err, tc.wantErr)
			}
			for _, s := range []string{path, tc.wantMsg} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestLoadViTMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.safetensors")
	_, err := LoadViT(path)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v; want a not-exist error naming %s", err, path)
	}
}

func TestCheck(t *testing.T) {
	b := fakeTimm("").bytes(t)
	load := func(t *testing.T) *ViT {
		v, err := ReadViT(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		mutate  func(v *ViT)
		wantErr error
		wantMsg string
	}{
		{"ok", func(v *ViT) {}, nil, ""},
		{"missing", func(v *ViT) { delete(v.Params, "block1/mlp/fc2/bias") }, ErrMissing, "block1/mlp/fc2/bias"},
		{"shape", func(v *ViT) {
			v.Params["cls"] = Tensor{Shape: []int{fD + 1}, Data: make([]float32, fD+1)}
		}, ErrShape, `"cls"`},
		{"short-data", func(v *ViT) { p := v.Params["pos"]; p.Data = p.Data[1:]; v.Params["pos"] = p }, ErrShape, `"pos"`},
		{"pre-norm-missing", func(v *ViT) { v.Arch.PreNorm = true }, ErrMissing, "pre_norm/gain"},
		{"heads", func(v *ViT) { v.Arch.Heads = 3 }, ErrShape, "heads"},
		{"depth", func(v *ViT) { v.Arch.Depth = 0 }, ErrShape, "depth"},
		{"activation", func(v *ViT) { v.Arch.Activation = "relu" }, ErrUnsupported, "relu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := load(t)
			tc.mutate(v)
			err := v.Check()
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("Check() = %v; want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
}

func TestApplyHFConfig(t *testing.T) {
	clip := fakeArch(FormatCLIP, ActQuickGELU, 1e-5)
	vit := fakeArch(FormatHFViT, ActGELU, 1e-12)
	sizes := `"hidden_size": 8, "num_hidden_layers": 2, "intermediate_size": 32, "patch_size": 4`
	for _, tc := range []struct {
		name      string
		arch      Arch
		cfg       string
		wantHeads int
		wantAct   string
		wantEps   float64
		wantErr   error
	}{
		{"clip-vision", clip, `{"model_type": "clip_vision_model", ` + sizes + `, "num_attention_heads": 4}`, 4, ActQuickGELU, 1e-5, nil},
		{"clip-full", clip, `{"model_type": "clip", "vision_config": {` + sizes + `, "num_attention_heads": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-6}}`, 2, ActGELU, 1e-6, nil},
		{"vit", vit, `{"model_type": "vit", ` + sizes + `, "num_attention_heads": 1}`, 1, ActGELU, 1e-12, nil},
		{"vit-default-heads-dont-divide", vit, `{"model_type": "vit", ` + sizes + `, "num_attention_heads": 3}`, 0, ActGELU, 1e-12, ErrShape},
		{"other-family-ignored", vit, `{"model_type": "clip_vision_model", "hidden_size": 1}`, 0, ActGELU, 1e-12, nil},
		{"timm-ignored", fakeArch(FormatTimm, ActGELU, 1e-6), `{"architecture": "vit_base_patch16_224"}`, 0, ActGELU, 1e-6, nil},
		{"size-mismatch", vit, `{"model_type": "vit", "hidden_size": 16}`, 0, ActGELU, 1e-12, ErrShape},
		{"default-size-mismatch", vit, `{"model_type": "vit"}`, 0, ActGELU, 1e-12, ErrShape},
		{"tanh-gelu", vit, `{"model_type": "vit", ` + sizes + `, "num_attention_heads": 2, "hidden_act": "gelu_new"}`, 0, ActGELU, 1e-12, ErrUnsupported},
		{"bad-json", vit, `{"model_type": `, 0, ActGELU, 1e-12, errAny},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.arch
			err := a.ApplyHFConfig([]byte(tc.cfg))
			switch {
			case tc.wantErr == errAny:
				if err == nil {
					t.Fatal("got nil error; want one")
				}
			case !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil):
				t.Fatalf("ApplyHFConfig = %v; want %v", err, tc.wantErr)
			}
			if a.Heads != tc.wantHeads || a.Activation != tc.wantAct || a.NormEps != tc.wantEps {
				t.Errorf("got heads %d, act %q, eps %g; want %d, %q, %g", a.Heads, a.Activation, a.NormEps, tc.wantHeads, tc.wantAct, tc.wantEps)
			}
		})
	}
}

var errAny = errors.New("any error")
