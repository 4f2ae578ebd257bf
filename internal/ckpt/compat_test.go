package ckpt

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// oldCheckpoint builds, byte by byte as the code before store.Format
// wrote it, the checkpoint of testStore.
func oldCheckpoint() []byte {
	index := `[{"path":"/enc/w","dtype":"Float32","dims":[2,3],"offset":0,"size":24},` +
		`{"path":"/adamw/step","dtype":"Float32","dims":null,"offset":24,"size":4,"frozen":true}]`
	var b bytes.Buffer
	b.WriteString("IRGENCKP")
	binary.Write(&b, binary.LittleEndian, uint32(1))
	binary.Write(&b, binary.LittleEndian, uint32(len(index)))
	b.WriteString(index)
	for _, v := range []float32{1, 2, 3, 4, 5, 6, 7} {
		binary.Write(&b, binary.LittleEndian, math.Float32bits(v))
	}
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	return b.Bytes()
}

// TestOldLayout reads a checkpoint in the layout written before the
// binary-file helper and checks that Save still writes exactly it.
func TestOldLayout(t *testing.T) {
	old := oldCheckpoint()
	got := model.NewStore()
	if err := Load(bytes.NewReader(old), got); err != nil {
		t.Fatalf("Load(old layout) = %v", err)
	}
	if w := tensors.MustCopyFlatData[float32](got.GetVariable("/enc/w").MustValue()); !slices.Equal(w, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("w = %v; want 1..6", w)
	}
	if v := got.GetVariable("/adamw/step"); v == nil || v.Trainable {
		t.Errorf("/adamw/step = %v; want a frozen variable", v)
	}
	if blob := saved(t, nil); !bytes.Equal(blob, old) {
		t.Errorf("Save wrote\n%q\nwant the old layout\n%q", blob, old)
	}
}
