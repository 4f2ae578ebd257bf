package irt

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/irgen/irgen/internal/store"
)

// Embeddings are the L2-normalized embeddings of a gallery, row i for
// gallery image i.
type Embeddings struct {
	Dim  int
	Data []float32 // Len() × Dim
	// Gallery is the digest of the gallery keys (store.KeysDigest) the
	// embeddings belong to.
	Gallery string
}

// Len is the number of embeddings.
func (e *Embeddings) Len() int {
	if e.Dim <= 0 {
		return 0
	}
	return len(e.Data) / e.Dim
}

// The embeddings file, a store.Format: the magic, a uint32 version, uint32
// count and dimension, a uint32 length and the gallery digest, the
// float32 values, and a CRC-32 (Castagnoli) of everything before it, all
// little-endian.
const (
	maxDigest = 1 << 10
	maxValues = 1 << 31
)

var (
	// ErrFormat reports a damaged or foreign embeddings file.
	ErrFormat = errors.New("irt: not a valid embeddings file")
	// ErrVersion reports an embeddings file of an unknown version.
	ErrVersion = errors.New("irt: unknown embeddings file version")

	embFormat = store.Format{Magic: "IRGENEMB", Version: 1, ErrFormat: ErrFormat, ErrVersion: ErrVersion}
)

// WriteTo writes the embeddings.
func (e *Embeddings) WriteTo(w io.Writer) (int64, error) {
	if e.Dim <= 0 || len(e.Data)%e.Dim != 0 || len(e.Gallery) > maxDigest {
		return 0, fmt.Errorf("irt: %d values of dim %d", len(e.Data), e.Dim)
	}
	fw := embFormat.NewWriter(w)
	fw.Uint32(uint32(e.Len()), uint32(e.Dim), uint32(len(e.Gallery)))
	io.WriteString(fw, e.Gallery)
	fw.Float32s(e.Data)
	return fw.Finish()
}

// ReadEmbeddings reads embeddings written by WriteTo, rejecting unknown
// versions, truncated files and checksum mismatches.
func ReadEmbeddings(r io.Reader) (*Embeddings, error) {
	fr, err := embFormat.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	n, dim, dl := uint64(fr.Uint32()), uint64(fr.Uint32()), uint64(fr.Uint32())
	if err := fr.Err(); err != nil {
		return nil, err
	}
	if dim == 0 || n*dim > maxValues || dl > maxDigest {
		return nil, fmt.Errorf("%w: %d embeddings of dim %d, digest of %d bytes", ErrFormat, n, dim, dl)
	}
	digest := make([]byte, dl)
	fr.ReadFull(digest)
	e := &Embeddings{Dim: int(dim), Gallery: string(digest), Data: fr.Float32s(int(n * dim))}
	if _, err := fr.Finish(); err != nil {
		return nil, err
	}
	if e.Data == nil {
		e.Data = []float32{}
	}
	return e, nil
}
