package hnsw

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/knn"
)

// headerSize is the fixed header: magic (0), version (8), dim (12),
// metric (16), M (20), efConstruction (24), efSearch (28), ml (32), seed
// (40), n (48), entry (56) and top (64).
const headerSize = 8 + 4 + 5*4 + 8 + 8 + 8 + 8 + 4

func saved(t testing.TB, ix *Index) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// resum recomputes the trailing checksum after a test edits the body.
func resum(b []byte) []byte {
	b = bytes.Clone(b)
	body := b[:len(b)-4]
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestOldLayout loads a graph laid out by hand as hnsw saved it before
// store.Format, and checks that Save writes the same bytes.
func TestOldLayout(t *testing.T) {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("IRGNHNSW")
	le([6]uint32{1, 2, uint32(knn.L2), 4, 16, 8}) // version, dim, metric, M, efConstruction, efSearch
	le(0.5)                                       // ml
	le([3]int64{7, 2, 0})                         // seed, n, entry
	le(uint32(0))                                 // top
	for id, vec := range [][2]float32{{1, 0}, {0, 1}} {
		le([2]uint8{0, 0}) // level, flags
		le(vec)
		le([2]uint32{1, uint32(1 - id)}) // layer 0: one link, to the other node
	}
	le(crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	old := b.Bytes()

	ix, err := Load(bytes.NewReader(old))
	if err != nil {
		t.Fatalf("Load(old layout): %v", err)
	}
	want := Config{M: 4, EfConstruction: 16, EfSearch: 8, Ml: 0.5, Seed: 7, Metric: knn.L2}
	if diff := cmp.Diff(want, ix.Config()); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if ix.Len() != 2 || ix.Dim() != 2 {
		t.Errorf("Len, Dim = %d, %d; want 2, 2", ix.Len(), ix.Dim())
	}
	if got := saved(t, ix); !bytes.Equal(got, old) {
		t.Errorf("Save = %x; want the old layout %x", got, old)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	const n, dim, k = 1500, 24, 10
	data := clustered(21, n, dim, 15)
	for _, metric := range []knn.Metric{knn.Cosine, knn.L2, knn.InnerProduct} {
		cfg := DefaultConfig()
		cfg.Metric = metric
		cfg.M = 8
		cfg.EfSearch = 40
		ix := build(t, dim, cfg, data)
		for id := 0; id < n; id += 11 {
			if err := ix.Delete(id); err != nil {
				t.Fatal(err)
			}
		}
		b := saved(t, ix)
		got, err := Load(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%v: Load: %v", metric, err)
		}
		if diff := cmp.Diff(ix.Config(), got.Config()); diff != "" {
			t.Errorf("%v: config mismatch (-saved +loaded):\n%s", metric, diff)
		}
		if got.Len() != n || got.Live() != ix.Live() || got.Dim() != dim {
			t.Errorf("%v: loaded Len/Live/Dim = %d/%d/%d; want %d/%d/%d", metric, got.Len(), got.Live(), got.Dim(), n, ix.Live(), dim)
		}
		if again := saved(t, got); !bytes.Equal(again, b) {
			t.Errorf("%v: re-saving the loaded index gives different bytes", metric)
		}
		qs := clustered(22, 50, dim, 15)
		for qi := range 50 {
			q := qs[qi*dim : (qi+1)*dim]
			want, err := ix.Search(q, k)
			if err != nil {
				t.Fatal(err)
			}
			res, err := got.Search(q, k)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, res, approxScores); diff != "" {
				t.Fatalf("%v query %d: loaded index differs (-saved +loaded):\n%s", metric, qi, diff)
			}
		}
		// The loaded index keeps growing like the original.
		if _, err := got.Append(qs[:dim]); err != nil {
			t.Errorf("%v: Append after Load: %v", metric, err)
		}
	}
}

func TestSaveLoadEmpty(t *testing.T) {
	ix, err := New(3, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(bytes.NewReader(saved(t, ix)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 0 {
		t.Errorf("Len = %d; want 0", got.Len())
	}
	if res, err := got.Search([]float32{1, 2, 3}, 2); err != nil || len(res) != 0 {
		t.Errorf("Search = %v, %v; want [], nil", res, err)
	}
}

func TestLoadRejects(t *testing.T) {
	cfg := DefaultConfig()
	cfg.M = 4
	const dim = 3
	good := saved(t, build(t, dim, cfg, clustered(23, 40, dim, 3)))
	node0 := headerSize
	// Node 0: level (1), flags (1), vector (4·dim), then layer 0's count.
	count0 := node0 + 2 + 4*dim

	edit := func(off int, v ...byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], v)
		return resum(b)
	}
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"bad magic", edit(0, 'X'), "bad magic"},
		{"future version", edit(8, u32(2)...), "version 2 (this build reads 1)"},
		{"zero dim", edit(12, u32(0)...), "dim 0"},
		{"bad metric", edit(16, u32(9)...), "unknown metric"},
		{"M too big", edit(20, u32(100000)...), "out of range"},
		{"too many nodes", edit(48+4, 1), "exceeds the limit"},
		{"entry out of range", edit(56, u32(1000)...), "entry 1000 not in"},
		{"unknown flags", edit(node0+1, 4), "unknown flags"},
		{"NaN value", edit(node0+2, 0, 0, 0xc0, 0x7f), "NaN or infinite"},
		{"level too high", edit(node0, 200), "level 200 exceeds"},
		{"too many neighbours", edit(count0, u32(9)...), "9 neighbours, max 8"},
		{"neighbour out of range", edit(count0+4, u32(40)...), "neighbour 40 not in"},
		{"self link", edit(count0+4, u32(0)...), "or self"},
		{"checksum", func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }(), "checksum "},
		{"no checksum", good[:len(good)-4], "checksum missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v; want ErrFormat containing %q", err, tt.want)
			}
		})
	}
	// Every strict prefix is truncated data.
	for i := range len(good) {
		_, err := Load(bytes.NewReader(good[:i]))
		if !errors.Is(err, ErrFormat) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Load(first %d of %d bytes) error = %v; want ErrFormat wrapping io.ErrUnexpectedEOF", i, len(good), err)
		}
	}
}

