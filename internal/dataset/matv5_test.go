package dataset

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// matWriter is a tiny MAT v5 writer for fixtures.
type matWriter struct {
	order    binary.ByteOrder
	compress bool
	// numType is the miXXX type numeric data is stored as (MATLAB stores
	// integer-valued doubles in smaller types); 0 means miDOUBLE.
	numType uint32
	// charType is miUINT16 (default), miUTF8 or miUINT8.
	charType uint32
}

// element encodes a data element, using the small format for <= 4 bytes.
func (w *matWriter) element(typ uint32, data []byte) []byte {
	var b bytes.Buffer
	if len(data) <= 4 && typ != miMATRIX && len(data) > 0 {
		binary.Write(&b, w.order, uint32(len(data))<<16|typ)
		b.Write(data)
		b.Write(make([]byte, 4-len(data)))
		return b.Bytes()
	}
	binary.Write(&b, w.order, typ)
	binary.Write(&b, w.order, uint32(len(data)))
	b.Write(data)
	b.Write(make([]byte, (8-len(data)%8)%8))
	return b.Bytes()
}

func (w *matWriter) ints(typ uint32, v ...int) []byte {
	var b bytes.Buffer
	for _, x := range v {
		binary.Write(&b, w.order, int32(x))
	}
	return w.element(typ, b.Bytes())
}

// matrix encodes v as a miMATRIX element.
func (w *matWriter) matrix(v *matVar) []byte {
	if v == nil {
		return w.element(miMATRIX, nil)
	}
	var b bytes.Buffer
	b.Write(w.ints(miUINT32, v.class, 0))
	b.Write(w.ints(miINT32, v.dims...))
	b.Write(w.element(miINT8, []byte(v.name)))
	switch v.class {
	case mxCELL:
		for _, c := range v.cells {
			b.Write(w.matrix(c))
		}
	case mxSTRUCT:
		fl := 1
		for _, f := range v.fields {
			fl = max(fl, len(f)+1)
		}
		b.Write(w.ints(miINT32, fl))
		names := make([]byte, fl*len(v.fields))
		for i, f := range v.fields {
			copy(names[i*fl:], f)
		}
		b.Write(w.element(miINT8, names))
		for _, e := range v.elems {
			for _, f := range e {
				b.Write(w.matrix(f))
			}
		}
	case mxCHAR:
		var data bytes.Buffer
		switch w.charType {
		case miUTF8, miUINT8:
			data.WriteString(v.str)
		default:
			for _, u := range utf16.Encode([]rune(v.str)) {
				binary.Write(&data, w.order, u)
			}
		}
		typ := w.charType
		if typ == 0 {
			typ = miUINT16
		}
		b.Write(w.element(typ, data.Bytes()))
	default:
		var data bytes.Buffer
		typ := w.numType
		if typ == 0 {
			typ = miDOUBLE
		}
		for _, x := range v.num {
			switch typ {
			case miUINT8:
				data.WriteByte(uint8(x))
			case miINT16:
				binary.Write(&data, w.order, int16(x))
			case miSINGLE:
				binary.Write(&data, w.order, float32(x))
			default:
				binary.Write(&data, w.order, x)
			}
		}
		b.Write(w.element(typ, data.Bytes()))
	}
	return w.element(miMATRIX, b.Bytes())
}

