package backend

import (
	"maps"
	"sync/atomic"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
)

// wrap returns b with graph building rewritten where o says:
//
//   - pad: the Pad op emulated by Concatenate, BroadcastInDim, Reshape and
//     Slice (see wrapFunction.Pad). GoMLX's gradient of Slice is a Pad, so
//     without it no model that slices a trainable tensor can be trained:
//     ONNX Runtime's backend (github.com/gomlx/compute-onnx) has no Pad.
//     With o.forcePad the emulation replaces even a native Pad (tests).
//   - o.rewrite: Transpose and ReduceSum replaced by cheaper ops where they
//     can be, and DotGeneral operands laid out so that the backend has less
//     to transpose, for the pure-Go backend (see rewrite.go).
//   - o.matmul: every DotGeneral built as a matrix product of operands laid
//     out for it, for ONNX Runtime (see matmul.go).
//
// The wrapper only changes graph building; the buffers and executables it
// hands out are b's, wrapped only to report the wrapper as their backend.
// With nothing to rewrite it returns b itself.
func wrap(b compute.Backend, o wrapOptions) compute.Backend {
	pad := o.forcePad || !b.Capabilities().Operations[compute.OpTypePad]
	if !pad && !o.rewrite && !o.matmul {
		return b
	}
	return &wrapBackend{Backend: b, pad: pad, wrapOptions: o}
}

// wrapOptions says what wrap rewrites.
type wrapOptions struct {
	forcePad, rewrite, matmul bool
}

// withPad is wrap for the Pad emulation alone.
func withPad(b compute.Backend, force bool) compute.Backend {
	return wrap(b, wrapOptions{forcePad: force})
}

type wrapBackend struct {
	compute.Backend
	wrapOptions
	pad      bool
	rewrites atomic.Int64 // ops rewritten, for tests
}

// Unwrap returns the backend being wrapped, for code that needs its
// concrete type (compute-onnx's SaveModel asserts *onnxbackend.Backend).
func (pb *wrapBackend) Unwrap() compute.Backend { return pb.Backend }

func (pb *wrapBackend) Capabilities() compute.Capabilities {
	c := pb.Backend.Capabilities()
	ops := make(map[compute.OpType]bool, len(c.Operations)+1)
	maps.Copy(ops, c.Operations)
	c.Operations = ops
	if pb.pad {
		c.Operations[compute.OpTypePad] = true
	}
	return c
}

func (pb *wrapBackend) Builder(name string) compute.Builder {
	return &wrapBuilder{Builder: pb.Backend.Builder(name), backend: pb, funcs: map[compute.Function]*wrapFunction{}, dots: map[compute.Value]dotArgs{}}
}

// Buffers are wrapped too: GoMLX ties each tensor to the backend its
// buffer reports, and refuses to mix backends.

func (pb *wrapBackend) buffer(buf compute.Buffer) compute.Buffer {
	if buf == nil {
		return nil
	}
	return &wrapBuffer{Buffer: buf, backend: pb}
}

func (pb *wrapBackend) BufferFromFlatData(deviceNum compute.DeviceNum, flat any, shape shapes.Shape) (compute.Buffer, error) {
	buf, err := pb.Backend.BufferFromFlatData(deviceNum, flat, shape)
	return pb.buffer(buf), err
}

func (pb *wrapBackend) NewSharedBuffer(deviceNum compute.DeviceNum, shape shapes.Shape) (compute.Buffer, any, error) {
	buf, flat, err := pb.Backend.NewSharedBuffer(deviceNum, shape)
	return pb.buffer(buf), flat, err
}

type wrapBuffer struct {
	compute.Buffer
	backend *wrapBackend
}

func (b *wrapBuffer) Backend() compute.Backend { return b.backend }

func (b *wrapBuffer) CopyToDevice(deviceNum compute.DeviceNum) (compute.Buffer, error) {
	buf, err := b.Buffer.CopyToDevice(deviceNum)
	return b.backend.buffer(buf), err
}

type wrapExecutable struct {
	compute.Executable
	backend *wrapBackend
}

func (e *wrapExecutable) Execute(inputs []compute.Buffer, donate []bool, defaultDevice compute.DeviceNum) ([]compute.Buffer, error) {
	in := make([]compute.Buffer, len(inputs))
	for i, buf := range inputs {
		if w, ok := buf.(*wrapBuffer); ok {
			buf = w.Buffer
		}
		in[i] = buf
	}
	out, err := e.Executable.Execute(in, donate, defaultDevice)
	for i, buf := range out {
		out[i] = e.backend.buffer(buf)
	}
	return out, err
}

// wrapBuilder wraps every Function it hands out, so that GoMLX calls the
// rewritten ops, and unwraps Functions passed back to the inner builder.
type wrapBuilder struct {
	compute.Builder
	backend *wrapBackend
	funcs   map[compute.Function]*wrapFunction
	dots    map[compute.Value]dotArgs
}

func (pb *wrapBuilder) Compile() (compute.Executable, error) {
	e, err := pb.Builder.Compile()
	if err != nil {
		return nil, err
	}
	return &wrapExecutable{Executable: e, backend: pb.backend}, nil
}

func (pb *wrapBuilder) wrap(f compute.Function) compute.Function {
	if f == nil {
		return nil
	}
	if w, ok := pb.funcs[f]; ok {
		return w
	}
	w := &wrapFunction{Function: f, b: pb}
	pb.funcs[f] = w
	return w
}

func (pb *wrapBuilder) Main() compute.Function { return pb.wrap(pb.Builder.Main()) }

func (pb *wrapBuilder) NewFunction(name string) (compute.Function, error) {
	f, err := pb.Builder.NewFunction(name)
	if err != nil {
		return nil, err
	}
	return pb.wrap(f), nil
}

type wrapFunction struct {
	compute.Function
	b         *wrapBuilder
	onesCache map[onesKey]compute.Value // see ones
}

func unwrap(f compute.Function) compute.Function {
	if w, ok := f.(*wrapFunction); ok {
		return w.Function
	}
	return f
}

func (pf *wrapFunction) Builder() compute.Builder { return pf.b }
func (pf *wrapFunction) Parent() compute.Function { return pf.b.wrap(pf.Function.Parent()) }

func (pf *wrapFunction) Closure() (compute.Function, error) {
	f, err := pf.Function.Closure()
	if err != nil {
		return nil, err
	}
	return pf.b.wrap(f), nil
}

func (pf *wrapFunction) Call(f compute.Function, inputs ...compute.Value) ([]compute.Value, error) {
	return pf.Function.Call(unwrap(f), inputs...)
}

func (pf *wrapFunction) Sort(comparator compute.Function, axis int, isStable bool, inputs ...compute.Value) ([]compute.Value, error) {
	return pf.Function.Sort(unwrap(comparator), axis, isStable, inputs...)
}

func (pf *wrapFunction) While(cond, body compute.Function, initialState ...compute.Value) ([]compute.Value, error) {
	return pf.Function.While(unwrap(cond), unwrap(body), initialState...)
}

func (pf *wrapFunction) If(pred compute.Value, trueBranch, falseBranch compute.Function) ([]compute.Value, error) {
	return pf.Function.If(pred, unwrap(trueBranch), unwrap(falseBranch))
}
