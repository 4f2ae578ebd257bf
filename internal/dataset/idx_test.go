package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// idxBytes encodes an unsigned-byte IDX file.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, idxUbyte, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeMNIST writes ntrain and ntest h x w images whose pixels encode their
// index, labels i%10, under dir; gzipped if zip.
func writeMNIST(t *testing.T, dir string, ntrain, ntest, h, w int, zip bool) {
	t.Helper()
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", ntrain}, {"t10k", ntest}} {
		pix := make([]byte, s.n*h*w)
		lab := make([]byte, s.n)
		for i := range s.n {
			for j := range h * w {
				pix[i*h*w+j] = byte(i + j)
			}
			lab[i] = byte(i % 10)
		}
		img := idxBytes([]int{s.n, h, w}, pix)
		labels := idxBytes([]int{s.n}, lab)
		suffix := ""
		if zip {
			img, labels, suffix = gz(t, img), gz(t, labels), ".gz"
		}
		writeFile(t, dir, s.prefix+"-images-idx3-ubyte"+suffix, img)
		writeFile(t, dir, s.prefix+"-labels-idx1-ubyte"+suffix, labels)
	}
}

func TestOpenIDX(t *testing.T) {
	for _, zip := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "gzip"}[zip]
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "my-fashion-mnist")
			writeMNIST(t, dir, 12, 5, 3, 2, zip)
			ds := mustOpen(t, dir, Options{})
			if ds.Name != FashionMNIST || ds.Classes[0] != "T-shirt/top" || len(ds.Classes) != 10 {
				t.Errorf("Name, Classes = %q, %q; want fashion-mnist with 10 classes", ds.Name, ds.Classes)
			}
			train, ok := ds.Train.(*Gray)
			if !ok {
				t.Fatalf("Train is %T; want *Gray", ds.Train)
			}
			if ds.Gallery != ds.Train || ds.QueryInGallery {
				t.Error("Gallery must be Train, QueryInGallery false")
			}
			if train.Len() != 12 || ds.Query.Len() != 5 || train.W != 2 || train.H != 3 {
				t.Errorf("train %d %dx%d, query %d; want 12 2x3, 5", train.Len(), train.W, train.H, ds.Query.Len())
			}
			if got, want := ds.Query.Key(4), "fashion-mnist/test/4"; got != want {
				t.Errorf("Key = %q; want %q", got, want)
			}
			if got := ds.Query.Label(4); got != 4 {
				t.Errorf("Label = %d; want 4", got)
			}
			img, err := train.Load(7)
			if err != nil {
				t.Fatal(err)
			}
			g := img.(*image.Gray)
			if g.Bounds() != image.Rect(0, 0, 2, 3) || g.GrayAt(1, 2).Y != 7+5 {
				t.Errorf("Load(7) = %v, pixel (1,2) = %d; want 2x3 with 12", g.Bounds(), g.GrayAt(1, 2).Y)
			}
			if diff := cmp.Diff([]uint8{7, 8, 9, 10, 11, 12}, train.Pixels(7)); diff != "" {
				t.Errorf("Pixels(7) (-want +got):\n%s", diff)
			}
			if _, err := train.Load(12); !errors.Is(err, ErrIndex) {
				t.Errorf("Load(12) error = %v; want ErrIndex", err)
			}
		})
	}
}

func TestOpenMNISTNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnist")
	writeMNIST(t, dir, 3, 3, 2, 2, true)
	ds := mustOpen(t, dir, Options{})
	if ds.Name != "mnist" || ds.Classes[3] != "3" || ds.Train.Key(1) != "mnist/train/1" {
		t.Errorf("got %q %q %q; want mnist, digit classes, mnist/train/1", ds.Name, ds.Classes, ds.Train.Key(1))
	}
}

