package weights

import (
	"bytes"
	"testing"
)

// FuzzReadViT feeds arbitrary bytes to the safetensors reader and the
// convention mapping: they must return an error or a ViT that passes Check,
// never panic.
func FuzzReadViT(f *testing.F) {
	for _, fk := range []*fake{fakeCLIP("", true), fakeTimm(""), fakeHFViT("vit.")} {
		f.Add(fk.bytes(f))
	}
	f.Add(rawST(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4)))
	f.Add(rawST(`{"__metadata__": {"format": "pt"}}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ReadViT(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if err := v.Check(); err != nil {
			t.Fatalf("ReadViT succeeded but Check fails: %v", err)
		}
	})
}
