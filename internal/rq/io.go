package rq

import (
	"errors"
	"fmt"
	"io"

	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/vec"
)

// Binary format, a store.Format, little-endian:
//
//	magic   [8]byte  "IRGENRQ\x00"
//	version uint32   1
//	M, L, Dim uint32
//	codebooks [M*L*Dim]float32
//	crc     uint32   CRC-32 (IEEE) of everything before it

var (
	// ErrFormat reports data that is not a saved quantizer, or is corrupt.
	ErrFormat = errors.New("rq: invalid quantizer format")
	// ErrVersion reports a saved quantizer of an unknown format version.
	ErrVersion = errors.New("rq: unknown quantizer format version")

	format = store.Format{Magic: "IRGENRQ\x00", Version: 1, IEEE: true, ErrFormat: ErrFormat, ErrVersion: ErrVersion}
)

// WriteTo writes q in the binary format. It implements io.WriterTo.
func (q *Quantizer) WriteTo(w io.Writer) (int64, error) {
	if err := q.ready(); err != nil {
		return 0, err
	}
	fw := format.NewWriter(w)
	fw.Uint32(uint32(q.M), uint32(q.L), uint32(q.Dim))
	fw.Float32s(q.Codebooks)
	n, err := fw.Finish()
	if err != nil {
		return n, fmt.Errorf("rq: write: %w", err)
	}
	return n, nil
}

// ReadFrom replaces q with a quantizer read in the binary format, reading
// exactly its bytes from r. It implements io.ReaderFrom. It returns
// ErrFormat for a bad magic, shape, checksum or truncated input, and
// ErrVersion for an unknown version; q is unchanged on error.
func (q *Quantizer) ReadFrom(r io.Reader) (int64, error) {
	fr, err := format.NewReader(r)
	if err != nil {
		return fr.N(), err
	}
	m, l, dim := fr.Uint32(), fr.Uint32(), fr.Uint32()
	if err := fr.Err(); err != nil {
		return fr.N(), err
	}
	if m > MaxLevels || l > MaxCodewords || dim > MaxDim {
		return fr.N(), fmt.Errorf("%w: M=%d L=%d Dim=%d too large", ErrFormat, m, l, dim)
	}
	nq := Quantizer{M: int(m), L: int(l), Dim: int(dim)}
	if err := checkShape(nq.M, nq.L, nq.Dim); err != nil {
		return fr.N(), fmt.Errorf("%w: %w", ErrFormat, err)
	}
	// Float32s grows as data arrives, so a forged header cannot force a
	// huge allocation before the input runs out.
	cb := fr.Float32s(nq.M * nq.L * nq.Dim)
	if _, err := fr.Finish(); err != nil {
		return fr.N(), err
	}
	if i := vec.NonFinite(cb); i >= 0 {
		return fr.N(), fmt.Errorf("%w: codebook value %v", ErrFormat, cb[i])
	}
	nq.Codebooks = cb
	if err := nq.Init(); err != nil {
		return fr.N(), fmt.Errorf("%w: %w", ErrFormat, err)
	}
	*q = nq
	return fr.N(), nil
}

// MarshalBinary returns the binary format of q.
func (q *Quantizer) MarshalBinary() ([]byte, error) { return store.Marshal(q) }

// UnmarshalBinary replaces q with the quantizer in data, which must hold
// exactly one saved quantizer.
func (q *Quantizer) UnmarshalBinary(data []byte) error { return store.Unmarshal(format, q, data) }