func TestOpenFashionSpec(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "elsewhere")
	writeMNIST(t, dir, 3, 2, 2, 2, true)
	ds := mustOpen(t, FashionMNIST, Options{FashionDir: dir})
	if ds.Name != FashionMNIST || ds.Classes[9] != "Ankle boot" {
		t.Errorf("got %q %q", ds.Name, ds.Classes)
	}
	_, err := Open(FashionMNIST, Options{FashionDir: filepath.Join(dir, "missing")})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("missing dir error = %v; want ErrNotExist with apt-get hint", err)
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxBytes([]int{2, 2, 2}, make([]byte, 8))
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated header"},
		{"bad magic", append([]byte{1, 2}, good[2:]...), "bad magic"},
		{"float data", append([]byte{0, 0, 0x0d}, good[3:]...), "data type"},
		{"wrong ndims", idxBytes([]int{2, 4}, make([]byte, 8)), "2 dimensions, want 3"},
		{"short dims", good[:9], "truncated header"},
		{"zero dim", idxBytes([]int{2, 0, 2}, nil), "zero"},
		{"huge", idxBytes([]int{1 << 20, 1 << 10, 1 << 10}, nil), "too large"},
		{"truncated", good[:len(good)-1], "truncated data (7 of 8 bytes)"},
		{"truncated gzip", gz(t, good)[:20], "truncated data"},
		{"trailing", append(good, 0), "trailing data"},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2, 3}, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readIDX(bytes.NewReader(tt.data), 3, "f.idx")
			checkFormatErr(t, "readIDX", err, tt.want, "f.idx")
		})
	}
}

func TestOpenIDXErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"count mismatch", func(t *testing.T, dir string) {
			writeFile(t, dir, "train-labels-idx1-ubyte.gz", gz(t, idxBytes([]int{3}, make([]byte, 3))))
		}, "has 4 images but"},
		{"label range", func(t *testing.T, dir string) {
			writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", gz(t, idxBytes([]int{2}, []byte{1, 10})))
		}, "label 10 of item 1"},
		{"size mismatch", func(t *testing.T, dir string) {
			writeFile(t, dir, "t10k-images-idx3-ubyte.gz", gz(t, idxBytes([]int{2, 3, 3}, make([]byte, 18))))
		}, "train images are 2x2, test images 3x3"},
		{"missing test", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
		}, "missing t10k-images"},
		{"truncated file", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "train-images-idx3-ubyte.gz")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, "train-images-idx3-ubyte.gz: truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeMNIST(t, dir, 4, 2, 2, 2, true)
			tt.setup(t, dir)
			_, err := Open(dir, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

// TestFashionMNISTInstalled checks the real data set when the Debian package
// dataset-fashion-mnist is installed.
func TestFashionMNISTInstalled(t *testing.T) {
	if _, err := os.Stat(DefaultFashionDir); err != nil {
		t.Skipf("%s not installed: %v", DefaultFashionDir, err)
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	ds := mustOpen(t, FashionMNIST, Options{})
	train, query := ds.Train.(*Gray), ds.Query.(*Gray)
	if train.Len() != 60000 || query.Len() != 10000 || ds.Gallery.Len() != 60000 {
		t.Errorf("train/gallery/query = %d/%d/%d; want 60000/60000/10000", train.Len(), ds.Gallery.Len(), query.Len())
	}
	if train.W != 28 || train.H != 28 || len(train.Pix) != 60000*28*28 {
		t.Errorf("train images %dx%d, %d bytes", train.W, train.H, len(train.Pix))
	}
	for _, g := range []*Gray{train, query} {
		var count [10]int
		for _, l := range g.Labels {
			if l < 0 || l > 9 {
				t.Fatalf("%s label %d out of range", g.Prefix, l)
			}
			count[l]++
		}
		for c, n := range count {
			if n != g.Len()/10 { // Fashion-MNIST is balanced
				t.Errorf("%s class %d has %d items; want %d", g.Prefix, c, n, g.Len()/10)
			}
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	good := idxBytes([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(good)
	f.Add(gz(f, good))
	f.Add(good[:10])
	f.Fuzz(func(t *testing.T, data []byte) {
		dims, pix, err := readIDX(bytes.NewReader(data), 3, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if len(pix) != dims[0]*dims[1]*dims[2] {
			t.Fatalf("%d bytes for dims %v", len(pix), dims)
		}
	})
}
