package mrl

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

const (
	embMagic   = "IRGENMRL"
	embVersion = 1
	// maxEmbValues bounds n × dim on read (4 GiB of float32).
	maxEmbValues = 1 << 30
)

var (
	// ErrFormat reports a damaged or foreign embeddings file.
	ErrFormat = errors.New("mrl: not a valid embeddings file")
	// ErrVersion reports an embeddings file written by a newer irgen.
	ErrVersion = errors.New("mrl: unknown embeddings version")
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Embeddings are the MRL embeddings of the gallery, in gallery order.
type Embeddings struct {
	N, Dim int
	// Keys is KeysDigest of the gallery keys the rows belong to, so that a
	// gallery that changed since is detected.
	Keys string
	// Model is the SHA-256 of the weights file that computed them.
	Model string
	Data  []float32 // N × Dim, row-major
}

// Row returns embedding i.
func (e *Embeddings) Row(i int) []float32 { return e.Data[i*e.Dim : (i+1)*e.Dim] }

// KeysDigest is the hex SHA-256 of a list of gallery keys.
func KeysDigest(keys []string) string {
	h := sha256.New()
	var n [8]byte
	for _, k := range keys {
		binary.LittleEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		io.WriteString(h, k)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (e *Embeddings) check() error {
	switch {
	case e.N < 0 || e.Dim <= 0 || e.N > math.MaxUint32 || e.Dim > math.MaxUint32:
		return fmt.Errorf("%w: %d rows of dim %d", ErrFormat, e.N, e.Dim)
	case len(e.Data) != e.N*e.Dim:
		return fmt.Errorf("%w: %d values for %d rows of dim %d", ErrFormat, len(e.Data), e.N, e.Dim)
	case len(e.Keys) > 255 || len(e.Model) > 255:
		return fmt.Errorf("%w: digests longer than 255 bytes", ErrFormat)
	}
	for i, v := range e.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: row %d has a non-finite value", ErrFormat, i/e.Dim)
		}
	}
	return nil
}

// WriteTo writes e: magic, version, N, Dim (uint32), the two digests
// (length-prefixed), the values as little-endian float32, then a CRC-32C
// of everything before it.
func (e *Embeddings) WriteTo(w io.Writer) (int64, error) {
	if err := e.check(); err != nil {
		return 0, err
	}
	crc := crc32.New(crcTable)
	cw := &iox.CountWriter{W: w}
	bw := bufio.NewWriter(io.MultiWriter(cw, crc))
	bw.WriteString(embMagic)
	binary.Write(bw, binary.LittleEndian, [3]uint32{embVersion, uint32(e.N), uint32(e.Dim)})
	for _, s := range []string{e.Keys, e.Model} {
		bw.WriteByte(byte(len(s)))
		bw.WriteString(s)
	}
	binary.Write(bw, binary.LittleEndian, e.Data)
	if err := bw.Flush(); err != nil {
		return cw.N, fmt.Errorf("mrl: write embeddings: %w", err)
	}
	if err := binary.Write(cw, binary.LittleEndian, crc.Sum32()); err != nil {
		return cw.N, fmt.Errorf("mrl: write embeddings: %w", err)
	}
	return cw.N, nil
}

// ReadFrom reads embeddings written by WriteTo, replacing e.
func (e *Embeddings) ReadFrom(r io.Reader) (int64, error) {
	crc := crc32.New(crcTable)
	cr := &iox.CountReader{R: bufio.NewReader(r)}
	tr := io.TeeReader(cr, crc)
	var head [8 + 12]byte
	if _, err := io.ReadFull(tr, head[:]); err != nil {
		return cr.N, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if string(head[:8]) != embMagic {
		return cr.N, fmt.Errorf("%w: bad magic %q", ErrFormat, head[:8])
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != embVersion {
		return cr.N, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, v, embVersion)
	}
	n, dim := int(binary.LittleEndian.Uint32(head[12:])), int(binary.LittleEndian.Uint32(head[16:]))
	if dim == 0 || uint64(n)*uint64(dim) > maxEmbValues {
		return cr.N, fmt.Errorf("%w: %d rows of dim %d", ErrFormat, n, dim)
	}
	var digests [2]string
	for i := range digests {
		var l [1]byte
		if _, err := io.ReadFull(tr, l[:]); err != nil {
			return cr.N, fmt.Errorf("%w: digest: %v", ErrFormat, err)
		}
		s := make([]byte, l[0])
		if _, err := io.ReadFull(tr, s); err != nil {
			return cr.N, fmt.Errorf("%w: digest: %v", ErrFormat, err)
		}
		digests[i] = string(s)
	}
	// Read the values in chunks so that a header claiming a huge size
	// fails at the end of a short file rather than allocating up front.
	data := make([]float32, 0, min(n*dim, 1<<20))
	buf := make([]byte, 1<<16)
	for left := n * dim * 4; left > 0; {
		chunk := buf[:min(left, len(buf))]
		if _, err := io.ReadFull(tr, chunk); err != nil {
			return cr.N, fmt.Errorf("%w: values: %v", ErrFormat, err)
		}
		for off := 0; off < len(chunk); off += 4 {
			data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(chunk[off:])))
		}
		left -= len(chunk)
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(cr, sum[:]); err != nil {
		return cr.N, fmt.Errorf("%w: checksum: %v", ErrFormat, err)
	}
	if binary.LittleEndian.Uint32(sum[:]) != want {
		return cr.N, fmt.Errorf("%w: checksum mismatch", ErrFormat)
	}
	out := Embeddings{N: n, Dim: dim, Keys: digests[0], Model: digests[1], Data: data}
	if err := out.check(); err != nil {
		return cr.N, err
	}
	*e = out
	return cr.N, nil
}
