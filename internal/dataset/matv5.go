package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf16"
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

// matrix parses the body of a miMATRIX element.
func (p *matParser) matrix(buf []byte, depth int) (*matVar, error) {
	if depth > matMaxDepth {
		return nil, fmt.Errorf("%w: arrays nested deeper than %d", ErrFormat, matMaxDepth)
	}
	v := &matVar{}
	if len(buf) == 0 { // empty array, e.g. an unset struct field
		v.dims = []int{0, 0}
		return v, nil
	}
	typ, flags, buf, err := p.element(buf)
	if err != nil {
		return nil, err
	}
	if typ != miUINT32 || len(flags) != 8 {
		return nil, fmt.Errorf("%w: bad array flags", ErrFormat)
	}
	f := p.order.Uint32(flags)
	v.class = int(f & 0xff)
	complex := f&matFlagCmplx != 0

	typ, dims, buf, err := p.element(buf)
	if err != nil {
		return nil, err
	}
	if typ != miINT32 || len(dims) < 8 || len(dims)%4 != 0 {
		return nil, fmt.Errorf("%w: bad array dimensions", ErrFormat)
	}
	n := 1
	for i := 0; i < len(dims); i += 4 {
		d := int32(p.order.Uint32(dims[i:]))
		if d < 0 {
			return nil, fmt.Errorf("%w: negative dimension %d", ErrFormat, d)
		}
		if d != 0 && n > math.MaxInt32/int(d) {
			return nil, fmt.Errorf("%w: array too large", ErrFormat)
		}
		n *= int(d)
		v.dims = append(v.dims, int(d))
	}

	typ, name, buf, err := p.element(buf)
	if err != nil {
		return nil, err
	}
	if typ != miINT8 {
		return nil, fmt.Errorf("%w: bad array name type %d", ErrFormat, typ)
	}
	v.name = string(name)

	switch v.class {
	case mxCELL:
		if n > len(buf)/8 {
			return nil, fmt.Errorf("%w: cell %q of %d elements in %d bytes", ErrFormat, v.name, n, len(buf))
		}
		v.cells = make([]*matVar, n)
		for i := range v.cells {
			if v.cells[i], buf, err = p.child(buf, depth); err != nil {
				return nil, err
			}
		}
	case mxSTRUCT:
		if err := p.structure(v, n, buf, depth); err != nil {
			return nil, err
		}
	case mxCHAR:
		typ, data, _, err := p.element(buf)
		if err != nil {
			return nil, err
		}
		if v.str, err = p.chars(typ, data, v.dims, n); err != nil {
			return nil, fmt.Errorf("%w: char array %q: %w", ErrFormat, v.name, err)
		}
	case mxDOUBLE, mxSINGLE, mxINT8, mxUINT8, mxINT16, mxUINT16, mxINT32, mxUINT32, mxINT64, mxUINT64:
		typ, data, rest, err := p.element(buf)
		if err != nil {
			return nil, err
		}
		if v.num, err = p.numbers(typ, data); err != nil {
			return nil, fmt.Errorf("%w: array %q: %w", ErrFormat, v.name, err)
		}
		if len(v.num) != n {
			return nil, fmt.Errorf("%w: array %q has %d values for %d elements", ErrFormat, v.name, len(v.num), n)
		}
		if complex { // the imaginary part is read for validation only
			if _, _, _, err := p.element(rest); err != nil {
				return nil, err
			}
		}
	default:
		// Sparse, object, function handles...: kept as an opaque array.
	}
	return v, nil
}

// child parses one nested miMATRIX element of a cell or struct.
func (p *matParser) child(buf []byte, depth int) (*matVar, []byte, error) {
	typ, body, rest, err := p.element(buf)
	if err != nil {
		return nil, nil, err
	}
	if typ != miMATRIX {
		return nil, nil, fmt.Errorf("%w: element of type %d inside a cell or struct", ErrFormat, typ)
	}
	v, err := p.matrix(body, depth+1)
	return v, rest, err
}