// file encodes a whole MAT file with the given top-level variables.
func (w *matWriter) file(vars ...*matVar) []byte {
	var b bytes.Buffer
	hdr := []byte("MATLAB 5.0 MAT-file, written by the irgen tests")
	hdr = append(hdr, bytes.Repeat([]byte{' '}, 116-len(hdr))...)
	b.Write(hdr)
	b.Write(make([]byte, 8))
	binary.Write(&b, w.order, uint16(0x0100))
	if w.order == binary.ByteOrder(binary.LittleEndian) {
		b.WriteString("IM")
	} else {
		b.WriteString("MI")
	}
	for _, v := range vars {
		m := w.matrix(v)
		if !w.compress {
			b.Write(m)
			continue
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(m)
		zw.Close()
		binary.Write(&b, w.order, uint32(miCOMPRESSED))
		binary.Write(&b, w.order, uint32(z.Len()))
		b.Write(z.Bytes()) // no padding after compressed elements
	}
	return b.Bytes()
}

func charVar(name, s string) *matVar {
	return &matVar{name: name, class: mxCHAR, dims: []int{1, len([]rune(s))}, str: s}
}

func numVar(class int, x ...float64) *matVar {
	return &matVar{class: class, dims: []int{1, len(x)}, num: x}
}

// testVars is a set of variables covering every supported class.
func testVars() []*matVar {
	return []*matVar{
		{name: "x", class: mxDOUBLE, dims: []int{2, 3}, num: []float64{1, 2, 3, 4, 5, 250}},
		{name: "u8", class: mxUINT8, dims: []int{1, 1}, num: []float64{7}},
		charVar("s", "Früh 2012 – ok"),
		charVar("empty", ""),
		{name: "rows", class: mxCHAR, dims: []int{2, 3}, str: "adbecf"}, // column-major "abc","def"
		{name: "c", class: mxCELL, dims: []int{1, 3}, cells: []*matVar{charVar("", "one"), numVar(mxDOUBLE, 2), nil}},
		{name: "st", class: mxSTRUCT, dims: []int{1, 2}, fields: []string{"path", "class", "test"}, elems: [][]*matVar{
			{charVar("", "a/1.jpg"), numVar(mxDOUBLE, 3), numVar(mxUINT8, 0)},
			{charVar("", "b/2.jpg"), numVar(mxDOUBLE, 1), numVar(mxUINT8, 1)},
		}},
	}
}

func TestMATRoundTrip(t *testing.T) {
	writers := map[string]*matWriter{
		"le":             {order: binary.LittleEndian},
		"le compressed":  {order: binary.LittleEndian, compress: true},
		"be":             {order: binary.BigEndian},
		"be compressed":  {order: binary.BigEndian, compress: true, numType: miUINT8},
		"uint8 numbers":  {order: binary.LittleEndian, numType: miUINT8, charType: miUTF8},
		"int16 numbers":  {order: binary.BigEndian, numType: miINT16},
		"single numbers": {order: binary.LittleEndian, numType: miSINGLE, compress: true},
	}
	for name, w := range writers {
		t.Run(name, func(t *testing.T) {
			vars, err := readMAT(bytes.NewReader(w.file(testVars()...)), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if got := vars["x"].num; !cmp.Equal(got, []float64{1, 2, 3, 4, 5, 250}) || !cmp.Equal(vars["x"].dims, []int{2, 3}) {
				t.Errorf("x = %v %v", vars["x"].dims, got)
			}
			if v, ok := vars["u8"].scalar(); !ok || v != 7 {
				t.Errorf("u8 = %v", vars["u8"].num)
			}
			if got := vars["s"].str; got != "Früh 2012 – ok" {
				t.Errorf("s = %q", got)
			}
			if got := vars["empty"].str; got != "" || vars["empty"].class != mxCHAR {
				t.Errorf("empty = %q", got)
			}
			if got := vars["rows"].str; got != "abc\ndef" {
				t.Errorf("rows = %q; want abc\\ndef", got)
			}
			c := vars["c"]
			if len(c.cells) != 3 || c.cells[0].str != "one" || c.cells[1].num[0] != 2 || c.cells[2].numel() != 0 {
				t.Errorf("cell = %+v", c.cells)
			}
			st := vars["st"]
			if st.class != mxSTRUCT || !cmp.Equal(st.fields, []string{"path", "class", "test"}) || len(st.elems) != 2 {
				t.Fatalf("struct = %+v", st)
			}
			if p := st.field(1, "path").str; p != "b/2.jpg" {
				t.Errorf("st(2).path = %q", p)
			}
			if v, _ := st.field(0, "class").scalar(); v != 3 {
				t.Errorf("st(1).class = %v", v)
			}
			if st.field(0, "missing") != nil || st.field(5, "path") != nil {
				t.Error("field of a missing name or element must be nil")
			}
		})
	}
}

func TestMATErrors(t *testing.T) {
	w := &matWriter{order: binary.LittleEndian}
	good := w.file(testVars()...)
	wz := &matWriter{order: binary.LittleEndian, compress: true}
	goodZ := wz.file(testVars()...)
	corruptZ := append([]byte(nil), goodZ...)
	for i := 140; i < 150; i++ {
		corruptZ[i] = 0xff
	}
	v73 := append([]byte(nil), good...)
	v73[124], v73[125] = 0x00, 0x02
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated mat header"},
		{"short header", good[:100], "truncated mat header"},
		{"bad endian", append(append([]byte(nil), good[:126]...), 'X', 'X'), "not a mat v5 file"},
		{"v7.3", v73, "version 0x0200"},
		{"truncated", good[:len(good)-20], "truncated"},
		{"truncated tag", good[:len(good)-len(good)%8-3], "truncated"},
		{"truncated compressed", goodZ[:len(goodZ)-10], "truncated element"},
		{"corrupt compressed", corruptZ, ""},
		{"too large", good, "more than 200 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := int64(1 << 20)
			if tt.name == "too large" {
				max = 200
			}
			_, err := readMAT(bytes.NewReader(tt.data), max)
			checkFormatErr(t, "readMAT", err, tt.want)
		})
	}
}

