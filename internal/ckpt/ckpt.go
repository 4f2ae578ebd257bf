// Package ckpt saves and loads the variables of a GoMLX model store.
//
// The format is: the magic "IRGENCKP", a little-endian uint32 version, a
// uint32 length and a JSON index of the variables (path, dtype, dims, byte
// offset and size), the raw little-endian data, and a CRC-32 (Castagnoli)
// of everything before it. Readers reject unknown versions, truncated files
// and checksum mismatches. Write through an atomic file writer (package
// store) so that a crash never leaves half a checkpoint.
package ckpt

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

const (
	magic   = "IRGENCKP"
	version = 1
	// maxIndex bounds the JSON index so a corrupt length cannot exhaust memory.
	maxIndex = 64 << 20
)

var (
	// ErrFormat reports a file that is not a checkpoint or is damaged.
	ErrFormat = errors.New("ckpt: not a valid checkpoint")
	// ErrVersion reports a checkpoint written by a newer irgen.
	ErrVersion = errors.New("ckpt: unknown checkpoint version")
)

type entry struct {
	Path   string `json:"path"`
	DType  string `json:"dtype"`
	Dims   []int  `json:"dims"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	// Frozen is set for variables that are not trained (optimizer state).
	Frozen bool `json:"frozen,omitempty"`
}

var table = crc32.MakeTable(crc32.Castagnoli)

// Save writes every variable of store whose path passes keep (nil keeps
// all) to w.
func Save(w io.Writer, store *model.Store, keep func(path string) bool) error {
	var index []entry
	var vars []*tensors.Tensor
	var off int64
	for v := range store.IterVariables() {
		if keep != nil && !keep(v.Path()) {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("ckpt: variable %s: %w", v.Path(), err)
		}
		s := t.Shape()
		size := int64(s.Memory())
		index = append(index, entry{Path: v.Path(), DType: s.DType.String(), Dims: s.Dimensions, Offset: off, Size: size, Frozen: !v.Trainable})
		vars = append(vars, t)
		off += size
	}
	head, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("ckpt: index: %w", err)
	}
	crc := crc32.New(table)
	bw := bufio.NewWriter(io.MultiWriter(w, crc))
	bw.WriteString(magic)
	binary.Write(bw, binary.LittleEndian, uint32(version))
	binary.Write(bw, binary.LittleEndian, uint32(len(head)))
	bw.Write(head)
	for i, t := range vars {
		var werr error
		if err := t.ConstBytes(func(b []byte) { _, werr = bw.Write(b) }); err != nil {
			return fmt.Errorf("ckpt: read %s: %w", index[i].Path, err)
		}
		if werr != nil {
			return fmt.Errorf("ckpt: write %s: %w", index[i].Path, werr)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ckpt: write: %w", err)
	}
	return binary.Write(w, binary.LittleEndian, crc.Sum32())
}

// CopyVars copies every variable of from whose path starts with prefix
// into to, with prepend added before its path, and returns how many.
func CopyVars(from, to *model.Store, prefix, prepend string) (int, error) {
	n := 0
	for v := range from.IterVariables() {
		if !strings.HasPrefix(v.Path(), prefix) {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return n, err
		}
		c, err := t.LocalClone()
		if err != nil {
			return n, err
		}
		if _, err := to.CreateVariable(prepend+v.Path(), c); err != nil {
			return n, fmt.Errorf("ckpt: copy %s: %w", v.Path(), err)
		}
		n++
	}
	return n, nil
}

// LoadFile is Load from the file at path; its errors name the file.
func LoadFile(path string, store *model.Store) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := Load(f, store); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Load reads a checkpoint from r into store, creating or replacing each
// variable. Nothing is changed in store unless the whole file is valid.
func Load(r io.Reader, store *model.Store) error {
	crc := crc32.New(table)
	buffered := bufio.NewReader(r)
	br := io.TeeReader(buffered, crc)
	var hdr [16]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if string(hdr[:8]) != magic {
		return fmt.Errorf("%w: bad magic %q", ErrFormat, hdr[:8])
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != version {
		return fmt.Errorf("%w %d (this build reads %d)", ErrVersion, v, version)
	}
	n := binary.LittleEndian.Uint32(hdr[12:])
	if n > maxIndex {
		return fmt.Errorf("%w: index of %d bytes", ErrFormat, n)
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(br, head); err != nil {
		return fmt.Errorf("%w: index: %v", ErrFormat, err)
	}
	var index []entry
	if err := json.Unmarshal(head, &index); err != nil {
		return fmt.Errorf("%w: index: %v", ErrFormat, err)
	}
	values := make([]*tensors.Tensor, len(index))
	var off int64
	for i, e := range index {
		dt, err := parseDType(e.DType)
		if err != nil {
			return err
		}
		s := shapes.Make(dt, e.Dims...)
		if e.Offset != off || e.Size != int64(s.Memory()) || e.Size < 0 || e.Size > 1<<36 {
			return fmt.Errorf("%w: variable %s: inconsistent size", ErrFormat, e.Path)
		}
		t := tensors.FromShape(s)
		var rerr error
		t.MutableBytes(func(b []byte) { _, rerr = io.ReadFull(br, b) })
		if rerr != nil {
			return fmt.Errorf("%w: variable %s truncated: %v", ErrFormat, e.Path, rerr)
		}
		values[i] = t
		off += e.Size
	}
	want := crc.Sum32()
	var got uint32
	if err := binary.Read(buffered, binary.LittleEndian, &got); err != nil {
		return fmt.Errorf("%w: checksum missing: %v", ErrFormat, err)
	}
	if got != want {
		return fmt.Errorf("%w: checksum mismatch", ErrFormat)
	}
	for i, e := range index {
		if v := store.GetVariable(e.Path); v != nil {
			if !v.Shape().Equal(values[i].Shape()) {
				return fmt.Errorf("ckpt: variable %s is %s in the checkpoint, %s in the model", e.Path, values[i].Shape(), v.Shape())
			}
			if err := v.SetValue(values[i]); err != nil {
				return fmt.Errorf("ckpt: set %s: %w", e.Path, err)
			}
			continue
		}
		v, err := store.CreateVariable(e.Path, values[i])
		if err != nil {
			return fmt.Errorf("ckpt: create %s: %w", e.Path, err)
		}
		v.SetTrainable(!e.Frozen)
	}
	return nil
}

func parseDType(s string) (dtypes.DType, error) {
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64, dtypes.Int32, dtypes.Int64, dtypes.Float16, dtypes.BFloat16, dtypes.Uint8} {
		if dt.String() == s {
			return dt, nil
		}
	}
	return 0, fmt.Errorf("%w: unsupported dtype %q", ErrFormat, s)
}
