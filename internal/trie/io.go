package trie

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/store"
)

// Binary format, a store.Format, little-endian:
//
//	magic    [8]byte "IRGENTRI"
//	version  uint32  1
//	M, L     uint32
//	numIDs   uint64
//	numItems uint64
//	numIDs records, IDs in strictly increasing order:
//	    tokens [M]uint16
//	    count  uint32 (≥ 1)
//	    items  [count]uint32, in insertion order
//	crc      uint32  CRC-32 (IEEE) of everything before it
const readChunk = 4096 // items read per call

var (
	// ErrFormat reports data that is not a saved trie, or is corrupt.
	ErrFormat = errors.New("trie: invalid trie format")
	// ErrVersion reports a saved trie of an unknown format version.
	ErrVersion = errors.New("trie: unknown trie format version")

	format = store.Format{Magic: "IRGENTRI", Version: 1, IEEE: true, ErrFormat: ErrFormat, ErrVersion: ErrVersion}
)

// WriteTo writes t in the binary format. It implements io.WriterTo.
func (t *Trie) WriteTo(w io.Writer) (int64, error) {
	if t.m == 0 {
		return 0, fmt.Errorf("%w: trie not made by New or ReadFrom", ErrShape)
	}
	fw := format.NewWriter(w)
	fw.Uint32(uint32(t.m), uint32(t.l))
	fw.Uint64(uint64(t.numIDs), uint64(t.numItems))
	var buf []byte
	for id, items := range t.All() {
		buf = buf[:0]
		for _, tok := range id {
			buf = binary.LittleEndian.AppendUint16(buf, uint16(tok))
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(items)))
		for _, it := range items {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(it))
		}
		if _, err := fw.Write(buf); err != nil {
			break
		}
	}
	n, err := fw.Finish()
	if err != nil {
		return n, fmt.Errorf("trie: write: %w", err)
	}
	return n, nil
}

// ReadFrom replaces t with a trie read in the binary format, reading
// exactly its bytes from r (wrap an unbuffered r in a bufio.Reader: records
// are read one at a time). It implements io.ReaderFrom. It returns
// ErrFormat for a bad magic, shape, order, item, checksum or truncated
// input, and ErrVersion for an unknown version; t is unchanged on error.
func (t *Trie) ReadFrom(r io.Reader) (int64, error) {
	fr, err := format.NewReader(r)
	if err != nil {
		return fr.N(), err
	}
	m, l := fr.Uint32(), fr.Uint32()
	numIDs, numItems := fr.Uint64(), fr.Uint64()
	if err := fr.Err(); err != nil {
		return fr.N(), err
	}
	if m < 1 || m > MaxM || l < 1 || l > MaxL {
		return fr.N(), fmt.Errorf("%w: M=%d L=%d", ErrFormat, m, l)
	}
	if numIDs > numItems || numItems > MaxItem+1 {
		return fr.N(), fmt.Errorf("%w: %d IDs, %d items", ErrFormat, numIDs, numItems)
	}
	nt, _ := New(int(m), int(l))
	id := make(semid.ID, m)
	prev := make(semid.ID, m)
	rec := make([]byte, 2*m+4)
	buf := make([]byte, 0, 4*readChunk)
	left := numItems
	for k := uint64(0); k < numIDs; k++ {
		if err := fr.ReadFull(rec); err != nil {
			return fr.N(), err
		}
		for i := range id {
			id[i] = int32(binary.LittleEndian.Uint16(rec[2*i:]))
		}
		if err := id.Validate(int(m), int(l)); err != nil {
			return fr.N(), fmt.Errorf("%w: record %d: %w", ErrFormat, k, err)
		}
		if k > 0 && id.Compare(prev) <= 0 {
			return fr.N(), fmt.Errorf("%w: record %d: id %s not after %s", ErrFormat, k, id, prev)
		}
		copy(prev, id)
		count := uint64(binary.LittleEndian.Uint32(rec[2*m:]))
		if count == 0 || count > left {
			return fr.N(), fmt.Errorf("%w: record %d: %d items, %d left", ErrFormat, k, count, left)
		}
		left -= count
		for count > 0 {
			c := min(count, readChunk)
			count -= c
			buf = buf[:4*c]
			if err := fr.ReadFull(buf); err != nil {
				return fr.N(), err
			}
			for i := range c {
				it := binary.LittleEndian.Uint32(buf[4*i:])
				if err := nt.Insert(id, int(it)); err != nil {
					return fr.N(), fmt.Errorf("%w: record %d: %w", ErrFormat, k, err)
				}
			}
		}
	}
	if left != 0 {
		return fr.N(), fmt.Errorf("%w: %d items missing", ErrFormat, left)
	}
	if _, err := fr.Finish(); err != nil {
		return fr.N(), err
	}
	*t = *nt
	return fr.N(), nil
}

// MarshalBinary returns the binary format of t.
func (t *Trie) MarshalBinary() ([]byte, error) { return store.Marshal(t) }

// UnmarshalBinary replaces t with the trie in data, which must hold exactly
// one saved trie.
func (t *Trie) UnmarshalBinary(data []byte) error { return store.Unmarshal(format, t, data) }
