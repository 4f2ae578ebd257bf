package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

var fashionClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

var digitClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// Gray is an in-memory split of 8-bit gray images of one size, such as
// (Fashion-)MNIST. Trainers can read Pix directly, e.g. with
// imageproc.GrayToFloat.
type Gray struct {
	// Pix holds Len() images of W*H bytes each, row-major, back to back.
	Pix  []uint8
	W, H int
	// Labels holds one class index per image; Len() is len(Labels).
	Labels []int
	// Prefix starts every key, e.g. "fashion-mnist/train".
	Prefix string
	// IDs are the item numbers used in keys; nil means 0, 1, 2...
	IDs []int
}

// Len returns the number of images.
func (g *Gray) Len() int { return len(g.Labels) }

// Label returns the class index of image i.
func (g *Gray) Label(i int) int { return g.Labels[i] }

// Key returns Prefix + "/" + the item number of image i.
func (g *Gray) Key(i int) string {
	id := i
	if g.IDs != nil {
		id = g.IDs[i]
	}
	return g.Prefix + "/" + strconv.Itoa(id)
}

// Pixels returns the W*H bytes of image i, sharing memory with Pix.
func (g *Gray) Pixels(i int) []uint8 {
	n := g.W * g.H
	return g.Pix[i*n : (i+1)*n : (i+1)*n]
}

// Load returns image i as an *image.Gray sharing memory with Pix; callers
// must not modify it.
func (g *Gray) Load(i int) (image.Image, error) {
	if i < 0 || i >= g.Len() {
		return nil, fmt.Errorf("%w: %d not in [0, %d)", ErrIndex, i, g.Len())
	}
	return &image.Gray{Pix: g.Pixels(i), Stride: g.W, Rect: image.Rect(0, 0, g.W, g.H)}, nil
}

func (g *Gray) sub(idx []int) *Gray {
	n := g.W * g.H
	out := &Gray{W: g.W, H: g.H, Prefix: g.Prefix, Pix: make([]uint8, len(idx)*n),
		Labels: make([]int, len(idx)), IDs: make([]int, len(idx))}
	for i, j := range idx {
		copy(out.Pix[i*n:(i+1)*n], g.Pixels(j))
		out.Labels[i] = g.Labels[j]
		out.IDs[i] = j
		if g.IDs != nil {
			out.IDs[i] = g.IDs[j]
		}
	}
	return out
}

func (g *Gray) limit(k int) *Gray {
	n := g.W * g.H
	out := &Gray{W: g.W, H: g.H, Prefix: g.Prefix, Pix: g.Pix[: k*n : k*n], Labels: g.Labels[:k:k]}
	if g.IDs != nil {
		out.IDs = g.IDs[:k:k]
	}
	return out
}

// IDX format (LeCun's MNIST files): magic 0x00 0x00 type ndims, ndims
// big-endian uint32 sizes, then the data.
const (
	idxUbyte    = 0x08
	maxIDXBytes = 1 << 31
)

// findIDX returns the path of the IDX file <prefix>-<kind>-ubyte in dir,
// accepting a ".<kind>-ubyte" variant and a ".gz" suffix, or "".
func findIDX(dir, prefix, kind string) string {
	for _, sep := range []string{"-", "."} {
		for _, gz := range []string{".gz", ""} {
			p := filepath.Join(dir, prefix+sep+kind+"-ubyte"+gz)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// readIDX reads an unsigned-byte IDX stream with ndims dimensions, gzipped
// or not. It refuses truncated files and trailing data.
func readIDX(r io.Reader, ndims int, name string) (dims []int, data []byte, err error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: gzip: %w", ErrFormat, name, err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: truncated header: %w", ErrFormat, name, err)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, nil, fmt.Errorf("%w: %s: bad magic % x, not an IDX file", ErrFormat, name, hdr)
	}
	if hdr[2] != idxUbyte {
		return nil, nil, fmt.Errorf("%w: %s: data type 0x%02x, want unsigned byte (0x08)", ErrFormat, name, hdr[2])
	}
	if int(hdr[3]) != ndims {
		return nil, nil, fmt.Errorf("%w: %s: %d dimensions, want %d", ErrFormat, name, hdr[3], ndims)
	}
	dims = make([]int, ndims)
	total := int64(1)
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: truncated header: %w", ErrFormat, name, err)
		}
		if d == 0 {
			return nil, nil, fmt.Errorf("%w: %s: dimension %d is zero", ErrFormat, name, i)
		}
		dims[i] = int(d)
		total *= int64(d)
		if total > maxIDXBytes {
			return nil, nil, fmt.Errorf("%w: %s: %v is too large", ErrFormat, name, dims[:i+1])
		}
	}
	var buf bytes.Buffer
	buf.Grow(int(min(total, 64<<20)))
	n, err := buf.ReadFrom(io.LimitReader(br, total+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: truncated data (%d of %d bytes): %w", ErrFormat, name, n, total, err)
	}
	if n < total {
		return nil, nil, fmt.Errorf("%w: %s: truncated data (%d of %d bytes)", ErrFormat, name, n, total)
	}
	if n > total {
		return nil, nil, fmt.Errorf("%w: %s: trailing data after %d bytes", ErrFormat, name, total)
	}
	return dims, buf.Bytes(), nil
}

func readIDXFile(path string, ndims int) ([]int, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return readIDX(f, ndims, path)
}

// readGray reads an images file and its labels file into a Gray split.
func readGray(imagesPath, labelsPath, prefix string, nclass int) (*Gray, error) {
	dims, pix, err := readIDXFile(imagesPath, 3)
	if err != nil {
		return nil, err
	}
	ldims, lab, err := readIDXFile(labelsPath, 1)
	if err != nil {
		return nil, err
	}
	if ldims[0] != dims[0] {
		return nil, fmt.Errorf("%w: %s has %d images but %s has %d labels", ErrFormat, imagesPath, dims[0], labelsPath, ldims[0])
	}
	g := &Gray{Pix: pix, H: dims[1], W: dims[2], Labels: make([]int, len(lab)), Prefix: prefix}
	for i, l := range lab {
		if int(l) >= nclass {
			return nil, fmt.Errorf("%w: %s: label %d of item %d not below %d classes", ErrFormat, labelsPath, l, i, nclass)
		}
		g.Labels[i] = int(l)
	}
	return g, nil
}

// openIDX opens an MNIST-style directory: train is both Train and Gallery,
// t10k is Query.
func openIDX(dir, name string, classes []string) (*Dataset, error) {
	var paths [4]string
	for i, f := range [4][2]string{{"train-images", "idx3"}, {"train-labels", "idx1"}, {"t10k-images", "idx3"}, {"t10k-labels", "idx1"}} {
		if paths[i] = findIDX(dir, f[0], f[1]); paths[i] == "" {
			return nil, fmt.Errorf("dataset: %s: missing %s-%s-ubyte(.gz): %w", dir, f[0], f[1], os.ErrNotExist)
		}
	}
	train, err := readGray(paths[0], paths[1], name+"/train", len(classes))
	if err != nil {
		return nil, err
	}
	test, err := readGray(paths[2], paths[3], name+"/test", len(classes))
	if err != nil {
		return nil, err
	}
	if train.W != test.W || train.H != test.H {
		return nil, fmt.Errorf("%w: %s: train images are %dx%d, test images %dx%d", ErrFormat, dir, train.W, train.H, test.W, test.H)
	}
	return &Dataset{
		Name:    name,
		Classes: append([]string(nil), classes...),
		Train:   train,
		Gallery: train,
		Query:   test,
	}, nil
}