func TestLoadRejectsUpperLayerLink(t *testing.T) {
	// Find a node with an upper layer and point one of its layer-1 links at
	// a node that only lives on layer 0.
	cfg := DefaultConfig()
	cfg.M = 4
	const dim, n = 2, 300
	ix := build(t, dim, cfg, clustered(24, n, dim, 3))
	b := saved(t, ix)
	off := headerSize
	for id := range n {
		lv := int(b[off])
		off += 2 + 4*dim
		cnt := int(binary.LittleEndian.Uint32(b[off:]))
		off += 4 + 4*cnt
		if lv >= 1 && binary.LittleEndian.Uint32(b[off:]) > 0 {
			low := 0
			for ix.levels[low] != 0 || low == id {
				low++
			}
			binary.LittleEndian.PutUint32(b[off+4:], uint32(low))
			_, err := Load(bytes.NewReader(resum(b)))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "whose top layer is 0") {
				t.Fatalf("Load error = %v; want ErrFormat about the top layer", err)
			}
			return
		}
		for l := 1; l <= lv; l++ {
			off += 4 + 4*int(binary.LittleEndian.Uint32(b[off:]))
		}
	}
	t.Fatal("no node with layer-1 links found")
}

func FuzzLoad(f *testing.F) {
	cfg := DefaultConfig()
	cfg.M = 2
	for _, n := range []int{0, 1, 12} {
		b := saved(f, build(f, 2, cfg, clustered(25, n, 2, 2)))
		f.Add(b)
		f.Add(b[:len(b)/2])
		v2 := bytes.Clone(b)
		v2[8] = 2
		f.Add(resum(v2))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Skip the checksum so mutations reach the structural checks.
		ix, err := load(bytes.NewReader(data), false)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		// Whatever loads must be searchable, growable and re-savable.
		q := make([]float32, ix.Dim())
		for i := range q {
			q[i] = float32(i) - 0.5
		}
		if _, err := ix.Search(q, 3); err != nil {
			t.Fatalf("Search after Load: %v", err)
		}
		if ix.Dim() <= 64 {
			if _, err := ix.Append(q); err != nil {
				t.Fatalf("Append after Load: %v", err)
			}
		}
		if _, err := Load(bytes.NewReader(saved(t, ix))); err != nil {
			t.Fatalf("reload: %v", err)
		}
	})
}
