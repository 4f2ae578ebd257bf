package bovw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/irgen/irgen/internal/baseline/sift"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/vec"
)

// File is the index's file name inside a model bundle.
const File = "bovw.bin"

// The binary format, a store.Format, little-endian throughout:
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
	maxHeader = 1 << 20
	maxImages = 1 << 31
)

// Errors of reading an index file.
var (
	ErrFormat  = errors.New("bovw: not a valid index file")
	ErrVersion = errors.New("bovw: unknown index file version")
)

var format = store.Format{Magic: "IRGNBOVW", Version: 1, ErrFormat: ErrFormat, ErrVersion: ErrVersion}

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
	fw := format.NewWriter(w)
	if err := fw.JSON(header{Config: ix.Config, K: ix.Vocab.K, Dim: sift.DescriptorLen, Images: ix.Len(), GalleryDigest: ix.GalleryDigest}); err != nil {
		return 0, err
	}
	fw.Float32s(ix.Vocab.Words)
	fw.Float32s(ix.IDF)
	var buf []byte
	for i := range ix.Len() {
		if len(buf) > 1<<16 {
			fw.Write(buf)
			buf = buf[:0]
		}
		lo, hi := ix.Start[i], ix.Start[i+1]
		buf = binary.LittleEndian.AppendUint32(buf, uint32(hi-lo))
		for j := lo; j < hi; j++ {
			buf = binary.LittleEndian.AppendUint32(buf, ix.Word[j])
			buf = binary.LittleEndian.AppendUint32(buf, ix.Count[j])
		}
	}
	fw.Write(buf)
	return fw.Finish()
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
	fr, err := format.NewReader(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return fr.N(), err
	}
	var hdr header
	if err := fr.JSON(maxHeader, &hdr); err != nil {
		return fr.N(), err
	}
	if err := hdr.Config.Validate(); err != nil {
		return fr.N(), fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if hdr.K != hdr.Config.K || hdr.Dim != sift.DescriptorLen || hdr.Images < 0 || hdr.Images >= maxImages {
		return fr.N(), fmt.Errorf("%w: k %d, dim %d, %d images", ErrFormat, hdr.K, hdr.Dim, hdr.Images)
	}
	words := fr.Float32s(hdr.K * hdr.Dim)
	idf := fr.Float32s(hdr.K)
	if err := fr.Err(); err != nil {
		return fr.N(), err
	}
	if vec.NonFinite(words) >= 0 || vec.NonFinite(idf) >= 0 {
		return fr.N(), fmt.Errorf("%w: non-finite value", ErrFormat)
	}
	out := Index{Config: hdr.Config, IDF: idf, GalleryDigest: hdr.GalleryDigest, Start: make([]int, 1, min(hdr.Images, 1<<20)+1)}
	var b []byte
	for range hdr.Images {
		nnz := fr.Uint32()
		if err := fr.Err(); err != nil {
			return fr.N(), err
		}
		if nnz > uint32(hdr.K) {
			return fr.N(), fmt.Errorf("%w: %d words in an image of a %d-word vocabulary", ErrFormat, nnz, hdr.K)
		}
		if cap(b) < 8*int(nnz) {
			b = make([]byte, 8*int(nnz))
		}
		b = b[:8*int(nnz)]
		if err := fr.ReadFull(b); err != nil {
			return fr.N(), err
		}
		for j := range int(nnz) {
			out.Word = append(out.Word, binary.LittleEndian.Uint32(b[8*j:]))
			out.Count = append(out.Count, binary.LittleEndian.Uint32(b[8*j+4:]))
		}
		out.Start = append(out.Start, len(out.Word))
	}
	if _, err := fr.Finish(); err != nil {
		return fr.N(), err
	}
	if out.Vocab, err = NewVocabulary(words); err != nil {
		return fr.N(), fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if err := out.check(); err != nil {
		return fr.N(), err
	}
	*ix = out
	return fr.N(), nil
}
