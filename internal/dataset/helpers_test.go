package dataset

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFile writes data to dir/rel, creating folders.
func writeFile(t *testing.T, dir, rel string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyImage encodes a 4x3 image in the format given by rel's extension
// (.png, else JPEG), with a color derived from seed.
func tinyImage(t *testing.T, rel string, seed int) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for y := range 3 {
		for x := range 4 {
			m.Set(x, y, color.RGBA{uint8(seed * 40), uint8(x * 60), uint8(y * 80), 255})
		}
	}
	var b bytes.Buffer
	var err error
	if strings.HasSuffix(strings.ToLower(rel), ".png") {
		err = png.Encode(&b, m)
	} else {
		err = jpeg.Encode(&b, m, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeImages writes a tiny image at each relative path under dir.
func writeImages(t *testing.T, dir string, rels ...string) {
	t.Helper()
	for i, rel := range rels {
		writeFile(t, dir, rel, tinyImage(t, rel, i))
	}
}

// item is a split entry as tests compare them.
type item struct {
	Key   string
	Label string
}

// items lists a split as (key, class name) pairs.
func items(ds *Dataset, s Split) []item {
	out := make([]item, s.Len())
	for i := range out {
		out[i] = item{s.Key(i), ds.Classes[s.Label(i)]}
	}
	return out
}

// checkSplit compares a split with want and loads every item.
func checkSplit(t *testing.T, ds *Dataset, name string, s Split, want []item) {
	t.Helper()
	if diff := cmp.Diff(want, items(ds, s)); diff != "" {
		t.Errorf("%s split mismatch (-want +got):\n%s", name, diff)
	}
	for i := range s.Len() {
		if _, err := s.Load(i); err != nil {
			t.Errorf("%s: Load(%d): %v", name, i, err)
		}
	}
}

// checkFormatErr checks that err, returned by what, wraps ErrFormat and
// that its message contains each of wants.
func checkFormatErr(t *testing.T, what string, err error, wants ...string) {
	t.Helper()
	ok := errors.Is(err, ErrFormat)
	for _, w := range wants {
		ok = ok && strings.Contains(err.Error(), w)
	}
	if !ok {
		t.Errorf("%s error = %v; want ErrFormat containing %q", what, err, wants)
	}
}

func mustOpen(t *testing.T, spec string, opt Options) *Dataset {
	t.Helper()
	ds, err := Open(spec, opt)
	if err != nil {
		t.Fatalf("Open(%q): %v", spec, err)
	}
	if len(ds.Digest) != 64 {
		t.Errorf("Digest = %q; want 64 hex digits", ds.Digest)
	}
	return ds
}
