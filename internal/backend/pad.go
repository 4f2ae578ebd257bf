package backend

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
)

// Pad implements XLA's Pad: per axis, Interior fill values between
// elements, then Start before and End after (negative values crop).
func (pf *wrapFunction) Pad(x, fill compute.Value, axesConfig ...compute.PadAxis) (compute.Value, error) {
	if !pf.b.backend.forcePad {
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
func (pf *wrapFunction) filled(fill compute.Value, shape shapes.Shape) (compute.Value, error) {
	return pf.BroadcastInDim(fill, shape, nil)
}

// padInterior inserts n fill values between consecutive elements of axis:
// x [..., d, ...] is viewed as [..., d, 1, ...], concatenated with fill
// [..., d, n, ...], flattened to [..., d·(n+1), ...] and cut to
// d + (d-1)·n.
func (pf *wrapFunction) padInterior(x, fill compute.Value, axis, n int) (compute.Value, error) {
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
func (pf *wrapFunction) padEdge(x, fill compute.Value, axis, n int, start bool) (compute.Value, error) {
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
func (pf *wrapFunction) sliceAxis(x compute.Value, dims []int, axis, from, to int) (compute.Value, error) {
	starts := make([]int, len(dims))
	limits := slices.Clone(dims)
	strides := make([]int, len(dims))
	for i := range strides {
		strides[i] = 1
	}
	starts[axis], limits[axis] = from, to
	return pf.Slice(x, starts, limits, strides)
}
