package cli

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/tokenizer"
)

// writeTimm writes a timm-layout ViT (width 64, one block, 4×4 patches of
// one channel, 28×28 images) as a .safetensors file and returns its
// tensors by name.
func writeTimm(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	const d, h, p, c, n = 64, 128, 4, 1, 49
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := []struct {
		name string
		dims []int
	}{
		{"cls_token", []int{1, 1, d}}, {"pos_embed", []int{1, n + 1, d}},
		{"patch_embed.proj.weight", []int{d, c, p, p}}, {"patch_embed.proj.bias", []int{d}},
		{"blocks.0.norm1.weight", []int{d}}, {"blocks.0.norm1.bias", []int{d}},
		{"blocks.0.attn.qkv.weight", []int{3 * d, d}}, {"blocks.0.attn.qkv.bias", []int{3 * d}},
		{"blocks.0.attn.proj.weight", []int{d, d}}, {"blocks.0.attn.proj.bias", []int{d}},
		{"blocks.0.norm2.weight", []int{d}}, {"blocks.0.norm2.bias", []int{d}},
		{"blocks.0.mlp.fc1.weight", []int{h, d}}, {"blocks.0.mlp.fc1.bias", []int{h}},
		{"blocks.0.mlp.fc2.weight", []int{d, h}}, {"blocks.0.mlp.fc2.bias", []int{d}},
		{"norm.weight", []int{d}}, {"norm.bias", []int{d}},
	}
	header := map[string]any{}
	var data []byte
	values := map[string][]float32{}
	for _, s := range shapes {
		size := 1
		for _, x := range s.dims {
			size *= x
		}
		v := make([]float32, size)
		begin := len(data)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.05)
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v[i]))
		}
		values[s.name] = v
		header[s.name] = map[string]any{"dtype": "F32", "shape": s.dims, "data_offsets": []int{begin, len(data)}}
	}
	head, _ := json.Marshal(header)
	for len(head)%8 != 0 {
		head = append(head, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(head)))
	out = append(append(out, head...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return values
}

// TestPretrainedTimm loads a timm checkpoint into the encoder: the
// architecture follows the file, the patch kernel is the file's conv
// weight transposed to (kh, kw, c, d), and the model encodes images.
func TestPretrainedTimm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vit.safetensors")
	src := writeTimm(t, path)
	enc, _ := encoder.Size("mini")
	pre, err := loadPretrained(path, &enc)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Dim != 64 || enc.Depth != 1 || enc.MLPDim != 128 || enc.Heads != 1 || enc.Activation != "gelu" {
		t.Fatalf("encoder config from file = %+v", enc)
	}
	b, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tokenizer.New(b, tokenizer.DefaultConfig(enc, 4), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := pre.assign(m.Vars, tokenizer.EncoderScope); err != nil {
		t.Fatal(err)
	}
	kernel := tensors.MustCopyFlatData[float32](m.Vars.GetVariable("/encoder/patch/kernel").MustValue())
	conv := src["patch_embed.proj.weight"] // [d, c, kh, kw]
	for _, ix := range [][4]int{{0, 0, 0, 0}, {5, 0, 1, 3}, {63, 0, 3, 2}} {
		d, c, kh, kw := ix[0], ix[1], ix[2], ix[3]
		want := conv[((d*1+c)*4+kh)*4+kw]
		got := kernel[((kh*4+kw)*1+c)*64+d]
		if got != want {
			t.Errorf("patch kernel (kh=%d kw=%d c=%d d=%d) = %g; want %g", kh, kw, c, d, got, want)
		}
	}
	qkv := tensors.MustCopyFlatData[float32](m.Vars.GetVariable("/encoder/block0/attn/qkv/kernel").MustValue())
	if got, want := qkv[3*(3*64)+70], src["blocks.0.attn.qkv.weight"][70*64+3]; got != want {
		t.Errorf("qkv kernel [3, 70] = %g; want weight[70, 3] = %g", got, want)
	}
	imgs := make([]float32, 2*28*28)
	f, err := m.Features(imgs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 2*128 || math.IsNaN(float64(f[0])) {
		t.Fatalf("features = %d values, first %g", len(f), f[0])
	}
}

// TestPretrainedBad refuses a truncated checkpoint with an error naming it.
func TestPretrainedBad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vit.safetensors")
	writeTimm(t, path)
	st, _ := os.Stat(path)
	os.Truncate(path, st.Size()-100)
	enc, _ := encoder.Size("mini")
	if _, err := loadPretrained(path, &enc); err == nil {
		t.Fatal("truncated checkpoint loaded")
	} else if want := filepath.Base(path); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}
