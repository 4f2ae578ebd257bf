package mrl

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/vec"
)

// maxEmbValues bounds n × dim on read (4 GiB of float32).
const maxEmbValues = 1 << 30

var (
	// ErrFormat reports a damaged or foreign embeddings file.
	ErrFormat = errors.New("mrl: not a valid embeddings file")
	// ErrVersion reports an embeddings file written by a newer irgen.
	ErrVersion = errors.New("mrl: unknown embeddings version")

	embFormat = store.Format{Magic: "IRGENMRL", Version: 1, ErrFormat: ErrFormat, ErrVersion: ErrVersion}
)

// Embeddings are the MRL embeddings of the gallery, in gallery order.
type Embeddings struct {
	N, Dim int
	// Keys is the digest of the gallery keys the rows belong to
	// (store.KeysDigest, or keysDigestV0 in files written before it), so
	// that a gallery that changed since is detected; see Covers.
	Keys string
	// Model is the SHA-256 of the weights file that computed them.
	Model string
	Data  []float32 // N × Dim, row-major
}

// Row returns embedding i.
func (e *Embeddings) Row(i int) []float32 { return e.Data[i*e.Dim : (i+1)*e.Dim] }

// Covers reports whether the rows are the embeddings of exactly the
// gallery keys. It accepts the digest store.KeysDigest and, for files
// written before it, keysDigestV0.
func (e *Embeddings) Covers(keys []string) bool {
	return e.N == len(keys) && (e.Keys == store.KeysDigest(keys) || e.Keys == keysDigestV0(keys))
}

// keysDigestV0 is the digest of gallery keys that embeddings files written
// before store.KeysDigest hold, kept so that they still load: the hex
// SHA-256 of each key's length (uint64) and bytes.
func keysDigestV0(keys []string) string {
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
	if i := vec.NonFinite(e.Data); i >= 0 {
		return fmt.Errorf("%w: row %d has a non-finite value", ErrFormat, i/e.Dim)
	}
	return nil
}

// WriteTo writes e, a store.Format: magic, version, N, Dim (uint32), the
// two digests (length-prefixed), the values as little-endian float32,
// then a CRC-32C of everything before it.
func (e *Embeddings) WriteTo(w io.Writer) (int64, error) {
	if err := e.check(); err != nil {
		return 0, err
	}
	fw := embFormat.NewWriter(w)
	fw.Uint32(uint32(e.N), uint32(e.Dim))
	for _, s := range []string{e.Keys, e.Model} {
		fw.Write([]byte{byte(len(s))})
		io.WriteString(fw, s)
	}
	fw.Float32s(e.Data)
	n, err := fw.Finish()
	if err != nil {
		return n, fmt.Errorf("mrl: write embeddings: %w", err)
	}
	return n, nil
}

// ReadFrom reads embeddings written by WriteTo, replacing e.
func (e *Embeddings) ReadFrom(r io.Reader) (int64, error) {
	fr, err := embFormat.NewReader(bufio.NewReader(r))
	if err != nil {
		return fr.N(), err
	}
	n, dim := int(fr.Uint32()), int(fr.Uint32())
	if err := fr.Err(); err != nil {
		return fr.N(), err
	}
	if dim == 0 || uint64(n)*uint64(dim) > maxEmbValues {
		return fr.N(), fmt.Errorf("%w: %d rows of dim %d", ErrFormat, n, dim)
	}
	var digests [2]string
	for i := range digests {
		var l [1]byte
		fr.ReadFull(l[:])
		s := make([]byte, l[0])
		fr.ReadFull(s)
		digests[i] = string(s)
	}
	data := fr.Float32s(n * dim)
	if _, err := fr.Finish(); err != nil {
		return fr.N(), err
	}
	out := Embeddings{N: n, Dim: dim, Keys: digests[0], Model: digests[1], Data: data}
	if out.Data == nil {
		out.Data = []float32{}
	}
	if err := out.check(); err != nil {
		return fr.N(), err
	}
	*e = out
	return fr.N(), nil
}