// structure parses the field names and elements of a struct array.
func (p *matParser) structure(v *matVar, n int, buf []byte, depth int) error {
	typ, lenData, buf, err := p.element(buf)
	if err != nil {
		return err
	}
	if typ != miINT32 || len(lenData) != 4 {
		return fmt.Errorf("%w: struct %q: bad field name length", ErrFormat, v.name)
	}
	fl := int(int32(p.order.Uint32(lenData)))
	typ, names, buf, err := p.element(buf)
	if err != nil {
		return err
	}
	if typ != miINT8 || fl <= 0 || len(names)%fl != 0 {
		return fmt.Errorf("%w: struct %q: bad field names", ErrFormat, v.name)
	}
	for i := 0; i < len(names); i += fl {
		name, _, _ := strings.Cut(string(names[i:i+fl]), "\x00")
		v.fields = append(v.fields, name)
	}
	nf := len(v.fields)
	if nf == 0 {
		return nil // a struct without fields holds no data
	}
	if n > len(buf)/8/nf {
		return fmt.Errorf("%w: struct %q of %d elements in %d bytes", ErrFormat, v.name, n, len(buf))
	}
	v.elems = make([][]*matVar, n)
	for i := range v.elems {
		v.elems[i] = make([]*matVar, nf)
		for f := range nf {
			if v.elems[i][f], buf, err = p.child(buf, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// chars decodes a char array of n elements; rows are joined by "\n".
func (p *matParser) chars(typ uint32, data []byte, dims []int, n int) (string, error) {
	var runes []rune
	switch typ {
	case miUINT16, miUTF16:
		if len(data)%2 != 0 {
			return "", fmt.Errorf("odd utf-16 length %d", len(data))
		}
		u := make([]uint16, len(data)/2)
		for i := range u {
			u[i] = p.order.Uint16(data[2*i:])
		}
		runes = utf16.Decode(u)
	case miUTF8:
		runes = []rune(string(data))
	case miUINT8, miINT8:
		runes = make([]rune, len(data))
		for i, b := range data {
			runes[i] = rune(b) // Latin-1
		}
	default:
		return "", fmt.Errorf("character data of type %d", typ)
	}
	if len(runes) != n {
		return "", fmt.Errorf("%d characters for %d elements", len(runes), n)
	}
	rows := 1
	if len(dims) == 2 && dims[0] > 1 {
		rows = dims[0]
	}
	if rows == 1 {
		return string(runes), nil
	}
	var sb strings.Builder
	cols := n / rows
	for r := range rows {
		if r > 0 {
			sb.WriteByte('\n')
		}
		for c := range cols {
			sb.WriteRune(runes[c*rows+r])
		}
	}
	return sb.String(), nil
}

// numbers converts numeric data of any MAT type to float64.
func (p *matParser) numbers(typ uint32, data []byte) ([]float64, error) {
	var size int
	switch typ {
	case miINT8, miUINT8:
		size = 1
	case miINT16, miUINT16:
		size = 2
	case miINT32, miUINT32, miSINGLE:
		size = 4
	case miDOUBLE, miINT64, miUINT64:
		size = 8
	default:
		return nil, fmt.Errorf("numeric data of type %d", typ)
	}
	if len(data)%size != 0 {
		return nil, fmt.Errorf("%d bytes of %d-byte values", len(data), size)
	}
	out := make([]float64, len(data)/size)
	o := p.order
	for i := range out {
		b := data[i*size:]
		switch typ {
		case miINT8:
			out[i] = float64(int8(b[0]))
		case miUINT8:
			out[i] = float64(b[0])
		case miINT16:
			out[i] = float64(int16(o.Uint16(b)))
		case miUINT16:
			out[i] = float64(o.Uint16(b))
		case miINT32:
			out[i] = float64(int32(o.Uint32(b)))
		case miUINT32:
			out[i] = float64(o.Uint32(b))
		case miSINGLE:
			out[i] = float64(math.Float32frombits(o.Uint32(b)))
		case miDOUBLE:
			out[i] = math.Float64frombits(o.Uint64(b))
		case miINT64:
			out[i] = float64(int64(o.Uint64(b)))
		case miUINT64:
			out[i] = float64(o.Uint64(b))
		}
	}
	return out, nil
}
