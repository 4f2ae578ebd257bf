package trie

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/irgen/irgen/internal/semid"
)

// Binary format, little-endian:
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
const (
	magic         = "IRGENTRI"
	formatVersion = 1
	headerSize    = 8 + 4 + 4 + 4 + 8 + 8
	readChunk     = 4096 // items read per call
)

var (
	// ErrFormat reports data that is not a saved trie, or is corrupt.
	ErrFormat = errors.New("trie: invalid trie format")
	// ErrVersion reports a saved trie of an unknown format version.
	ErrVersion = errors.New("trie: unknown trie format version")
)

// countWriter counts and checksums what passes through it.
type countWriter struct {
	w   io.Writer
	n   int64
	crc hash.Hash32
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.crc.Write(p[:n])
	return n, err
}

// WriteTo writes t in the binary format. It implements io.WriterTo.
func (t *Trie) WriteTo(w io.Writer) (int64, error) {
	if t.m == 0 {
		return 0, fmt.Errorf("%w: trie not made by New or ReadFrom", ErrShape)
	}
	cw := &countWriter{w: w, crc: crc32.NewIEEE()}
	bw := bufio.NewWriterSize(cw, 1<<16)
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	binary.LittleEndian.PutUint32(hdr[8:], formatVersion)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(t.m))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(t.l))
	binary.LittleEndian.PutUint64(hdr[20:], uint64(t.numIDs))
	binary.LittleEndian.PutUint64(hdr[28:], uint64(t.numItems))
	bw.Write(hdr[:])
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
		if _, err := bw.Write(buf); err != nil {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("trie: write: %w", err)
	}
	sum := binary.LittleEndian.AppendUint32(nil, cw.crc.Sum32())
	n, err := w.Write(sum)
	if err != nil {
		return cw.n + int64(n), fmt.Errorf("trie: write checksum: %w", err)
	}
	return cw.n + int64(n), nil
}

// ReadFrom replaces t with a trie read in the binary format, reading
// exactly its bytes from r (wrap an unbuffered r in a bufio.Reader: records
// are read one at a time). It implements io.ReaderFrom. It returns
// ErrFormat for a bad magic, shape, order, item, checksum or truncated
// input, and ErrVersion for an unknown version; t is unchanged on error.
func (t *Trie) ReadFrom(r io.Reader) (int64, error) {
	rd := &reader{r: r, crc: crc32.NewIEEE()}
	hdr := make([]byte, headerSize)
	if err := rd.read(hdr); err != nil {
		return rd.n, err
	}
	if string(hdr[:8]) != magic {
		return rd.n, fmt.Errorf("%w: bad magic %q", ErrFormat, hdr[:8])
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != formatVersion {
		return rd.n, fmt.Errorf("%w: %d (know %d)", ErrVersion, v, formatVersion)
	}
	m := binary.LittleEndian.Uint32(hdr[12:])
	l := binary.LittleEndian.Uint32(hdr[16:])
	numIDs := binary.LittleEndian.Uint64(hdr[20:])
	numItems := binary.LittleEndian.Uint64(hdr[28:])
	if m < 1 || m > MaxM || l < 1 || l > MaxL {
		return rd.n, fmt.Errorf("%w: M=%d L=%d", ErrFormat, m, l)
	}
	if numIDs > numItems || numItems > MaxItem+1 {
		return rd.n, fmt.Errorf("%w: %d IDs, %d items", ErrFormat, numIDs, numItems)
	}
	nt, _ := New(int(m), int(l))
	id := make(semid.ID, m)
	prev := make(semid.ID, m)
	rec := make([]byte, 2*m+4)
	buf := make([]byte, 0, 4*readChunk)
	left := numItems
	for k := uint64(0); k < numIDs; k++ {
		if err := rd.read(rec); err != nil {
			return rd.n, err
		}
		for i := range id {
			id[i] = int32(binary.LittleEndian.Uint16(rec[2*i:]))
		}
		if err := id.Validate(int(m), int(l)); err != nil {
			return rd.n, fmt.Errorf("%w: record %d: %w", ErrFormat, k, err)
		}
		if k > 0 && id.Compare(prev) <= 0 {
			return rd.n, fmt.Errorf("%w: record %d: id %s not after %s", ErrFormat, k, id, prev)
		}
		copy(prev, id)
		count := uint64(binary.LittleEndian.Uint32(rec[2*m:]))
		if count == 0 || count > left {
			return rd.n, fmt.Errorf("%w: record %d: %d items, %d left", ErrFormat, k, count, left)
		}
		left -= count
		for count > 0 {
			c := min(count, readChunk)
			count -= c
			buf = buf[:4*c]
			if err := rd.read(buf); err != nil {
				return rd.n, err
			}
			for i := range c {
				it := binary.LittleEndian.Uint32(buf[4*i:])
				if err := nt.Insert(id, int(it)); err != nil {
					return rd.n, fmt.Errorf("%w: record %d: %w", ErrFormat, k, err)
				}
			}
		}
	}
	if left != 0 {
		return rd.n, fmt.Errorf("%w: %d items missing", ErrFormat, left)
	}
	want := rd.crc.Sum32()
	if err := rd.read(rec[:4]); err != nil {
		return rd.n, err
	}
	if got := binary.LittleEndian.Uint32(rec); got != want {
		return rd.n, fmt.Errorf("%w: checksum %08x, want %08x", ErrFormat, got, want)
	}
	*t = *nt
	return rd.n, nil
}

// reader reads exact sizes, counting and checksumming.
type reader struct {
	r   io.Reader
	n   int64
	crc hash.Hash32
}

func (rd *reader) read(b []byte) error {
	n, err := io.ReadFull(rd.r, b)
	rd.n += int64(n)
	rd.crc.Write(b[:n])
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated: %w", ErrFormat, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return fmt.Errorf("trie: read: %w", err)
	}
	return nil
}

// MarshalBinary returns the binary format of t.
func (t *Trie) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	if _, err := t.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// UnmarshalBinary replaces t with the trie in data, which must hold exactly
// one saved trie.
func (t *Trie) UnmarshalBinary(data []byte) error {
	r := bytes.NewReader(data)
	var n Trie
	if _, err := n.ReadFrom(r); err != nil {
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrFormat, r.Len())
	}
	*t = n
	return nil
}
