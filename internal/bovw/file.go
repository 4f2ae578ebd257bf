package bovw

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/irgen/irgen/internal/iox"
	"hash/crc32"
	"io"
	"math"

	"github.com/irgen/irgen/internal/sift"
)

// File is the index's file name inside a model bundle.
const File = "bovw.bin"

// The binary format, little-endian throughout:
//
//	magic    [8]byte "IRGNBOVW"
//	version  uint32  (version)
//	hlen     uint32  length of the JSON header
//	header   JSON    {"config", "k", "dim", "images", "gallery_digest"}
//	words    k × dim float32
//	idf      k float32
//	images × (nnz uint32, then nnz × (word uint32, count uint32))
//	crc      uint32  CRC-32C of everything before it
const (
	magic     = "IRGNBOVW"
	version   = 1
	maxHeader = 1 << 20
	maxImages = 1 << 31
)

// Errors of reading an index file.
var (
	ErrFormat  = errors.New("bovw: not a valid index file")
	ErrVersion = errors.New("bovw: unknown index file version")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type header struct {
	Config        Config `json:"config"`
	K             int    `json:"k"`
	Dim           int    `json:"dim"`
	Images        int    `json:"images"`
	GalleryDigest string `json:"gallery_digest"`
}

// WriteTo writes the index in the binary format above.
func (ix *Index) WriteTo(w io.Writer) (int64, error) {
	if err := ix.check(); err != nil {
		return 0, err
	}
	cw := &iox.CountWriter{W: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(bw, crc)
	hdr, err := json.Marshal(header{Config: ix.Config, K: ix.Vocab.K, Dim: sift.DescriptorLen, Images: ix.Len(), GalleryDigest: ix.GalleryDigest})
	if err != nil {
		return 0, err
	}
	buf := append([]byte(magic), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(buf[8:], version)
	binary.LittleEndian.PutUint32(buf[12:], uint32(len(hdr)))
	buf = append(buf, hdr...)
	buf = appendFloats(buf, ix.Vocab.Words)
	buf = appendFloats(buf, ix.IDF)
	for i := range ix.Len() {
		if len(buf) > 1<<16 {
			out.Write(buf)
			buf = buf[:0]
		}
		lo, hi := ix.Start[i], ix.Start[i+1]
		buf = binary.LittleEndian.AppendUint32(buf, uint32(hi-lo))
		for j := lo; j < hi; j++ {
			buf = binary.LittleEndian.AppendUint32(buf, ix.Word[j])
			buf = binary.LittleEndian.AppendUint32(buf, ix.Count[j])
		}
	}
	out.Write(buf)
	if err := binary.Write(bw, binary.LittleEndian, crc.Sum32()); err != nil {
		return cw.N, err
	}
	err = bw.Flush()
	return cw.N, err
}

func appendFloats(b []byte, v []float32) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// check verifies that the parts of the index agree.
func (ix *Index) check() error {
	if ix.Vocab == nil || ix.Vocab.K != ix.Config.K || len(ix.Vocab.Words) != ix.Vocab.K*sift.DescriptorLen {
		return fmt.Errorf("%w: vocabulary does not match K %d", ErrFormat, ix.Config.K)
	}
	if len(ix.IDF) != ix.Config.K {
		return fmt.Errorf("%w: %d idf values for %d words", ErrFormat, len(ix.IDF), ix.Config.K)
	}
	if len(ix.Start) < 1 || ix.Start[0] != 0 || ix.Start[len(ix.Start)-1] != len(ix.Word) || len(ix.Word) != len(ix.Count) {
		return fmt.Errorf("%w: inconsistent sparse counts", ErrFormat)
	}
	for i := range ix.Len() {
		lo, hi := ix.Start[i], ix.Start[i+1]
		if lo > hi {
			return fmt.Errorf("%w: image %d has negative length", ErrFormat, i)
		}
		for j := lo; j < hi; j++ {
			if int(ix.Word[j]) >= ix.Config.K || (j > lo && ix.Word[j] <= ix.Word[j-1]) || ix.Count[j] == 0 {
				return fmt.Errorf("%w: image %d: word %d count %d out of order or range", ErrFormat, i, ix.Word[j], ix.Count[j])
			}
		}
	}
	return nil
}

// ReadFrom replaces ix with the index read from r, checking its version,
// sizes and checksum.
func (ix *Index) ReadFrom(r io.Reader) (int64, error) {
	cr := &iox.CountReader{R: bufio.NewReaderSize(r, 1<<16)}
	crc := crc32.New(castagnoli)
	d := &decoder{r: io.TeeReader(cr, crc)}
	var hdr header
	head := d.read(16)
	if d.err == nil && string(head[:8]) != magic {
		return cr.N, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if d.err == nil {
		if v := binary.LittleEndian.Uint32(head[8:]); v != version {
			return cr.N, fmt.Errorf("%w: %d (this irgen reads %d)", ErrVersion, v, version)
		}
		n := binary.LittleEndian.Uint32(head[12:])
		if n > maxHeader {
			return cr.N, fmt.Errorf("%w: header of %d bytes", ErrFormat, n)
		}
		if raw := d.read(int(n)); d.err == nil {
			if err := json.Unmarshal(raw, &hdr); err != nil {
				return cr.N, fmt.Errorf("%w: header: %v", ErrFormat, err)
			}
		}
	}
	if d.err != nil {
		return cr.N, d.fail()
	}
	if err := hdr.Config.Validate(); err != nil {
		return cr.N, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if hdr.K != hdr.Config.K || hdr.Dim != sift.DescriptorLen || hdr.Images < 0 || hdr.Images >= maxImages {
		return cr.N, fmt.Errorf("%w: k %d, dim %d, %d images", ErrFormat, hdr.K, hdr.Dim, hdr.Images)
	}
	words := d.floats(hdr.K * hdr.Dim)
	idf := d.floats(hdr.K)
	if d.err != nil {
		return cr.N, d.fail()
	}
	for _, v := range append(append([]float32(nil), words...), idf...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return cr.N, fmt.Errorf("%w: non-finite value", ErrFormat)
		}
	}
	out := Index{Config: hdr.Config, IDF: idf, GalleryDigest: hdr.GalleryDigest, Start: make([]int, 1, min(hdr.Images, 1<<20)+1)}
	for range hdr.Images {
		b := d.read(4)
		if d.err != nil {
			return cr.N, d.fail()
		}
		nnz := binary.LittleEndian.Uint32(b)
		if nnz > uint32(hdr.K) {
			return cr.N, fmt.Errorf("%w: %d words in an image of a %d-word vocabulary", ErrFormat, nnz, hdr.K)
		}
		b = d.read(8 * int(nnz))
		if d.err != nil {
			return cr.N, d.fail()
		}
		for j := range int(nnz) {
			out.Word = append(out.Word, binary.LittleEndian.Uint32(b[8*j:]))
			out.Count = append(out.Count, binary.LittleEndian.Uint32(b[8*j+4:]))
		}
		out.Start = append(out.Start, len(out.Word))
	}
	want := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(cr, tail[:]); err != nil {
		return cr.N, fmt.Errorf("%w: missing checksum: %v", ErrFormat, err)
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != want {
		return cr.N, fmt.Errorf("%w: checksum %08x, want %08x", ErrFormat, got, want)
	}
	var err error
	if out.Vocab, err = NewVocabulary(words); err != nil {
		return cr.N, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if err := out.check(); err != nil {
		return cr.N, err
	}
	*ix = out
	return cr.N, nil
}

type decoder struct {
	r   io.Reader
	err error
	buf []byte
}

func (d *decoder) read(n int) []byte {
	if d.err != nil {
		return nil
	}
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.err = err
		return nil
	}
	return b
}

func (d *decoder) floats(n int) []float32 {
	out := make([]float32, 0, min(n, 1<<20))
	for n > 0 && d.err == nil {
		m := min(n, 1<<14)
		b := d.read(4 * m)
		for i := range m {
			if b == nil {
				break
			}
			out = append(out, math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		n -= m
	}
	return out
}

func (d *decoder) fail() error {
	if errors.Is(d.err, io.EOF) || errors.Is(d.err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated", ErrFormat)
	}
	return d.err
}
