package store

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
)

// Binary files. Every binary file irgen writes starts with the header of
// its Format, and most end with a checksum, little-endian throughout:
//
//	magic    [8]byte  names the format ("IRGENEMB", ...)
//	version  uint32   readers reject versions they do not know
//	...               the format's own fields
//	crc      uint32   CRC-32 (Castagnoli, or IEEE) of everything before it
//
// Writer and Reader write and check the header, count the bytes and keep
// the checksum, so that a format only writes and reads its own fields.

// HeaderSize is the size of a Format's header: the magic and the version.
const HeaderSize = magicSize + 4

const magicSize = 8

// Format identifies a binary file format.
type Format struct {
	// Magic is the 8-byte string the files start with.
	Magic string
	// Version is the version this build writes and reads.
	Version uint32
	// IEEE selects the IEEE polynomial for the trailing checksum instead
	// of Castagnoli.
	IEEE bool
	// ErrFormat and ErrVersion are the format's sentinel errors. Reading
	// errors wrap ErrFormat (a foreign, damaged or truncated file) or
	// ErrVersion (a version this build does not know).
	ErrFormat, ErrVersion error
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (f Format) table() *crc32.Table {
	if f.IEEE {
		return crc32.IEEETable
	}
	return castagnoli
}

func (f Format) errFormat() error {
	if f.ErrFormat == nil {
		return errors.New("store: not a valid " + f.Magic + " file")
	}
	return f.ErrFormat
}

func (f Format) errVersion() error {
	if f.ErrVersion == nil {
		return f.errFormat()
	}
	return f.ErrVersion
}

// AppendHeader appends the header to b. It panics when Magic is not 8
// bytes long, a programmer error.
func (f Format) AppendHeader(b []byte) []byte {
	if len(f.Magic) != magicSize {
		panic(fmt.Sprintf("store: magic %q is not %d bytes", f.Magic, magicSize))
	}
	b = append(b, f.Magic...)
	return binary.LittleEndian.AppendUint32(b, f.Version)
}

// CheckHeader checks a header read from a file: the magic and the version.
func (f Format) CheckHeader(head []byte) error {
	if len(head) < HeaderSize {
		return fmt.Errorf("%w: truncated header", f.errFormat())
	}
	if string(head[:magicSize]) != f.Magic {
		return fmt.Errorf("%w: bad magic %q", f.errFormat(), head[:magicSize])
	}
	if v := binary.LittleEndian.Uint32(head[magicSize:]); v != f.Version {
		return fmt.Errorf("%w: version %d (this build reads %d)", f.errVersion(), v, f.Version)
	}
	return nil
}

// ReadHeader reads the header from r, exactly its bytes, and checks it,
// for a format without a checksum.
func (f Format) ReadHeader(r io.Reader) error {
	var head [HeaderSize]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return fmt.Errorf("%w: truncated header: %v", f.errFormat(), err)
	}
	return f.CheckHeader(head[:])
}

// Writer writes a file of a Format: the header on creation, then what the
// format writes, then, at Finish, the checksum. Errors are sticky: after
// one, writes do nothing and Finish returns it.
type Writer struct {
	cw  CountWriter
	bw  *bufio.Writer
	crc hash.Hash32
	buf []byte
	err error
}

// NewWriter starts a file of format f on w with the header. The Writer
// buffers; nothing reaches w for sure before Finish.
func (f Format) NewWriter(w io.Writer) *Writer {
	fw := &Writer{crc: crc32.New(f.table())}
	fw.cw.W = w
	fw.bw = bufio.NewWriterSize(io.MultiWriter(&fw.cw, fw.crc), 64<<10)
	fw.Write(f.AppendHeader(nil))
	return fw
}

// Write writes p as is.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.err = err
	return n, err
}

// Uint32 writes each of vs.
func (w *Writer) Uint32(vs ...uint32) {
	w.buf = w.buf[:0]
	for _, v := range vs {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, v)
	}
	w.Write(w.buf)
}

// Uint64 writes each of vs.
func (w *Writer) Uint64(vs ...uint64) {
	w.buf = w.buf[:0]
	for _, v := range vs {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, v)
	}
	w.Write(w.buf)
}

// Float32s writes the values of v.
func (w *Writer) Float32s(v []float32) {
	for len(v) > 0 && w.err == nil {
		part := v[:min(len(v), 1<<14)]
		v = v[len(part):]
		w.buf = w.buf[:0]
		for _, x := range part {
			w.buf = binary.LittleEndian.AppendUint32(w.buf, math.Float32bits(x))
		}
		w.Write(w.buf)
	}
}

// JSON writes v as JSON after its length, a uint32.
func (w *Writer) JSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return err
	}
	if uint64(len(data)) > math.MaxUint32 {
		w.err = fmt.Errorf("store: JSON of %d bytes", len(data))
		return w.err
	}
	w.Uint32(uint32(len(data)))
	w.Write(data)
	return w.err
}

// Err returns the first error, if any.
func (w *Writer) Err() error { return w.err }

// Finish flushes the buffer and writes the checksum of everything before
// it. It returns the number of bytes written to the underlying writer, the
// header and the checksum included.
func (w *Writer) Finish() (int64, error) {
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.err != nil {
		return w.cw.N, w.err
	}
	_, w.err = w.cw.Write(binary.LittleEndian.AppendUint32(w.buf[:0], w.crc.Sum32()))
	return w.cw.N, w.err
}

