package backend

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
)

// withPad returns b with the Pad op emulated by Concatenate, BroadcastInDim,
// Reshape and Slice when b lacks it (or always, if force is set).
//
// GoMLX's gradient of Slice is a Pad, so without it no model that slices a
// trainable tensor can be trained: ONNX Runtime's backend
// (github.com/gomlx/compute-onnx) has no Pad. The wrapper only changes graph
// building; the buffers and executables it hands out are b's, wrapped only
// to report the wrapper as their backend.
func withPad(b compute.Backend, force bool) compute.Backend {
	if !force && b.Capabilities().Operations[compute.OpTypePad] {
		return b
	}
	return &padBackend{Backend: b, force: force}
}

type padBackend struct {
	compute.Backend
	force bool
}

// Unwrap returns the backend being wrapped, for code that needs its
// concrete type (compute-onnx's SaveModel asserts *onnxbackend.Backend).
func (pb *padBackend) Unwrap() compute.Backend { return pb.Backend }

func (pb *padBackend) Capabilities() compute.Capabilities {
	c := pb.Backend.Capabilities()
	ops := make(map[compute.OpType]bool, len(c.Operations)+1)
	maps.Copy(ops, c.Operations)
	c.Operations = ops
	c.Operations[compute.OpTypePad] = true
	return c
}

func (pb *padBackend) Builder(name string) compute.Builder {
	return &padBuilder{Builder: pb.Backend.Builder(name), backend: pb, funcs: map[compute.Function]*padFunction{}}
}

// Buffers are wrapped too: GoMLX ties each tensor to the backend its
// buffer reports, and refuses to mix backends.

func (pb *padBackend) wrapBuffer(buf compute.Buffer) compute.Buffer {
	if buf == nil {
		return nil
	}
	return &padBuffer{Buffer: buf, backend: pb}
}

func (pb *padBackend) BufferFromFlatData(deviceNum compute.DeviceNum, flat any, shape shapes.Shape) (compute.Buffer, error) {
	buf, err := pb.Backend.BufferFromFlatData(deviceNum, flat, shape)
	return pb.wrapBuffer(buf), err
}

func (pb *padBackend) NewSharedBuffer(deviceNum compute.DeviceNum, shape shapes.Shape) (compute.Buffer, any, error) {
	buf, flat, err := pb.Backend.NewSharedBuffer(deviceNum, shape)
	return pb.wrapBuffer(buf), flat, err
}

type padBuffer struct {
	compute.Buffer
	backend *padBackend
}

func (b *padBuffer) Backend() compute.Backend { return b.backend }

func (b *padBuffer) CopyToDevice(deviceNum compute.DeviceNum) (compute.Buffer, error) {
	buf, err := b.Buffer.CopyToDevice(deviceNum)
	return b.backend.wrapBuffer(buf), err
}

type padExecutable struct {
	compute.Executable
	backend *padBackend
}

func (e *padExecutable) Execute(inputs []compute.Buffer, donate []bool, defaultDevice compute.DeviceNum) ([]compute.Buffer, error) {
	in := make([]compute.Buffer, len(inputs))
	for i, buf := range inputs {
		if w, ok := buf.(*padBuffer); ok {
			buf = w.Buffer
		}
		in[i] = buf
	}
	out, err := e.Executable.Execute(in, donate, defaultDevice)
	for i, buf := range out {
		out[i] = e.backend.wrapBuffer(buf)
	}
	return out, err
}

// padBuilder wraps every Function it hands out, so that GoMLX calls the
// emulated Pad, and unwraps Functions passed back to the inner builder.
type padBuilder struct {
	compute.Builder
	backend *padBackend
	funcs   map[compute.Function]*padFunction
}

func (pb *padBuilder) Compile() (compute.Executable, error) {
	e, err := pb.Builder.Compile()
	if err != nil {
		return nil, err
	}
	return &padExecutable{Executable: e, backend: pb.backend}, nil
}

func (pb *padBuilder) wrap(f compute.Function) compute.Function {
	if f == nil {
		return nil
	}
	if w, ok := pb.funcs[f]; ok {
		return w
	}
	w := &padFunction{Function: f, b: pb}
	pb.funcs[f] = w
	return w
}

func (pb *padBuilder) Main() compute.Function { return pb.wrap(pb.Builder.Main()) }

func (pb *padBuilder) NewFunction(name string) (compute.Function, error) {
	f, err := pb.Builder.NewFunction(name)
	if err != nil {
		return nil, err
	}
	return pb.wrap(f), nil
}

type padFunction struct {
	compute.Function
	b *padBuilder
}

func unwrap(f compute.Function) compute.Function {
	if w, ok := f.(*padFunction); ok {
		return w.Function
	}
	return f
}

func (pf *padFunction) Builder() compute.Builder { return pf.b }
func (pf *padFunction) Parent() compute.Function { return pf.b.wrap(pf.Function.Parent()) }

func (pf *padFunction) Closure() (compute.Function, error) {
	f, err := pf.Function.Closure()
	if err != nil {
		return nil, err
	}
	return pf.b.wrap(f), nil
}