func TestMATLimits(t *testing.T) {
	w := &matWriter{order: binary.LittleEndian}
	// A cell claiming 2^30 elements in a few bytes must not allocate them.
	big := &matVar{name: "c", class: mxCELL, dims: []int{1 << 15, 1 << 15}}
	if _, err := readMAT(bytes.NewReader(w.file(big)), 1<<20); !errors.Is(err, ErrFormat) {
		t.Errorf("huge cell: error = %v; want ErrFormat", err)
	}
	// A zlib bomb is cut at maxBytes.
	zeros := &matVar{name: "z", class: mxUINT8, dims: []int{1, 1 << 20}, num: make([]float64, 1<<20)}
	wz := &matWriter{order: binary.LittleEndian, compress: true, numType: miUINT8}
	data := wz.file(zeros)
	if _, err := readMAT(bytes.NewReader(data), 1<<16); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "inflates past") {
		t.Errorf("zlib bomb (%d bytes): error = %v; want inflate limit", len(data), err)
	}
	// Nesting is bounded.
	v := charVar("", "leaf")
	for range matMaxDepth + 2 {
		v = &matVar{class: mxCELL, dims: []int{1, 1}, cells: []*matVar{v}}
	}
	v.name = "deep"
	if _, err := readMAT(bytes.NewReader(w.file(v)), 1<<20); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep nesting: error = %v", err)
	}
	if got := (&matVar{dims: []int{3, 4}}).numel(); got != 12 {
		t.Errorf("numel = %d; want 12", got)
	}
	if _, ok := (&matVar{num: []float64{1, 2}}).scalar(); ok {
		t.Error("scalar of two values")
	}
}

func FuzzReadMAT(f *testing.F) {
	for _, w := range []*matWriter{
		{order: binary.LittleEndian},
		{order: binary.BigEndian, compress: true},
		{order: binary.LittleEndian, numType: miUINT8, charType: miUTF8},
	} {
		f.Add(w.file(testVars()...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := readMAT(bytes.NewReader(data), 1<<20)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for _, v := range vars {
			if v.class == mxSTRUCT {
				for i := range v.elems {
					v.field(i, "path")
				}
			}
		}
	})
}
