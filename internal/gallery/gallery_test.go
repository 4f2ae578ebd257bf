package gallery

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/store/storetest"
)

func sample() *Gallery {
	g := &Gallery{Dim: 2, M: 3, L: 4, Classes: []string{"a", "b"}}
	g.Append("x.png", 0, []float32{1, 2}, []int32{0, 1, 2})
	g.Append("y.png", 1, []float32{3, 4}, []int32{3, 3, 0})
	return g
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if _, err := sample().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var g Gallery
	if _, err := g.ReadFrom(&buf); err != nil {
		t.Fatal(err)
	}
	if g.Len() != 2 || g.Keys[1] != "y.png" || g.Labels[1] != 1 || g.Feature(1)[1] != 4 || g.Code(1)[0] != 3 {
		t.Errorf("round trip = %+v", g)
	}
}

// TestOldLayout reads a file laid out by hand as gallery wrote it before
// store.Format, and checks that WriteTo writes the same bytes.
func TestOldLayout(t *testing.T) {
	head := `{"dim":2,"m":3,"l":4,"classes":["a","b"],"keys":["x.png","y.png"]}`
	var b bytes.Buffer
	b.WriteString("IRGENGAL")
	binary.Write(&b, binary.LittleEndian, [2]uint32{1, uint32(len(head))}) // version, header length
	b.WriteString(head)
	binary.Write(&b, binary.LittleEndian, []int32{0, 1})             // labels
	binary.Write(&b, binary.LittleEndian, []int32{0, 1, 2, 3, 3, 0}) // codes
	binary.Write(&b, binary.LittleEndian, []float32{1, 2, 3, 4})     // features
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), crc32.MakeTable(crc32.Castagnoli)))
	old := b.Bytes()

	var g Gallery
	if n, err := g.ReadFrom(bytes.NewReader(old)); err != nil || n != int64(len(old)) {
		t.Fatalf("ReadFrom(old layout) = %d, %v; want %d, nil", n, err, len(old))
	}
	if diff := cmp.Diff(sample(), &g); diff != "" {
		t.Errorf("read (-want +got):\n%s", diff)
	}
	var out bytes.Buffer
	if n, err := g.WriteTo(&out); err != nil || n != int64(len(old)) || !bytes.Equal(out.Bytes(), old) {
		t.Errorf("WriteTo = %d, %v, %q; want the old layout %q", n, err, out.Bytes(), old)
	}
}

func TestDamaged(t *testing.T) {
	var buf bytes.Buffer
	sample().WriteTo(&buf)
	good := buf.Bytes()
	flip := storetest.Edit(good, func(b []byte) { b[len(b)-6] ^= 1 })
	ver := storetest.Edit(good, func(b []byte) { b[8] = 7 })
	storetest.Rejects(t, []storetest.Bad{
		{"empty", nil, ErrFormat},
		{"truncated", good[:len(good)-9], ErrFormat},
		{"flipped", flip, ErrFormat},
		{"version", ver, ErrVersion},
	}, func(t *testing.T, data []byte) error {
		var g Gallery
		_, err := g.ReadFrom(bytes.NewReader(data))
		return err
	})
}

func TestCheck(t *testing.T) {
	g := sample()
	g.Codes[0] = 4
	if err := g.Check(); err == nil {
		t.Error("token outside [0,L) accepted")
	}
	if _, err := sample().Append("z", 0, []float32{1}, []int32{0, 0, 0}); err == nil {
		t.Error("feature of the wrong size accepted")
	}
}

func FuzzReadFrom(f *testing.F) {
	var buf bytes.Buffer
	sample().WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		var g Gallery
		g.ReadFrom(bytes.NewReader(data))
	})
}

// TestClaimsCostNothing: a short file whose header claims a large JSON
// header, or many images of the widest features, fails at its end having
// allocated about what it holds, not what it claims.
func TestClaimsCostNothing(t *testing.T) {
	keys := strings.Repeat(`"",`, 20000) + `""` // 20,001 images in 60 kB
	wide := `{"dim":65536,"m":64,"l":4,"classes":["a"],"keys":[` + keys + `]}`
	file := func(headLen int, head string) []byte {
		var b bytes.Buffer
		b.WriteString("IRGENGAL")
		binary.Write(&b, binary.LittleEndian, [2]uint32{1, uint32(headLen)})
		b.WriteString(head)
		b.Write(make([]byte, 1000)) // a few values, then the end
		return b.Bytes()
	}
	for name, data := range map[string][]byte{
		"JSON header of 1 GiB":                            file(1<<30-1, `{"dim":2}`),
		"20,001 images of dim 65,536 (5 GiB of features)": file(len(wide), wide),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var g Gallery
		_, err := g.ReadFrom(bytes.NewReader(data))
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v, want ErrFormat", name, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
			t.Errorf("%s: %d MiB allocated reading a file of %d kB", name, got>>20, len(data)>>10)
		}
	}
}

func TestTruncate(t *testing.T) {
	g := &Gallery{Dim: 2, M: 1, L: 4, Classes: []string{"a"}}
	for i := range 3 {
		if _, err := g.Append(string(rune('x'+i)), 0, []float32{float32(i), 1}, []int32{int32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	g.Truncate(1)
	want := &Gallery{Dim: 2, M: 1, L: 4, Classes: []string{"a"}, Keys: []string{"x"}, Labels: []int32{0},
		Features: []float32{0, 1}, Codes: []int32{0}}
	if diff := cmp.Diff(want, g); diff != "" || g.Check() != nil {
		t.Errorf("after Truncate(1) (-want +got):\n%s%v", diff, g.Check())
	}
	if id, err := g.Append("y2", 0, []float32{5, 6}, []int32{3}); err != nil || id != 1 || g.Feature(1)[0] != 5 {
		t.Errorf("Append after Truncate = %d, %v; feature %v", id, err, g.Feature(1))
	}
}
