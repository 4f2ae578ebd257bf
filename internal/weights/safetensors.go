package weights

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"

	"github.com/nlpodyssey/safetensors"
)

// maxHeaderLen bounds the JSON header of a safetensors file, as the
// reference implementation does.
const maxHeaderLen = 100_000_000

// stFile is an open safetensors file. The header is parsed and validated
// up front; tensor data is read on demand with ReadAt, so tensors that are
// never asked for (a CLIP text tower, say) cost nothing.
type stFile struct {
	r       io.ReaderAt
	dataOff int64 // file offset of the data section
	tensors map[string]*safetensors.TensorInfo
	used    map[string]bool
}

// openST reads and validates the header of a safetensors file of the given
// size: every tensor's byte range must lie inside the data section and
// match its dtype and shape.
func openST(r io.ReaderAt, size int64) (*stFile, error) {
	if size < 8 {
		return nil, fmt.Errorf("%w: file is %d bytes, too short for the 8-byte header length (truncated?)", ErrFormat, size)
	}
	var lenBuf [8]byte
	if err := readFullAt(r, lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("weights: read header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeaderLen {
		return nil, fmt.Errorf("%w: header length %d exceeds the %d-byte limit", ErrFormat, n, maxHeaderLen)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("%w: header length %d exceeds the %d bytes left in the file (truncated?)", ErrFormat, n, size-8)
	}
	header := make([]byte, n)
	if err := readFullAt(r, header, 8); err != nil {
		return nil, fmt.Errorf("weights: read header: %w", err)
	}
	// The library's Metadata decoder checks dtype names, shapes and
	// offsets syntactically; ranges are checked below against the size.
	var md safetensors.Metadata
	if err := json.Unmarshal(header, &md); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	f := &stFile{
		r:       r,
		dataOff: 8 + int64(n),
		tensors: md.Tensors(),
		used:    make(map[string]bool),
	}
	dataLen := uint64(size - f.dataOff)
	for _, name := range f.names() {
		info := f.tensors[name]
		want, err := byteLen(info)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %w", ErrFormat, name, err)
		}
		begin, end := info.DataOffsets[0], info.DataOffsets[1]
		if begin > end || end > dataLen {
			return nil, fmt.Errorf("%w: tensor %q: data offsets [%d, %d] outside the %d-byte data section (truncated?)",
				ErrFormat, name, begin, end, dataLen)
		}
		if end-begin != want {
			return nil, fmt.Errorf("%w: tensor %q: %d bytes of data for %s%v, want %d",
				ErrFormat, name, end-begin, info.DType, info.Shape, want)
		}
	}
	return f, nil
}

// byteLen returns the data size implied by a tensor's dtype and shape,
// refusing sizes that overflow.
func byteLen(info *safetensors.TensorInfo) (uint64, error) {
	n := info.DType.Size()
	for _, d := range info.Shape {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("shape %v overflows", info.Shape)
		}
		n = lo
	}
	return n, nil
}

// names returns the tensor names in sorted order.
func (f *stFile) names() []string {
	names := make([]string, 0, len(f.tensors))
	for name := range f.tensors {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (f *stFile) has(name string) bool {
	_, ok := f.tensors[name]
	return ok
}

// read returns tensor name converted to float32. When want is not nil the
// stored shape must equal it.
func (f *stFile) read(name string, want ...int) (Tensor, error) {
	info, ok := f.tensors[name]
	if !ok {
		return Tensor{}, fmt.Errorf("%w %q", ErrMissing, name)
	}
	f.used[name] = true
	// Sizes were validated against the file size in openST, so they fit
	// in an int.
	shape := make([]int, len(info.Shape))
	for i, d := range info.Shape {
		shape[i] = int(d)
	}
	if want != nil && !slices.Equal(shape, want) {
		return Tensor{}, fmt.Errorf("%w: tensor %q has shape %v, want %v", ErrShape, name, shape, want)
	}
	buf := make([]byte, info.DataOffsets[1]-info.DataOffsets[0])
	if err := readFullAt(f.r, buf, f.dataOff+int64(info.DataOffsets[0])); err != nil {
		return Tensor{}, fmt.Errorf("weights: read tensor %q: %w", name, err)
	}
	data, err := decode(info.DType, buf)
	if err != nil {
		return Tensor{}, fmt.Errorf("%w: tensor %q: %w", ErrUnsupported, name, err)
	}
	return Tensor{Shape: shape, Data: data}, nil
}

// decode converts little-endian tensor bytes to float32.
func decode(dt safetensors.DType, b []byte) ([]float32, error) {
	var out []float32
	switch dt {
	case safetensors.F32:
		out = make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case safetensors.F16:
		out = make([]float32, len(b)/2)
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case safetensors.BF16:
		out = make([]float32, len(b)/2)
		for i := range out {
			out[i] = bf16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case safetensors.F64:
		out = make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	default:
		return nil, fmt.Errorf("dtype %s (want F32, F16, BF16 or F64)", dt)
	}
	return out, nil
}

// readFullAt fills b from offset off, treating a short read as truncation.
func readFullAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: short read at offset %d: got %d of %d bytes (truncated?)", ErrFormat, off, n, len(b))
	}
	return err
}

// f16ToF32 converts an IEEE 754 half-precision value to float32, including
// subnormals, infinities and NaNs.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal: rebias 15 → 127
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	default: // zero or subnormal: mant × 2⁻²⁴, exact in float32
		f := float32(mant) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
}

// bf16ToF32 converts a bfloat16 value (the top half of a float32) to float32.
func bf16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