func (pf *padFunction) Call(f compute.Function, inputs ...compute.Value) ([]compute.Value, error) {
	return pf.Function.Call(unwrap(f), inputs...)
}

func (pf *padFunction) Sort(comparator compute.Function, axis int, isStable bool, inputs ...compute.Value) ([]compute.Value, error) {
	return pf.Function.Sort(unwrap(comparator), axis, isStable, inputs...)
}

func (pf *padFunction) While(cond, body compute.Function, initialState ...compute.Value) ([]compute.Value, error) {
	return pf.Function.While(unwrap(cond), unwrap(body), initialState...)
}

func (pf *padFunction) If(pred compute.Value, trueBranch, falseBranch compute.Function) ([]compute.Value, error) {
	return pf.Function.If(pred, unwrap(trueBranch), unwrap(falseBranch))
}

// Pad implements XLA's Pad: per axis, Interior fill values between
// elements, then Start before and End after (negative values crop).
func (pf *padFunction) Pad(x, fill compute.Value, axesConfig ...compute.PadAxis) (compute.Value, error) {
	if !pf.b.backend.force {
		v, err := pf.Function.Pad(x, fill, axesConfig...)
		if !errors.Is(err, compute.ErrNotImplemented) {
			return v, err
		}
	}
	shape, err := pf.Shape(x)
	if err != nil {
		return nil, err
	}
	if len(axesConfig) > shape.Rank() {
		return nil, fmt.Errorf("pad: %d axes configured for rank %d", len(axesConfig), shape.Rank())
	}
	for axis, p := range axesConfig {
		if p.Interior < 0 {
			return nil, fmt.Errorf("pad: negative interior padding %d on axis %d", p.Interior, axis)
		}
		if x, err = pf.padInterior(x, fill, axis, p.Interior); err != nil {
			return nil, err
		}
		if x, err = pf.padEdge(x, fill, axis, p.Start, true); err != nil {
			return nil, err
		}
		if x, err = pf.padEdge(x, fill, axis, p.End, false); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// filled returns fill broadcast to shape.
func (pf *padFunction) filled(fill compute.Value, shape shapes.Shape) (compute.Value, error) {
	return pf.BroadcastInDim(fill, shape, nil)
}

// padInterior inserts n fill values between consecutive elements of axis:
// x [..., d, ...] is viewed as [..., d, 1, ...], concatenated with fill
// [..., d, n, ...], flattened to [..., d·(n+1), ...] and cut to
// d + (d-1)·n.
func (pf *padFunction) padInterior(x, fill compute.Value, axis, n int) (compute.Value, error) {
	shape, err := pf.Shape(x)
	if err != nil {
		return nil, err
	}
	d := shape.Dimensions[axis]
	if n == 0 || d <= 1 {
		return x, nil
	}
	dims := shape.Dimensions
	split := slices.Concat(dims[:axis+1], []int{1}, dims[axis+1:])
	xs, err := pf.Reshape(x, split...)
	if err != nil {
		return nil, err
	}
	fillDims := slices.Clone(split)
	fillDims[axis+1] = n
	f, err := pf.filled(fill, shapes.Make(shape.DType, fillDims...))
	if err != nil {
		return nil, err
	}
	y, err := pf.Concatenate(axis+1, xs, f)
	if err != nil {
		return nil, err
	}
	flat := slices.Clone(dims)
	flat[axis] = d * (n + 1)
	if y, err = pf.Reshape(y, flat...); err != nil {
		return nil, err
	}
	return pf.sliceAxis(y, flat, axis, 0, d+(d-1)*n)
}

// padEdge adds n fill values before (start) or after the elements of axis;
// a negative n removes -n elements instead.
func (pf *padFunction) padEdge(x, fill compute.Value, axis, n int, start bool) (compute.Value, error) {
	if n == 0 {
		return x, nil
	}
	shape, err := pf.Shape(x)
	if err != nil {
		return nil, err
	}
	d := shape.Dimensions[axis]
	if n < 0 {
		if -n > d {
			return nil, fmt.Errorf("pad: cropping %d from axis %d of size %d", -n, axis, d)
		}
		if start {
			return pf.sliceAxis(x, shape.Dimensions, axis, -n, d)
		}
		return pf.sliceAxis(x, shape.Dimensions, axis, 0, d+n)
	}
	fillDims := slices.Clone(shape.Dimensions)
	fillDims[axis] = n
	f, err := pf.filled(fill, shapes.Make(shape.DType, fillDims...))
	if err != nil {
		return nil, err
	}
	if start {
		return pf.Concatenate(axis, f, x)
	}
	return pf.Concatenate(axis, x, f)
}

// sliceAxis returns x[..., from:to, ...] along axis; dims is x's shape.
func (pf *padFunction) sliceAxis(x compute.Value, dims []int, axis, from, to int) (compute.Value, error) {
	starts := make([]int, len(dims))
	limits := slices.Clone(dims)
	strides := make([]int, len(dims))
	for i := range strides {
		strides[i] = 1
	}
	starts[axis], limits[axis] = from, to
	return pf.Slice(x, starts, limits, strides)
}
