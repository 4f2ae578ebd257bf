// Package gallery holds what indexing produced for every gallery image: its
// key (path or data set position), label, tokenizer feature and semantic ID.
// It is saved with the model; the prefix tree of valid IDs and the exact
// search index are rebuilt from it at load.
package gallery

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/irgen/irgen/internal/store"
)

// File is the gallery's file name inside a model directory.
const File = "gallery.bin"

// maxHeader bounds the JSON header (keys and class names).
const maxHeader = 1 << 30

var (
	// ErrFormat reports a damaged or foreign gallery file.
	ErrFormat = errors.New("gallery: not a valid gallery file")
	// ErrVersion reports a gallery written by a newer irgen.
	ErrVersion = errors.New("gallery: unknown gallery version")
)

// Gallery is the indexed collection. Image i has Keys[i], Labels[i],
// feature Features[i*Dim:(i+1)*Dim] and ID Codes[i*M:(i+1)*M].
type Gallery struct {
	Dim, M, L int
	Classes   []string
	Keys      []string
	Labels    []int32
	Features  []float32
	Codes     []int32
}

// Len is the number of images.
func (g *Gallery) Len() int { return len(g.Keys) }

// Feature returns image i's feature.
func (g *Gallery) Feature(i int) []float32 { return g.Features[i*g.Dim : (i+1)*g.Dim] }

// Code returns image i's semantic ID.
func (g *Gallery) Code(i int) []int32 { return g.Codes[i*g.M : (i+1)*g.M] }

// StartsWith reports whether g's first n images are those whose keys
// have store.KeysDigest digest: whether what was computed for that
// gallery (n images, digest) still describes g's first n.
func (g *Gallery) StartsWith(n int, digest string) bool {
	return n <= g.Len() && store.KeysDigest(g.Keys[:n]) == digest
}

// Check verifies that the parts agree in size and that codes are in range.
func (g *Gallery) Check() error {
	n := len(g.Keys)
	switch {
	case g.Dim <= 0 || g.M <= 0 || g.L <= 0:
		return fmt.Errorf("%w: dim %d, M %d, L %d", ErrFormat, g.Dim, g.M, g.L)
	case len(g.Labels) != n || len(g.Features) != n*g.Dim || len(g.Codes) != n*g.M:
		return fmt.Errorf("%w: %d keys, %d labels, %d feature values, %d codes", ErrFormat, n, len(g.Labels), len(g.Features), len(g.Codes))
	}
	for i, c := range g.Codes {
		if c < 0 || int(c) >= g.L {
			return fmt.Errorf("%w: image %d has token %d outside [0,%d)", ErrFormat, i/g.M, c, g.L)
		}
	}
	for i, l := range g.Labels {
		if l < -1 || int(l) >= len(g.Classes) {
			return fmt.Errorf("%w: image %d has label %d of %d classes", ErrFormat, i, l, len(g.Classes))
		}
	}
	return nil
}

// Append adds one image and returns its index.
func (g *Gallery) Append(key string, label int32, feature []float32, code []int32) (int, error) {
	if len(feature) != g.Dim || len(code) != g.M {
		return 0, fmt.Errorf("gallery: feature of %d values and ID of %d tokens, want %d and %d", len(feature), len(code), g.Dim, g.M)
	}
	g.Keys = append(g.Keys, key)
	g.Labels = append(g.Labels, label)
	g.Features = append(g.Features, feature...)
	g.Codes = append(g.Codes, code...)
	return len(g.Keys) - 1, nil
}

// Truncate drops the images from index n on, as when an Append must be
// undone.
func (g *Gallery) Truncate(n int) {
	g.Keys, g.Labels = g.Keys[:n], g.Labels[:n]
	g.Features, g.Codes = g.Features[:n*g.Dim], g.Codes[:n*g.M]
}

type header struct {
	Dim     int      `json:"dim"`
	M       int      `json:"m"`
	L       int      `json:"l"`
	Classes []string `json:"classes"`
	Keys    []string `json:"keys"`
}

// format is the gallery file: the store.Format header, the JSON header's
// length (uint32) and the header, labels, codes and features as
// little-endian 32-bit values, then a CRC-32C.
var format = store.Format{Magic: "IRGENGAL", Version: 1, ErrFormat: ErrFormat, ErrVersion: ErrVersion}

// WriteTo writes g in the gallery file format.
func (g *Gallery) WriteTo(w io.Writer) (int64, error) {
	if err := g.Check(); err != nil {
		return 0, err
	}
	fw := format.NewWriter(w)
	if err := fw.JSON(header{Dim: g.Dim, M: g.M, L: g.L, Classes: g.Classes, Keys: g.Keys}); err != nil {
		return 0, err
	}
	for _, part := range []any{g.Labels, g.Codes, g.Features} {
		binary.Write(fw, binary.LittleEndian, part)
	}
	n, err := fw.Finish()
	if err != nil {
		return n, fmt.Errorf("gallery: write: %w", err)
	}
	return n, nil
}

// ReadFrom replaces g with the gallery read from r.
func (g *Gallery) ReadFrom(r io.Reader) (int64, error) {
	fr, err := format.NewReader(bufio.NewReader(r))
	if err != nil {
		return fr.N(), err
	}
	var h header
	if err := fr.JSON(maxHeader, &h); err != nil {
		return fr.N(), err
	}
	n := len(h.Keys)
	if h.Dim <= 0 || h.M <= 0 || h.Dim > 1<<16 || h.M > 64 || int64(n)*int64(h.Dim+h.M+1)*4 > math.MaxInt32*8 {
		return fr.N(), fmt.Errorf("%w: %d images of dim %d, M %d", ErrFormat, n, h.Dim, h.M)
	}
	// Read in chunks: a short file that claims many wide images fails at
	// its end instead of allocating what it claims.
	out := Gallery{Dim: h.Dim, M: h.M, L: h.L, Classes: h.Classes, Keys: h.Keys,
		Labels: fr.Int32s(n), Codes: fr.Int32s(n * h.M), Features: fr.Float32s(n * h.Dim)}
	if _, err := fr.Finish(); err != nil {
		return fr.N(), err
	}
	if err := out.Check(); err != nil {
		return fr.N(), err
	}
	*g = out
	return fr.N(), nil
}
