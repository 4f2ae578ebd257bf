package mrl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/encoder"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/store/storetest"
)

func TestEmbeddingsRoundTrip(t *testing.T) {
	emb := clustered(37, 12, 1)
	emb.Keys, emb.Model = store.KeysDigest([]string{"a", "b"}), "abc"
	var buf bytes.Buffer
	n, err := emb.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo = %d bytes; wrote %d", n, buf.Len())
	}
	data := buf.Bytes()
	var got Embeddings
	if _, err := got.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*emb, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Every truncation and every flipped byte is refused.
	for i := 0; i < len(data); i += 7 {
		var e Embeddings
		if _, err := e.ReadFrom(bytes.NewReader(data[:i])); !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated at %d: err = %v; want ErrFormat", i, err)
		}
		bad := bytes.Clone(data)
		bad[i] ^= 0x40
		if _, err := e.ReadFrom(bytes.NewReader(bad)); err == nil {
			t.Fatalf("byte %d flipped: no error", i)
		}
	}
	// A newer version is reported as such.
	bad := bytes.Clone(data)
	bad[8] = 9
	var e Embeddings
	if _, err := e.ReadFrom(bytes.NewReader(bad)); !errors.Is(err, ErrVersion) {
		t.Errorf("version 9: err = %v; want ErrVersion", err)
	}
	// Non-finite values are not written.
	emb.Data[3] = float32(math.NaN())
	if _, err := emb.WriteTo(&bytes.Buffer{}); !errors.Is(err, ErrFormat) {
		t.Errorf("NaN: err = %v; want ErrFormat", err)
	}
	if keysDigestV0([]string{"ab", "c"}) == keysDigestV0([]string{"a", "bc"}) {
		t.Error("keysDigestV0 does not separate keys")
	}
}

func FuzzReadEmbeddings(f *testing.F) {
	emb := clustered(3, 4, 1)
	var buf bytes.Buffer
	emb.WriteTo(&buf)
	read := func(data []byte) (*Embeddings, error) {
		var e Embeddings
		_, err := e.ReadFrom(bytes.NewReader(data))
		return &e, err
	}
	storetest.FuzzRewrite(f, [][]byte{buf.Bytes(), []byte(embFormat.Magic)}, read, nil)
}

func TestHNSWRecall(t *testing.T) {
	emb := clustered(2000, 32, 13)
	ix, _ := NewIndex(emb)
	g, err := BuildHNSW(context.Background(), emb, DefaultHNSWConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	qs := clustered(100, 32, 14)
	const k = 10
	exact, _ := ix.Search(qs.Data, k, Exact(32), nil)
	approx, err := SearchHNSW(g, qs.Data, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := recall(exact, approx); r < 0.95 {
		t.Errorf("HNSW recall@%d = %.3f; want ≥ 0.95", k, r)
	} else {
		t.Logf("HNSW recall@%d = %.3f", k, r)
	}
	// Leave-one-out: queries are gallery rows, which must not come back.
	self := func(q, id int) bool { return q == id }
	res, err := SearchHNSW(g, emb.Data[:20*32], k, self)
	if err != nil {
		t.Fatal(err)
	}
	for q, rs := range res {
		if len(rs) != k {
			t.Errorf("query %d: %d results; want %d", q, len(rs), k)
		}
		for _, r := range rs {
			if r.ID == q {
				t.Errorf("query %d retrieved itself", q)
			}
		}
	}
	if _, err := SearchHNSW(g, qs.Data[:31], k, nil); err == nil {
		t.Error("query of the wrong width: no error")
	}
}

func TestConfigValidate(t *testing.T) {
	enc, _ := encoder.Size("mini")
	good := DefaultConfig(enc, 10)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{
		{Encoder: enc, Dim: 0, Classes: 10, Nesting: []int{8}},
		{Encoder: enc, Dim: 16, Classes: 1, Nesting: []int{16}},
		{Encoder: enc, Dim: 16, Classes: 10},
		{Encoder: enc, Dim: 16, Classes: 10, Nesting: []int{8, 12}},
		{Encoder: enc, Dim: 16, Classes: 10, Nesting: []int{8, 8, 16}},
		{Encoder: enc, Dim: 16, Classes: 10, Nesting: []int{0, 16}},
		{Dim: 16, Classes: 10, Nesting: []int{16}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestEmbeddingsOldLayout reads a file laid out byte by byte as the code
// before store.Format wrote it, with the digest mrl used then, checks that
// it still covers its gallery and that WriteTo writes the same bytes.
func TestEmbeddingsOldLayout(t *testing.T) {
	keys := []string{"img/0.png", "img/1.png"}
	// The digest mrl wrote before store.KeysDigest: each key's length
	// (uint64) and bytes.
	h := sha256.New()
	for _, k := range keys {
		binary.Write(h, binary.LittleEndian, uint64(len(k)))
		h.Write([]byte(k))
	}
	legacy := hex.EncodeToString(h.Sum(nil))
	data := []float32{1, 0, 0.6, 0.8}
	var b bytes.Buffer
	b.WriteString("IRGENMRL")
	binary.Write(&b, binary.LittleEndian, [3]uint32{1, 2, 2})
	for _, s := range []string{legacy, "w"} {
		b.WriteByte(byte(len(s)))
		b.WriteString(s)
	}
	binary.Write(&b, binary.LittleEndian, data)
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	old := b.Bytes()

	var got Embeddings
	if n, err := got.ReadFrom(bytes.NewReader(old)); err != nil || n != int64(len(old)) {
		t.Fatalf("ReadFrom(old layout) = %d, %v; want %d, nil", n, err, len(old))
	}
	want := Embeddings{N: 2, Dim: 2, Keys: legacy, Model: "w", Data: data}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	if _, err := got.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), old) {
		t.Errorf("WriteTo wrote %q, %v; want the old layout %q", out.Bytes(), err, old)
	}

	// Covers accepts the old digest and store.KeysDigest, nothing else.
	for _, tc := range []struct {
		name string
		keys string
		of   []string
		want bool
	}{
		{"old digest", legacy, keys, true},
		{"store digest", store.KeysDigest(keys), keys, true},
		{"other gallery", legacy, []string{"img/0.png", "img/2.png"}, false},
		{"fewer keys", store.KeysDigest(keys[:1]), keys[:1], false},
		{"no digest", "", keys, false},
	} {
		e := got
		e.Keys = tc.keys
		if c := e.Covers(tc.of); c != tc.want {
			t.Errorf("%s: Covers = %v; want %v", tc.name, c, tc.want)
		}
	}
}
