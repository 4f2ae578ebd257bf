package irt

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/store/storetest"
)

func TestEmbeddingsFile(t *testing.T) {
	e := &Embeddings{Dim: 3, Data: []float32{1, 0, 0, 0.6, 0.8, 0, -1, 2.5, 1e-9}, Gallery: store.KeysDigest([]string{"a", "b", "c"})}
	var buf bytes.Buffer
	n, err := e.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d bytes, %v; buffer holds %d", n, err, buf.Len())
	}
	good := buf.Bytes()
	got, err := ReadEmbeddings(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if got.Dim != e.Dim || got.Gallery != e.Gallery || !slices.Equal(got.Data, e.Data) || got.Len() != 3 {
		t.Errorf("read %+v; want %+v", got, e)
	}
	flip := func(i int) []byte { return storetest.Edit(good, func(b []byte) { b[i] ^= 1 }) }
	storetest.Rejects(t, []storetest.Bad{
		{"magic", flip(0), ErrFormat},
		{"version", flip(8), ErrVersion},
		{"value", flip(len(good) - 8), ErrFormat},
		{"checksum", flip(len(good) - 1), ErrFormat},
		{"truncated", good[:len(good)-5], ErrFormat},
		{"empty", nil, ErrFormat},
	}, func(t *testing.T, data []byte) error {
		_, err := ReadEmbeddings(bytes.NewReader(data))
		return err
	})
	if _, err := (&Embeddings{Dim: 2, Data: []float32{1, 2, 3}}).WriteTo(&buf); err == nil {
		t.Error("ragged embeddings written")
	}
}

func FuzzReadEmbeddings(f *testing.F) {
	var buf bytes.Buffer
	(&Embeddings{Dim: 2, Data: []float32{1, 0, 0, 1}, Gallery: "x"}).WriteTo(&buf)
	read := func(data []byte) (*Embeddings, error) { return ReadEmbeddings(bytes.NewReader(data)) }
	storetest.FuzzRewrite(f, [][]byte{buf.Bytes()}, read, nil)
}

// TestEmbeddingsOldLayout reads a file laid out byte by byte as the code
// before store.Format wrote it, and checks that WriteTo still writes it.
func TestEmbeddingsOldLayout(t *testing.T) {
	digest := store.KeysDigest([]string{"a", "b"})
	data := []float32{1, 0, 0.6, 0.8}
	var b bytes.Buffer
	b.WriteString("IRGENEMB")
	for _, v := range []uint32{1, 2, 2, uint32(len(digest))} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString(digest)
	binary.Write(&b, binary.LittleEndian, data)
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	old := b.Bytes()

	got, err := ReadEmbeddings(bytes.NewReader(old))
	if err != nil {
		t.Fatalf("ReadEmbeddings(old layout) = %v", err)
	}
	if got.Dim != 2 || got.Gallery != digest || !slices.Equal(got.Data, data) {
		t.Errorf("read %+v", got)
	}
	// The digest of files written before store.KeysDigest is the same.
	if got.Gallery != store.KeysDigest([]string{"a", "b"}) {
		t.Errorf("gallery digest %s; want store.KeysDigest's", got.Gallery)
	}
	var out bytes.Buffer
	if _, err := got.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), old) {
		t.Errorf("WriteTo wrote %q, %v; want the old layout %q", out.Bytes(), err, old)
	}
}
