package rq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/irgen/irgen/internal/store/storetest"
)

// headerSize is the size of the file's header: magic, version, M, L, Dim.
const headerSize = 8 + 4 + 3*4

func smallQuantizer(t testing.TB) *Quantizer {
	t.Helper()
	return fitTest(t, clustered(8, 300, 6), 6, 3, 5)
}

func TestRoundTrip(t *testing.T) {
	q := smallQuantizer(t)
	var buf bytes.Buffer
	n, err := q.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(headerSize + 4*len(q.Codebooks) + 4); n != want || int64(buf.Len()) != want {
		t.Errorf("WriteTo wrote %d (buffer %d) bytes; want %d", n, buf.Len(), want)
	}
	buf.WriteString("next") // ReadFrom must stop at its own end
	var got Quantizer
	m, err := got.ReadFrom(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if m != n {
		t.Errorf("ReadFrom read %d bytes; want %d", m, n)
	}
	if buf.String() != "next" {
		t.Errorf("ReadFrom left %q; want %q", buf.String(), "next")
	}
	if diff := cmp.Diff(q, &got, cmpopts.IgnoreUnexported(Quantizer{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// The loaded quantizer encodes identically.
	data := clustered(9, 50, 6)
	a, _ := q.EncodeBatch(data)
	b, err := got.EncodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("codes after round trip (-want +got):\n%s", diff)
	}

	blob, err := q.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var u Quantizer
	if err := u.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(q.Codebooks, u.Codebooks); diff != "" {
		t.Errorf("UnmarshalBinary codebooks (-want +got):\n%s", diff)
	}
	other := &Quantizer{M: 1, L: 1, Dim: 1, Codebooks: []float32{3}}
	if err := other.Init(); err != nil {
		t.Fatal(err)
	}
	if err := other.UnmarshalBinary(append(blob, 0)); !errors.Is(err, ErrFormat) {
		t.Errorf("UnmarshalBinary with a trailing byte: error %v; want ErrFormat", err)
	}
	if other.M != 1 || other.Codebooks[0] != 3 {
		t.Errorf("failed UnmarshalBinary modified the quantizer")
	}
}

// TestOldLayout reads a file laid out by hand as rq wrote it before
// store.Format, and checks that WriteTo writes the same bytes.
func TestOldLayout(t *testing.T) {
	cb := []float32{1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6}
	var b bytes.Buffer
	b.WriteString("IRGENRQ\x00")
	binary.Write(&b, binary.LittleEndian, [4]uint32{1, 2, 3, 2}) // version, M, L, Dim
	binary.Write(&b, binary.LittleEndian, cb)
	binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(b.Bytes()))
	old := b.Bytes()

	var q Quantizer
	if n, err := q.ReadFrom(bytes.NewReader(old)); err != nil || n != int64(len(old)) {
		t.Fatalf("ReadFrom(old layout) = %d, %v; want %d, nil", n, err, len(old))
	}
	if q.M != 2 || q.L != 3 || q.Dim != 2 {
		t.Errorf("read M=%d L=%d Dim=%d; want 2, 3, 2", q.M, q.L, q.Dim)
	}
	if diff := cmp.Diff(cb, q.Codebooks); diff != "" {
		t.Errorf("codebooks (-want +got):\n%s", diff)
	}
	got, err := q.MarshalBinary()
	if err != nil || !bytes.Equal(got, old) {
		t.Errorf("MarshalBinary = %x, %v; want the old layout %x", got, err, old)
	}
}

func TestReadFromRejects(t *testing.T) {
	blob, err := smallQuantizer(t).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte)) []byte { return storetest.Edit(blob, f) }
	tests := []storetest.Bad{
		{"empty", nil, ErrFormat},
		{"magic", edit(func(b []byte) { b[0] = 'X' }), ErrFormat},
		{"version 2", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 2) }), ErrVersion},
		{"version 0", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 0) }), ErrVersion},
		{"M=0", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 0) }), ErrFormat},
		{"huge L", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 1<<30) }), ErrFormat},
		{"bigger Dim", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[20:], 7) }), ErrFormat},
		{"flipped payload", edit(func(b []byte) { b[headerSize+3] ^= 1 }), ErrFormat},
		{"flipped checksum", edit(func(b []byte) { b[len(b)-1] ^= 1 }), ErrFormat},
	}
	tests = append(tests, storetest.Truncated(blob, 1, 7, ErrFormat)...)
	storetest.Rejects(t, tests, func(t *testing.T, data []byte) error {
		q := smallQuantizer(t)
		_, err := q.ReadFrom(bytes.NewReader(data))
		if after, _ := q.MarshalBinary(); !bytes.Equal(blob, after) {
			t.Errorf("failed ReadFrom modified the quantizer")
		}
		return err
	})
}

func FuzzUnmarshalBinary(f *testing.F) {
	q := &Quantizer{M: 2, L: 3, Dim: 2, Codebooks: []float32{1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6}}
	if err := q.Init(); err != nil {
		f.Fatal(err)
	}
	blob, err := q.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{blob, blob[:headerSize], []byte("IRGENRQ\x00")}
	storetest.FuzzRewrite(f, seeds, storetest.Unmarshal[Quantizer], func(t *testing.T, q *Quantizer) {
		out := make([]float32, q.Dim)
		if err := q.Decode(make([]int32, q.M), out); err != nil {
			t.Fatalf("Decode on a loaded quantizer: %v", err)
		}
	})
}
