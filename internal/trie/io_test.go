package trie

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/store/storetest"
)

// headerSize is the size of the file's header: magic, version, M, L, the
// number of IDs and of items.
const headerSize = 8 + 4 + 4 + 4 + 8 + 8

// equal reports whether a and b hold the same IDs with the same items in
// the same order.
func equal(a, b *Trie) bool {
	if a.M() != b.M() || a.L() != b.L() || a.Len() != b.Len() || a.NumItems() != b.NumItems() {
		return false
	}
	type rec struct {
		id    string
		items []int
	}
	var ra, rb []rec
	for id, items := range a.All() {
		ra = append(ra, rec{id.String(), slices.Clone(items)})
	}
	for id, items := range b.All() {
		rb = append(rb, rec{id.String(), slices.Clone(items)})
	}
	return slices.EqualFunc(ra, rb, func(x, y rec) bool { return x.id == y.id && slices.Equal(x.items, y.items) })
}

// smallTrie returns the trie that TestOldLayout lays out by hand: M=2,
// L=8, ID 1-2 with items 0 and 3, ID 5-0 with item 1.
func smallTrie(tb testing.TB) *Trie {
	tb.Helper()
	tr := mustNew(tb, 2, 8)
	mustInsert(tb, tr, semid.ID{1, 2}, 0)
	mustInsert(tb, tr, semid.ID{1, 2}, 3)
	mustInsert(tb, tr, semid.ID{5, 0}, 1)
	return tr
}

func TestRoundTrip(t *testing.T) {
	tr := randomTrie(t, 4, 16, 3000, 5) // many shared IDs
	for i := 0; i < 3000; i += 7 {
		tr.Delete(i)
	}
	var buf bytes.Buffer
	n, err := tr.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != n {
		t.Errorf("WriteTo returned %d; wrote %d", n, buf.Len())
	}
	buf.WriteString("tail")
	var got Trie
	m, err := got.ReadFrom(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	if m != n {
		t.Errorf("ReadFrom read %d bytes; want %d", m, n)
	}
	if !equal(tr, &got) {
		t.Errorf("round trip changed the trie")
	}
	// The loaded trie is fully usable.
	if err := got.Insert(semid.ID{1, 2, 3, 4}, 1<<20); err != nil {
		t.Fatal(err)
	}
	if !got.Delete(1) {
		t.Errorf("Delete(1) on loaded trie = false")
	}

	empty := mustNew(t, 2, 3)
	blob, err := empty.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var e Trie
	if err := e.UnmarshalBinary(blob); err != nil || e.Len() != 0 || e.M() != 2 || e.L() != 3 {
		t.Errorf("empty round trip: %v, Len %d, M %d, L %d", err, e.Len(), e.M(), e.L())
	}
	var zero Trie
	if _, err := zero.WriteTo(&buf); !errors.Is(err, ErrShape) {
		t.Errorf("zero Trie WriteTo error = %v; want ErrShape", err)
	}
}

// TestOldLayout reads a file laid out by hand as trie wrote it before
// store.Format, and checks that WriteTo writes the same bytes.
func TestOldLayout(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("IRGENTRI")
	binary.Write(&b, binary.LittleEndian, [3]uint32{1, 2, 8}) // version, M, L
	binary.Write(&b, binary.LittleEndian, [2]uint64{2, 3})    // IDs, items
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 2})    // ID 1-2
	binary.Write(&b, binary.LittleEndian, [3]uint32{2, 0, 3}) // its items
	binary.Write(&b, binary.LittleEndian, [2]uint16{5, 0})    // ID 5-0
	binary.Write(&b, binary.LittleEndian, [2]uint32{1, 1})    // its item
	binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE(b.Bytes()))
	old := b.Bytes()

	var got Trie
	if n, err := got.ReadFrom(bytes.NewReader(old)); err != nil || n != int64(len(old)) {
		t.Fatalf("ReadFrom(old layout) = %d, %v; want %d, nil", n, err, len(old))
	}
	want := smallTrie(t)
	if !equal(&got, want) {
		t.Errorf("read a trie other than the one laid out")
	}
	var out bytes.Buffer
	if n, err := got.WriteTo(&out); err != nil || n != int64(len(old)) || !bytes.Equal(out.Bytes(), old) {
		t.Errorf("WriteTo = %d, %v, %x; want the old layout %x", n, err, out.Bytes(), old)
	}
}

func TestReadFromRejects(t *testing.T) {
	tr := smallTrie(t)
	blob, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Records start at headerSize: tokens (2×2 bytes), count, items.
	const rec0 = headerSize
	const rec1 = rec0 + 4 + 4 + 8
	// fix recomputes the checksum so that only the edit is wrong.
	fix := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
		return b
	}
	edit := func(f func(b []byte)) []byte { return fix(storetest.Edit(blob, f)) }
	tests := []storetest.Bad{
		{"empty", nil, ErrFormat},
		{"magic", edit(func(b []byte) { b[0] = 'x' }), ErrFormat},
		{"version", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 9) }), ErrVersion},
		{"M=0", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 0) }), ErrFormat},
		{"L too big", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[16:], MaxL+1) }), ErrFormat},
		{"token ≥ L", edit(func(b []byte) { binary.LittleEndian.PutUint16(b[rec0:], 8) }), ErrFormat},
		{"order", edit(func(b []byte) { binary.LittleEndian.PutUint16(b[rec1:], 1) }), ErrFormat},
		{"zero count", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[rec0+4:], 0) }), ErrFormat},
		{"duplicate item", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[rec0+12:], 0) }), ErrFormat},
		{"more IDs than items", edit(func(b []byte) { binary.LittleEndian.PutUint64(b[20:], 4) }), ErrFormat},
		{"items missing", edit(func(b []byte) { binary.LittleEndian.PutUint64(b[28:], 4) }), ErrFormat},
		{"checksum", func() []byte { b := bytes.Clone(blob); b[len(b)-1] ^= 1; return b }(), ErrFormat},
		{"trailing", append(bytes.Clone(blob), 0), ErrFormat},
	}
	tests = append(tests, storetest.Truncated(blob, 0, 1, ErrFormat)...)
	storetest.Rejects(t, tests, func(t *testing.T, data []byte) error {
		got := mustNew(t, 3, 3)
		mustInsert(t, got, semid.ID{0, 1, 2}, 9)
		err := got.UnmarshalBinary(data)
		if got.M() != 3 || !got.Contains(semid.ID{0, 1, 2}) || got.Len() != 1 {
			t.Errorf("failed UnmarshalBinary modified the trie")
		}
		return err
	})
}

func FuzzUnmarshalBinary(f *testing.F) {
	tr := smallTrie(f)
	blob, err := tr.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{blob, blob[:headerSize], []byte("IRGENTRI")}
	storetest.FuzzRewrite(f, seeds, storetest.Unmarshal[Trie], func(t *testing.T, tr *Trie) {
		for id, items := range tr.All() {
			for _, it := range items {
				if !tr.Delete(it) {
					t.Fatalf("Delete(%d) of %v = false", it, id)
				}
			}
			break
		}
	})
}
