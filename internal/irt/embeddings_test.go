package irt

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestEmbeddingsFile(t *testing.T) {
	e := &Embeddings{Dim: 3, Data: []float32{1, 0, 0, 0.6, 0.8, 0, -1, 2.5, 1e-9}, Gallery: KeysDigest([]string{"a", "b", "c"})}
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
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"magic":     {flip(0), ErrFormat},
		"version":   {flip(8), ErrVersion},
		"value":     {flip(len(good) - 8), ErrFormat},
		"checksum":  {flip(len(good) - 1), ErrFormat},
		"truncated": {good[:len(good)-5], ErrFormat},
		"empty":     {nil, ErrFormat},
	} {
		if _, err := ReadEmbeddings(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v; want %v", name, err, tc.want)
		}
	}
	if _, err := (&Embeddings{Dim: 2, Data: []float32{1, 2, 3}}).WriteTo(&buf); err == nil {
		t.Error("ragged embeddings written")
	}
}

func FuzzReadEmbeddings(f *testing.F) {
	var buf bytes.Buffer
	(&Embeddings{Dim: 2, Data: []float32{1, 0, 0, 1}, Gallery: "x"}).WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ReadEmbeddings(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := e.WriteTo(&out); err != nil {
			t.Fatalf("accepted embeddings do not write: %v", err)
		}
		if !bytes.Equal(out.Bytes(), data[:out.Len()]) {
			t.Fatal("read then write changed the file")
		}
	})
}
