// Package ckpt saves and loads the variables of a GoMLX model store, and
// keeps a model on disk as a JSON configuration plus a checkpoint of its
// weights (Files).
//
// The format is a store.Format ("IRGENCKP", version 1): the magic, a
// little-endian uint32 version, a uint32 length and a JSON index of the
// variables (path, dtype, dims, byte offset and size), the raw
// little-endian data, and a CRC-32 (Castagnoli) of everything before it.
// Readers reject unknown versions, truncated files and checksum
// mismatches. Write through an atomic file writer (package store, or
// Files.Save) so that a crash never leaves half a checkpoint.
package ckpt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store"
)

const (
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

var format = store.Format{Magic: "IRGENCKP", Version: 1, ErrFormat: ErrFormat, ErrVersion: ErrVersion}

// Save writes every variable of store whose path passes keep (nil keeps
// all) to w.
func Save(w io.Writer, vars *model.Store, keep func(path string) bool) error {
	var index []entry
	var values []*tensors.Tensor
	var off int64
	for v := range vars.IterVariables() {
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
		values = append(values, t)
		off += size
	}
	fw := format.NewWriter(w)
	if err := fw.JSON(index); err != nil {
		return fmt.Errorf("ckpt: index: %w", err)
	}
	for i, t := range values {
		if err := t.ConstBytes(func(b []byte) { fw.Write(b) }); err != nil {
			return fmt.Errorf("ckpt: read %s: %w", index[i].Path, err)
		}
		if err := fw.Err(); err != nil {
			return fmt.Errorf("ckpt: write %s: %w", index[i].Path, err)
		}
	}
	if _, err := fw.Finish(); err != nil {
		return fmt.Errorf("ckpt: write: %w", err)
	}
	return nil
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

// NewStore returns the variables of a new model: copies of those of from
// under each of prefixes, for a model that starts from another's weights
// (none for a nil from), with the rest to be initialized from seed
// (nn.ParamSeed). It fails if from has no variable under one of the
// prefixes.
func NewStore(seed int64, from *model.Store, prefixes ...string) (*model.Store, error) {
	vars := model.NewStore()
	vars.SetParam(nn.ParamSeed, seed)
	if from == nil {
		return vars, nil
	}
	for _, p := range prefixes {
		n, err := CopyVars(from, vars, p, "")
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("ckpt: the starting model has no variables under %s", p)
		}
	}
	return vars, nil
}

// LoadFile is Load from the file at path; its errors name the file.
func LoadFile(path string, vars *model.Store) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := Load(f, vars); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Load reads a checkpoint from r into vars, creating or replacing each
// variable. Nothing is changed in vars unless the whole file is valid.
func Load(r io.Reader, vars *model.Store) error {
	fr, err := format.NewReader(bufio.NewReader(r))
	if err != nil {
		return err
	}
	var index []entry
	if err := fr.JSON(maxIndex, &index); err != nil {
		return err
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
		t.MutableBytes(func(b []byte) { fr.ReadFull(b) })
		if err := fr.Err(); err != nil {
			return fmt.Errorf("variable %s: %w", e.Path, err)
		}
		values[i] = t
		off += e.Size
	}
	if _, err := fr.Finish(); err != nil {
		return err
	}
	for i, e := range index {
		if v := vars.GetVariable(e.Path); v != nil {
			if !v.Shape().Equal(values[i].Shape()) {
				return fmt.Errorf("ckpt: variable %s is %s in the checkpoint, %s in the model", e.Path, values[i].Shape(), v.Shape())
			}
			if err := v.SetValue(values[i]); err != nil {
				return fmt.Errorf("ckpt: set %s: %w", e.Path, err)
			}
			continue
		}
		v, err := vars.CreateVariable(e.Path, values[i])
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