// FinishNoChecksum flushes the buffer, for a format that ends without a
// checksum (or with another format's).
func (w *Writer) FinishNoChecksum() (int64, error) {
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.cw.N, w.err
}

// Reader reads a file of a Format: NewReader checks the header, the
// format reads its fields, and Finish checks the checksum. Reader does not
// buffer and reads no byte past the checksum; wrap r in a bufio.Reader for
// speed. Errors are sticky: after one, reads return zero values and Err,
// ReadFull and Finish return it.
type Reader struct {
	f   Format
	cr  CountReader
	crc hash.Hash32
	tr  io.Reader
	buf [8]byte
	err error
}

// NewReader reads and checks the header of a file of format f from r. On
// error the Reader is still returned, for its count.
func (f Format) NewReader(r io.Reader) (*Reader, error) {
	fr := &Reader{f: f, crc: crc32.New(f.table())}
	fr.cr.R = r
	fr.tr = io.TeeReader(&fr.cr, fr.crc)
	var head [HeaderSize]byte
	if err := fr.ReadFull(head[:]); err != nil {
		return fr, err
	}
	if err := f.CheckHeader(head[:]); err != nil {
		fr.err = err
	}
	return fr, fr.err
}

// N returns the number of bytes read so far.
func (r *Reader) N() int64 { return r.cr.N }

// Err returns the first error, if any.
func (r *Reader) Err() error { return r.err }

// Read reads the file's bytes (for a decoder of the format's own), adding
// them to the checksum.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	return r.tr.Read(p)
}

// ReadFull fills p; a short file is an error wrapping ErrFormat and
// io.ErrUnexpectedEOF.
func (r *Reader) ReadFull(p []byte) error {
	if r.err != nil {
		return r.err
	}
	if _, err := io.ReadFull(r.tr, p); err != nil {
		r.err = r.truncated(err)
	}
	return r.err
}

func (r *Reader) truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated after %d bytes: %w", r.f.errFormat(), r.cr.N, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%w: %w", r.f.errFormat(), err)
}

// Uint32 reads a uint32.
func (r *Reader) Uint32() uint32 {
	if r.ReadFull(r.buf[:4]) != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(r.buf[:4])
}

// Uint64 reads a uint64.
func (r *Reader) Uint64() uint64 {
	if r.ReadFull(r.buf[:8]) != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(r.buf[:8])
}

// Float32s reads n values. It reads in chunks, so that a header claiming
// a huge n fails at the end of a short file rather than allocating it.
func (r *Reader) Float32s(n int) []float32 {
	return readChunked(r, n, math.Float32frombits)
}

// Int32s reads n values in chunks, as Float32s.
func (r *Reader) Int32s(n int) []int32 {
	return readChunked(r, n, func(v uint32) int32 { return int32(v) })
}

// readChunked reads n little-endian 32-bit values converted by conv,
// growing its result with the values that are there.
func readChunked[T any](r *Reader, n int, conv func(uint32) T) []T {
	if n < 0 {
		r.fail(fmt.Errorf("%w: %d values", r.f.errFormat(), n))
	}
	if r.err != nil {
		return nil
	}
	out := make([]T, 0, min(n, 1<<20))
	buf := make([]byte, 4*min(n, 1<<14))
	for left := n; left > 0; {
		chunk := buf[:4*min(left, 1<<14)]
		if r.ReadFull(chunk) != nil {
			return nil
		}
		for off := 0; off < len(chunk); off += 4 {
			out = append(out, conv(binary.LittleEndian.Uint32(chunk[off:])))
		}
		left -= len(chunk) / 4
	}
	return out
}

// JSON reads a length (uint32) of at most max bytes and decodes that much
// JSON into v.
func (r *Reader) JSON(max int, v any) error {
	n := r.Uint32()
	if r.err != nil {
		return r.err
	}
	if uint64(n) > uint64(max) {
		return r.fail(fmt.Errorf("%w: JSON header of %d bytes", r.f.errFormat(), n))
	}
	// Read what is there, growing the buffer, rather than allocating the
	// length a short file may claim.
	data, err := io.ReadAll(io.LimitReader(r.tr, int64(n)))
	if err == nil && len(data) < int(n) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return r.fail(r.truncated(err))
	}
	if err := json.Unmarshal(data, v); err != nil {
		return r.fail(fmt.Errorf("%w: JSON header: %v", r.f.errFormat(), err))
	}
	return nil
}

// fail records err unless an error is already recorded, and returns the
// recorded one.
func (r *Reader) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// Finish reads the checksum and compares it with that of the bytes read.
// It returns the number of bytes read, the checksum included.
func (r *Reader) Finish() (int64, error) {
	if r.err != nil {
		return r.cr.N, r.err
	}
	want := r.crc.Sum32()
	if _, err := io.ReadFull(&r.cr, r.buf[:4]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		r.err = fmt.Errorf("%w: checksum missing: %w", r.f.errFormat(), err)
		return r.cr.N, r.err
	}
	if got := binary.LittleEndian.Uint32(r.buf[:4]); got != want {
		r.err = fmt.Errorf("%w: checksum %08x, want %08x", r.f.errFormat(), got, want)
	}
	return r.cr.N, r.err
}
