package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
)

// A minimal reader for MATLAB Level 5 MAT-files (MAT v5, also what MATLAB
// v6/v7 write): numeric, char, cell and struct arrays, optionally
// zlib-compressed. Sparse and object arrays are skipped. See "MAT-File
// Format", The MathWorks, 2023.

// MAT data types (miXXX).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16
	miUTF16      = 17
	miUTF32      = 18
)

// MAT array classes (mxXXX_CLASS).
const (
	mxCELL   = 1
	mxSTRUCT = 2
	mxOBJECT = 3
	mxCHAR   = 4
	mxSPARSE = 5
	mxDOUBLE = 6
	mxSINGLE = 7
	mxINT8   = 8
	mxUINT8  = 9
	mxINT16  = 10
	mxUINT16 = 11
	mxINT32  = 12
	mxUINT32 = 13
	mxINT64  = 14
	mxUINT64 = 15
)

const (
	matHeaderLen = 128
	matMaxDepth  = 32
	matFlagCmplx = 0x0800
)

// matVar is one MATLAB array. Data is column-major.
type matVar struct {
	name  string
	class int
	dims  []int
	// num holds the real part of numeric arrays.
	num []float64
	// str holds char arrays; rows of a multi-row array are joined by "\n".
	str string
	// cells holds cell array elements.
	cells []*matVar
	// fields and elems hold struct arrays: elems[i][f] is field fields[f] of
	// element i.
	fields []string
	elems  [][]*matVar
}

// numel returns the number of elements of v.
func (v *matVar) numel() int {
	n := 1
	for _, d := range v.dims {
		n *= d
	}
	return n
}

// field returns field name of struct element i, or nil.
func (v *matVar) field(i int, name string) *matVar {
	if v == nil || v.class != mxSTRUCT || i < 0 || i >= len(v.elems) {
		return nil
	}
	for f, n := range v.fields {
		if n == name {
			return v.elems[i][f]
		}
	}
	return nil
}

// scalar returns the single numeric value of v.
func (v *matVar) scalar() (float64, bool) {
	if v == nil || len(v.num) != 1 {
		return 0, false
	}
	return v.num[0], true
}

// matParser holds the state of one parse.
type matParser struct {
	order    binary.ByteOrder
	maxBytes int64 // bound on each decompressed variable
}

// readMAT reads the variables of a MAT v5 stream of at most maxBytes bytes,
// each decompressed variable also at most maxBytes.
func readMAT(r io.Reader, maxBytes int64) (map[string]*matVar, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrFormat, maxBytes)
	}
	return parseMAT(data, maxBytes)
}

func parseMAT(data []byte, maxBytes int64) (map[string]*matVar, error) {
	if len(data) < matHeaderLen {
		return nil, fmt.Errorf("%w: truncated mat header (%d bytes)", ErrFormat, len(data))
	}
	p := &matParser{maxBytes: maxBytes}
	switch string(data[126:128]) {
	case "IM":
		p.order = binary.LittleEndian
	case "MI":
		p.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: not a mat v5 file (endian indicator %q)", ErrFormat, data[126:128])
	}
	if v := p.order.Uint16(data[124:126]); v != 0x0100 {
		return nil, fmt.Errorf("%w: mat version 0x%04x, want 0x0100 (v7.3 HDF5 files are not supported)", ErrFormat, v)
	}
	vars := map[string]*matVar{}
	if err := p.variables(data[matHeaderLen:], vars, true); err != nil {
		return nil, err
	}
	return vars, nil
}

// variables parses top-level elements into vars.
func (p *matParser) variables(buf []byte, vars map[string]*matVar, top bool) error {
	for len(buf) > 0 {
		typ, body, rest, err := p.element(buf)
		if err != nil {
			return err
		}
		buf = rest
		switch typ {
		case miCOMPRESSED:
			if !top {
				return fmt.Errorf("%w: nested compressed element", ErrFormat)
			}
			inner, err := p.inflate(body)
			if err != nil {
				return err
			}
			if err := p.variables(inner, vars, false); err != nil {
				return err
			}
		case miMATRIX:
			v, err := p.matrix(body, 0)
			if err != nil {
				return err
			}
			vars[v.name] = v
		}
	}
	return nil
}

func (p *matParser) inflate(body []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: compressed element: %w", ErrFormat, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, p.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: compressed element: %w", ErrFormat, err)
	}
	if int64(len(out)) > p.maxBytes {
		return nil, fmt.Errorf("%w: compressed element inflates past %d bytes", ErrFormat, p.maxBytes)
	}
	return out, nil
}

// element splits off the next data element: its type, its data and what
// follows it (after 8-byte alignment padding, which compressed elements lack).
func (p *matParser) element(buf []byte) (typ uint32, body, rest []byte, err error) {
	if len(buf) < 8 {
		return 0, nil, nil, fmt.Errorf("%w: truncated element tag", ErrFormat)
	}
	w := p.order.Uint32(buf)
	if n := w >> 16; n != 0 { // small data element: data packed in the tag
		if n > 4 {
			return 0, nil, nil, fmt.Errorf("%w: small element of %d bytes", ErrFormat, n)
		}
		return w & 0xffff, buf[4 : 4+n], buf[8:], nil
	}
	n := uint64(p.order.Uint32(buf[4:]))
	if n > uint64(len(buf)-8) {
		return 0, nil, nil, fmt.Errorf("%w: truncated element (type %d, %d bytes, %d left)", ErrFormat, w, n, len(buf)-8)
	}
	end := 8 + int(n)
	body = buf[8:end]
	if w != miCOMPRESSED {
		end = min(end+int((8-n%8)%8), len(buf))
	}
	return w, body, buf[end:], nil
}
