package irt

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/irgen/irgen/internal/iox"
	"hash/crc32"
	"io"
	"math"
)

// Embeddings are the L2-normalized embeddings of a gallery, row i for
// gallery image i.
type Embeddings struct {
	Dim  int
	Data []float32 // Len() × Dim
	// Gallery is the digest of the gallery keys (KeysDigest) the
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

// KeysDigest returns the hex SHA-256 of the gallery keys, one per line.
func KeysDigest(keys []string) string {
	h := sha256.New()
	for _, k := range keys {
		io.WriteString(h, k)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// The embeddings file: the magic, a uint32 version, uint32 count and
// dimension, a uint32 length and the gallery digest, the float32 values,
// and a CRC-32 (Castagnoli) of everything before it, all little-endian.
const (
	embMagic   = "IRGENEMB"
	embVersion = 1
	maxDigest  = 1 << 10
	maxValues  = 1 << 31
)

var (
	// ErrFormat reports a damaged or foreign embeddings file.
	ErrFormat = errors.New("irt: not a valid embeddings file")
	// ErrVersion reports an embeddings file of an unknown version.
	ErrVersion = errors.New("irt: unknown embeddings file version")
	crcTable   = crc32.MakeTable(crc32.Castagnoli)
)

// WriteTo writes the embeddings.
func (e *Embeddings) WriteTo(w io.Writer) (int64, error) {
	if e.Dim <= 0 || len(e.Data)%e.Dim != 0 || len(e.Gallery) > maxDigest {
		return 0, fmt.Errorf("irt: %d values of dim %d", len(e.Data), e.Dim)
	}
	crc := crc32.New(crcTable)
	cw := &iox.CountWriter{W: io.MultiWriter(w, crc)}
	bw := bufio.NewWriter(cw)
	bw.WriteString(embMagic)
	for _, v := range []uint32{embVersion, uint32(e.Len()), uint32(e.Dim), uint32(len(e.Gallery))} {
		binary.Write(bw, binary.LittleEndian, v)
	}
	bw.WriteString(e.Gallery)
	var b [4]byte
	for _, v := range e.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	if err := bw.Flush(); err != nil {
		return cw.N, err
	}
	binary.LittleEndian.PutUint32(b[:], crc.Sum32())
	n, err := w.Write(b[:])
	return cw.N + int64(n), err
}

// ReadEmbeddings reads embeddings written by WriteTo, rejecting unknown
// versions, truncated files and checksum mismatches.
func ReadEmbeddings(r io.Reader) (*Embeddings, error) {
	crc := crc32.New(crcTable)
	br := bufio.NewReader(r)
	tr := io.TeeReader(br, crc)
	var head [8 + 16]byte
	if _, err := io.ReadFull(tr, head[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if string(head[:8]) != embMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(head[8+4*i:]) }
	if v := u(0); v != embVersion {
		return nil, fmt.Errorf("%w: version %d, this irgen reads %d", ErrVersion, v, embVersion)
	}
	n, dim, dl := uint64(u(1)), uint64(u(2)), uint64(u(3))
	if dim == 0 || n*dim > maxValues || dl > maxDigest {
		return nil, fmt.Errorf("%w: %d embeddings of dim %d, digest of %d bytes", ErrFormat, n, dim, dl)
	}
	digest := make([]byte, dl)
	if _, err := io.ReadFull(tr, digest); err != nil {
		return nil, fmt.Errorf("%w: digest: %v", ErrFormat, err)
	}
	e := &Embeddings{Dim: int(dim), Gallery: string(digest)}
	var b [4]byte
	for i := uint64(0); i < n*dim; i++ {
		if _, err := io.ReadFull(tr, b[:]); err != nil {
			return nil, fmt.Errorf("%w: value %d of %d: %v", ErrFormat, i, n*dim, err)
		}
		e.Data = append(e.Data, math.Float32frombits(binary.LittleEndian.Uint32(b[:])))
	}
	want := crc.Sum32()
	if _, err := io.ReadFull(br, b[:]); err != nil {
		return nil, fmt.Errorf("%w: checksum: %v", ErrFormat, err)
	}
	if got := binary.LittleEndian.Uint32(b[:]); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrFormat, got, want)
	}
	if e.Data == nil {
		e.Data = []float32{}
	}
	return e, nil
}
