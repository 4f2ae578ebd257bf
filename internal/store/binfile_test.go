package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

var (
	errTestFormat  = errors.New("test: not a valid test file")
	errTestVersion = errors.New("test: unknown test file version")
	testFormat     = Format{Magic: "IRGNTEST", Version: 3, ErrFormat: errTestFormat, ErrVersion: errTestVersion}
)

type testHeader struct {
	Name string `json:"name"`
}

// writeTest writes every kind of field through a Writer.
func writeTest(t *testing.T, f Format, w io.Writer) int64 {
	t.Helper()
	fw := f.NewWriter(w)
	fw.Uint32(7, 8)
	fw.Uint64(1 << 40)
	if err := fw.JSON(testHeader{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	fw.Float32s([]float32{1.5, -2, float32(math.Inf(1))})
	io.WriteString(fw, "tail")
	n, err := fw.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// handWritten is writeTest's file written field by field, as the formats
// wrote their files before Format: Format must keep this layout.
func handWritten(table *crc32.Table) []byte {
	var b bytes.Buffer
	b.WriteString("IRGNTEST")
	for _, v := range []any{uint32(3), uint32(7), uint32(8), uint64(1 << 40), uint32(len(`{"name":"x"}`))} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString(`{"name":"x"}`)
	binary.Write(&b, binary.LittleEndian, []float32{1.5, -2, float32(math.Inf(1))})
	b.WriteString("tail")
	binary.Write(&b, binary.LittleEndian, crc32.Checksum(b.Bytes(), table))
	return b.Bytes()
}

// readTest reads writeTest's file and checks every field.
func readTest(f Format, data []byte) (int64, error) {
	fr, err := f.NewReader(bytes.NewReader(data))
	if err != nil {
		return fr.N(), err
	}
	a, b, c := fr.Uint32(), fr.Uint32(), fr.Uint64()
	var h testHeader
	fr.JSON(100, &h)
	v := fr.Float32s(3)
	tail := make([]byte, 4)
	fr.ReadFull(tail)
	n, err := fr.Finish()
	if err != nil {
		return n, err
	}
	if a != 7 || b != 8 || c != 1<<40 || h.Name != "x" || !slices.Equal(v, []float32{1.5, -2, float32(math.Inf(1))}) || string(tail) != "tail" {
		return n, errors.New("fields read back differ")
	}
	return n, nil
}

func TestFormatLayout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ieee  bool
		table *crc32.Table
	}{
		{"castagnoli", false, crc32.MakeTable(crc32.Castagnoli)},
		{"ieee", true, crc32.IEEETable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := testFormat
			f.IEEE = tc.ieee
			var buf bytes.Buffer
			n := writeTest(t, f, &buf)
			want := handWritten(tc.table)
			if !bytes.Equal(buf.Bytes(), want) || n != int64(len(want)) {
				t.Errorf("wrote %d bytes\n%q\nwant %d\n%q", n, buf.Bytes(), len(want), want)
			}
			// The hand-written file reads, and the Reader stops at the
			// checksum.
			got, err := readTest(f, append(bytes.Clone(want), "next"...))
			if err != nil || got != int64(len(want)) {
				t.Errorf("read %d bytes, %v; want %d, nil", got, err, len(want))
			}
		})
	}
}

func TestFormatErrors(t *testing.T) {
	good := handWritten(crc32.MakeTable(crc32.Castagnoli))
	edit := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
		msg  string
	}{
		{"empty", nil, errTestFormat, "truncated"},
		{"short header", good[:10], errTestFormat, "truncated"},
		{"bad magic", edit(0, 'X'), errTestFormat, "bad magic"},
		{"new version", edit(8, 4), errTestVersion, "version 4"},
		{"truncated body", good[:30], errTestFormat, "truncated"},
		{"no checksum", good[:len(good)-4], errTestFormat, "checksum missing"},
		{"bad checksum", edit(len(good)-1, good[len(good)-1]^1), errTestFormat, "checksum"},
		{"flipped value", edit(20, good[20]^1), errTestFormat, "checksum"},
		{"long JSON", edit(28, 200), errTestFormat, "JSON header of 200 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readTest(testFormat, tc.data)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v; want %v mentioning %q", err, tc.want, tc.msg)
			}
		})
	}
	// ReadHeader, for formats without a checksum, reads exactly the header.
	r := bytes.NewReader(good)
	if err := testFormat.ReadHeader(r); err != nil || r.Len() != len(good)-HeaderSize {
		t.Errorf("ReadHeader: %v, %d bytes left; want nil, %d", err, r.Len(), len(good)-HeaderSize)
	}
	if err := testFormat.ReadHeader(bytes.NewReader(edit(8, 4))); !errors.Is(err, errTestVersion) {
		t.Errorf("ReadHeader(new version) = %v; want %v", err, errTestVersion)
	}
	if got := testFormat.AppendHeader([]byte("x")); string(got) != "xIRGNTEST\x03\x00\x00\x00" {
		t.Errorf("AppendHeader = %q", got)
	}
}

// TestWriterError checks that a failing writer's error is sticky and
// returned by Finish.
func TestWriterError(t *testing.T) {
	fw := testFormat.NewWriter(failWriter{})
	fw.Float32s(make([]float32, 1<<16))
	fw.Uint32(1)
	if _, err := fw.Finish(); !errors.Is(err, errFail) {
		t.Errorf("Finish = %v; want %v", err, errFail)
	}
}

var errFail = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

func TestKeysDigest(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		want string
	}{
		{nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{[]string{"a", "b"}, "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2"}, // sha256sum of "a\nb\n"
	} {
		if got := KeysDigest(tc.keys); got != tc.want {
			t.Errorf("KeysDigest(%q) = %s; want %s", tc.keys, got, tc.want)
		}
	}
}

func FuzzReader(f *testing.F) {
	f.Add(handWritten(crc32.MakeTable(crc32.Castagnoli)))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := readTest(testFormat, data)
		if n > int64(len(data)) {
			t.Fatalf("read %d bytes of %d", n, len(data))
		}
		if err == nil && !bytes.HasPrefix(data, handWritten(crc32.MakeTable(crc32.Castagnoli))) {
			t.Fatal("accepted a file that differs from the only valid one")
		}
	})
}
