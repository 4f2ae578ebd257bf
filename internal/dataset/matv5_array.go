package dataset

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf16"
)

// matrix parses the body of a miMATRIX element.
func (p *matParser) matrix(buf []byte, depth int) (*matVar, error) {
	if depth > matMaxDepth {
		return nil, fmt.Errorf("%w: arrays nested deeper than %d", ErrFormat, matMaxDepth)
	}
	if len(buf) == 0 { // empty array, e.g. an unset struct field
		return &matVar{dims: []int{0, 0}}, nil
	}
	v, n, complex, buf, err := p.arrayHeader(buf)
	if err != nil {
		return nil, err
	}
	if err := p.arrayData(v, n, complex, buf, depth); err != nil {
		return nil, err
	}
	return v, nil
}

// arrayHeader parses the array flags, dimensions and name that start a
// miMATRIX body. It returns the array without its data, its number of
// elements, whether it is complex, and the data elements that follow.
func (p *matParser) arrayHeader(buf []byte) (v *matVar, n int, complex bool, rest []byte, err error) {
	typ, flags, buf, err := p.element(buf)
	if err != nil {
		return nil, 0, false, nil, err
	}
	if typ != miUINT32 || len(flags) != 8 {
		return nil, 0, false, nil, fmt.Errorf("%w: bad array flags", ErrFormat)
	}
	f := p.order.Uint32(flags)
	v = &matVar{class: int(f & 0xff)}
	complex = f&matFlagCmplx != 0

	typ, dims, buf, err := p.element(buf)
	if err != nil {
		return nil, 0, false, nil, err
	}
	if typ != miINT32 || len(dims) < 8 || len(dims)%4 != 0 {
		return nil, 0, false, nil, fmt.Errorf("%w: bad array dimensions", ErrFormat)
	}
	if v.dims, n, err = p.dimensions(dims); err != nil {
		return nil, 0, false, nil, err
	}

	typ, name, buf, err := p.element(buf)
	if err != nil {
		return nil, 0, false, nil, err
	}
	if typ != miINT8 {
		return nil, 0, false, nil, fmt.Errorf("%w: bad array name type %d", ErrFormat, typ)
	}
	v.name = string(name)
	return v, n, complex, buf, nil
}

// dimensions decodes the int32 dimensions of an array and returns them
// with their product, the number of elements.
func (p *matParser) dimensions(data []byte) (dims []int, n int, err error) {
	n = 1
	for i := 0; i < len(data); i += 4 {
		d := int32(p.order.Uint32(data[i:]))
		if d < 0 {
			return nil, 0, fmt.Errorf("%w: negative dimension %d", ErrFormat, d)
		}
		if d != 0 && n > math.MaxInt32/int(d) {
			return nil, 0, fmt.Errorf("%w: array too large", ErrFormat)
		}
		n *= int(d)
		dims = append(dims, int(d))
	}
	return dims, n, nil
}

// arrayData parses the data elements buf of array v of n elements by its
// class.
func (p *matParser) arrayData(v *matVar, n int, complex bool, buf []byte, depth int) error {
	var err error
	switch v.class {
	case mxCELL:
		if n > len(buf)/8 {
			return fmt.Errorf("%w: cell %q of %d elements in %d bytes", ErrFormat, v.name, n, len(buf))
		}
		v.cells = make([]*matVar, n)
		for i := range v.cells {
			if v.cells[i], buf, err = p.child(buf, depth); err != nil {
				return err
			}
		}
	case mxSTRUCT:
		return p.structure(v, n, buf, depth)
	case mxCHAR:
		typ, data, _, err := p.element(buf)
		if err != nil {
			return err
		}
		if v.str, err = p.chars(typ, data, v.dims, n); err != nil {
			return fmt.Errorf("%w: char array %q: %w", ErrFormat, v.name, err)
		}
	case mxDOUBLE, mxSINGLE, mxINT8, mxUINT8, mxINT16, mxUINT16, mxINT32, mxUINT32, mxINT64, mxUINT64:
		return p.numeric(v, n, complex, buf)
	default:
		// Sparse, object, function handles...: kept as an opaque array.
	}
	return nil
}

// numeric parses the real (and, for a complex array, imaginary) part of
// numeric array v of n elements.
func (p *matParser) numeric(v *matVar, n int, complex bool, buf []byte) error {
	typ, data, rest, err := p.element(buf)
	if err != nil {
		return err
	}
	if v.num, err = p.numbers(typ, data); err != nil {
		return fmt.Errorf("%w: array %q: %w", ErrFormat, v.name, err)
	}
	if len(v.num) != n {
		return fmt.Errorf("%w: array %q has %d values for %d elements", ErrFormat, v.name, len(v.num), n)
	}
	if complex { // the imaginary part is read for validation only
		if _, _, _, err := p.element(rest); err != nil {
			return err
		}
	}
	return nil
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
