package weights

import (
	"bytes"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadViT(t *testing.T) {
	for _, tc := range []struct {
		name string
		fake *fake
	}{
		{"clip/CLIPVisionModel", fakeCLIP("", false)},
		{"clip/CLIPModel", fakeCLIP("", true)},
		{"clip/extra-prefix", fakeCLIP("clip.", true)},
		{"timm/vit", fakeTimm("")},
		{"timm/module-prefix", fakeTimm("module.")},
		{"hf-vit/ViTModel", fakeHFViT("")},
		{"hf-vit/ViTForImageClassification", fakeHFViT("vit.")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.fake.bytes(t)
			v, err := ReadViT(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("ReadViT: %v", err)
			}
			if diff := cmp.Diff(tc.fake.arch, v.Arch); diff != "" {
				t.Errorf("arch mismatch (-want +got):\n%s", diff)
			}
			if err := v.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
			gotNames := slices.Sorted(maps.Keys(v.Params))
			wantNames := slices.Sorted(maps.Keys(tc.fake.want))
			if diff := cmp.Diff(wantNames, gotNames); diff != "" {
				t.Fatalf("param names (-want +got):\n%s", diff)
			}
			for _, name := range wantNames {
				compareTensor(t, name, v.Params[name], tc.fake.want[name])
			}
		})
	}
}

// compareTensor reports the shape and the first differing element.
func compareTensor(t *testing.T, name string, got, want Tensor) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("%s: got shape %v; want %v", name, got.Shape, want.Shape)
		return
	}
	if len(got.Data) != len(want.Data) {
		t.Errorf("%s: got %d values; want %d", name, len(got.Data), len(want.Data))
		return
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Errorf("%s: element %d: got %v; want %v", name, i, got.Data[i], want.Data[i])
			return
		}
	}
}

func TestLoadViTConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(path, fakeCLIP("", true).bytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := LoadViT(path)
	if err != nil {
		t.Fatalf("LoadViT without config: %v", err)
	}
	if v.Arch.Heads != 0 || v.Arch.Activation != ActQuickGELU {
		t.Errorf("without config: got heads %d, act %q; want 0, %q", v.Arch.Heads, v.Arch.Activation, ActQuickGELU)
	}
	cfg := `{"model_type": "clip", "projection_dim": 6, "vision_config": {"hidden_size": 8, "num_hidden_layers": 2,
		"num_attention_heads": 2, "intermediate_size": 32, "patch_size": 4, "image_size": 16, "hidden_act": "gelu"}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err = LoadViT(path)
	if err != nil {
		t.Fatalf("LoadViT with config: %v", err)
	}
	if v.Arch.Heads != 2 || v.Arch.Activation != ActGELU || v.Arch.NormEps != 1e-5 {
		t.Errorf("with config: got heads %d, act %q, eps %g; want 2, %q, 1e-5", v.Arch.Heads, v.Arch.Activation, v.Arch.NormEps, ActGELU)
	}
}

func TestHalf(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0001, 1.0 / (1 << 24)},    // smallest subnormal
		{0x03ff, 1023.0 / (1 << 24)}, // largest subnormal
		{0x0400, 1.0 / (1 << 14)},    // smallest normal
		{0x7c00, float32(math.Inf(1))},
		{0xfc00, float32(math.Inf(-1))},
	} {
		if got := f16ToF32(tc.bits); got != tc.want {
			t.Errorf("f16ToF32(%#04x) = %v; want %v", tc.bits, got, tc.want)
		}
	}
	if got := f16ToF32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("f16ToF32(0x7e00) = %v; want NaN", got)
	}
	if got := f16ToF32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("f16ToF32(0x8000) = %v; want -0", got)
	}
	for _, tc := range []struct {
		bits uint16
		want float32
	}{{0x3f80, 1}, {0xc040, -3}, {0x4049, 3.140625}} {
		if got := bf16ToF32(tc.bits); got != tc.want {
			t.Errorf("bf16ToF32(%#04x) = %v; want %v", tc.bits, got, tc.want)
		}
	}
}

func TestGuessHeads(t *testing.T) {
	for _, tc := range []struct{ dim, want int }{
		{192, 3}, {384, 6}, {768, 12}, {1024, 16}, {1280, 16}, {1408, 16}, {1536, 24}, {1664, 16}, {8, 0}, {100, 0},
	} {
		if got := guessHeads(tc.dim); got != tc.want {
			t.Errorf("guessHeads(%d) = %d; want %d", tc.dim, got, tc.want)
		}
	}
}
