package rq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// Binary format, little-endian:
//
//	magic   [8]byte  "IRGENRQ\x00"
//	version uint32   1
//	M, L, Dim uint32
//	codebooks [M*L*Dim]float32
//	crc     uint32   CRC-32 (IEEE) of everything before it
const (
	magic         = "IRGENRQ\x00"
	formatVersion = 1
	headerSize    = len(magic) + 4*4
	chunkFloats   = 1 << 14
)

var (
	// ErrFormat reports data that is not a saved quantizer, or is corrupt.
	ErrFormat = errors.New("rq: invalid quantizer format")
	// ErrVersion reports a saved quantizer of an unknown format version.
	ErrVersion = errors.New("rq: unknown quantizer format version")
)

// WriteTo writes q in the binary format. It implements io.WriterTo.
func (q *Quantizer) WriteTo(w io.Writer) (int64, error) {
	if err := q.ready(); err != nil {
		return 0, err
	}
	crc := crc32.NewIEEE()
	var total int64
	write := func(b []byte) error {
		crc.Write(b)
		n, err := w.Write(b)
		total += int64(n)
		return err
	}
	hdr := make([]byte, headerSize, 4*chunkFloats)
	copy(hdr, magic)
	binary.LittleEndian.PutUint32(hdr[8:], formatVersion)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(q.M))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(q.L))
	binary.LittleEndian.PutUint32(hdr[20:], uint32(q.Dim))
	if err := write(hdr); err != nil {
		return total, fmt.Errorf("rq: write header: %w", err)
	}
	buf := hdr[:0]
	for rest := q.Codebooks; len(rest) > 0; {
		part := rest[:min(len(rest), chunkFloats)]
		rest = rest[len(part):]
		buf = buf[:0]
		for _, v := range part {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		if err := write(buf); err != nil {
			return total, fmt.Errorf("rq: write codebooks: %w", err)
		}
	}
	sum := binary.LittleEndian.AppendUint32(buf[:0], crc.Sum32())
	n, err := w.Write(sum)
	total += int64(n)
	if err != nil {
		return total, fmt.Errorf("rq: write checksum: %w", err)
	}
	return total, nil
}

// ReadFrom replaces q with a quantizer read in the binary format, reading
// exactly its bytes from r. It implements io.ReaderFrom. It returns
// ErrFormat for a bad magic, shape, checksum or truncated input, and
// ErrVersion for an unknown version; q is unchanged on error.
func (q *Quantizer) ReadFrom(r io.Reader) (int64, error) {
	crc := crc32.NewIEEE()
	var total int64
	read := func(b []byte) error {
		n, err := io.ReadFull(r, b)
		total += int64(n)
		crc.Write(b[:n])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated: %w", ErrFormat, io.ErrUnexpectedEOF)
		}
		return err
	}
	hdr := make([]byte, headerSize, 4*chunkFloats)
	if err := read(hdr); err != nil {
		return total, fmt.Errorf("rq: read header: %w", err)
	}
	if string(hdr[:8]) != magic {
		return total, fmt.Errorf("%w: bad magic %q", ErrFormat, hdr[:8])
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != formatVersion {
		return total, fmt.Errorf("%w: %d (know %d)", ErrVersion, v, formatVersion)
	}
	m := binary.LittleEndian.Uint32(hdr[12:])
	l := binary.LittleEndian.Uint32(hdr[16:])
	dim := binary.LittleEndian.Uint32(hdr[20:])
	if m > MaxLevels || l > MaxCodewords || dim > MaxDim {
		return total, fmt.Errorf("%w: M=%d L=%d Dim=%d too large", ErrFormat, m, l, dim)
	}
	nq := Quantizer{M: int(m), L: int(l), Dim: int(dim)}
	if err := checkShape(nq.M, nq.L, nq.Dim); err != nil {
		return total, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	size := nq.M * nq.L * nq.Dim
	// Grow as data arrives, so a forged header cannot force a huge
	// allocation before the input runs out.
	cb := make([]float32, 0, min(size, chunkFloats))
	buf := hdr[:0]
	for len(cb) < size {
		k := min(size-len(cb), chunkFloats)
		buf = buf[:4*k]
		if err := read(buf); err != nil {
			return total, fmt.Errorf("rq: read codebooks: %w", err)
		}
		for i := range k {
			cb = append(cb, math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:])))
		}
	}
	want := crc.Sum32()
	if err := read(buf[:4]); err != nil {
		return total, fmt.Errorf("rq: read checksum: %w", err)
	}
	if got := binary.LittleEndian.Uint32(buf); got != want {
		return total, fmt.Errorf("%w: checksum %08x, want %08x", ErrFormat, got, want)
	}
	for _, v := range cb {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return total, fmt.Errorf("%w: codebook value %v", ErrFormat, v)
		}
	}
	nq.Codebooks = cb
	if err := nq.Init(); err != nil {
		return total, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	*q = nq
	return total, nil
}

// MarshalBinary returns the binary format of q.
func (q *Quantizer) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	if _, err := q.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// UnmarshalBinary replaces q with the quantizer in data, which must hold
// exactly one saved quantizer.
func (q *Quantizer) UnmarshalBinary(data []byte) error {
	r := bytes.NewReader(data)
	var n Quantizer
	if _, err := n.ReadFrom(r); err != nil {
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrFormat, r.Len())
	}
	*q = n
	return nil
}
