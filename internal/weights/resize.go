package weights

import (
	"fmt"
	"math"
)

// ResizePos resamples the patch-grid rows of a [1+N, D] position embedding
// to newN patches, keeping the cls row 0 as is. The grid is interpolated
// bilinearly with half-pixel centres, as PyTorch's
// interpolate(mode="bilinear", align_corners=False). Both N and newN must
// be perfect squares (square grids). Asking for the current size returns a
// copy of pos.
func ResizePos(pos Tensor, newN int) (Tensor, error) {
	if len(pos.Shape) != 2 || pos.Shape[0] < 2 || pos.Shape[1] < 1 || len(pos.Data) != pos.Len() {
		return Tensor{}, fmt.Errorf("%w: resize pos: shape %v with %d values, want [1+N, D]", ErrShape, pos.Shape, len(pos.Data))
	}
	n, d := pos.Shape[0]-1, pos.Shape[1]
	g := isqrt(n)
	if g*g != n {
		return Tensor{}, fmt.Errorf("%w: resize pos: %d patches do not form a square grid", ErrShape, n)
	}
	ng := isqrt(newN)
	if newN < 1 || ng*ng != newN {
		return Tensor{}, fmt.Errorf("%w: resize pos: %d patches requested, want a positive perfect square", ErrShape, newN)
	}
	out := Tensor{Shape: []int{1 + newN, d}, Data: make([]float32, (1+newN)*d)}
	if ng == g {
		copy(out.Data, pos.Data)
		return out, nil
	}
	copy(out.Data[:d], pos.Data[:d])
	row := func(y, x int) []float32 { return pos.Data[(1+y*g+x)*d:][:d] }
	scale := float64(g) / float64(ng)
	for y := range ng {
		y0, y1, wy := srcIndex(y, g, scale)
		for x := range ng {
			x0, x1, wx := srcIndex(x, g, scale)
			r00, r01, r10, r11 := row(y0, x0), row(y0, x1), row(y1, x0), row(y1, x1)
			dst := out.Data[(1+y*ng+x)*d:][:d]
			for k := range dst {
				top := (1-wx)*r00[k] + wx*r01[k]
				bot := (1-wx)*r10[k] + wx*r11[k]
				dst[k] = (1-wy)*top + wy*bot
			}
		}
	}
	return out, nil
}

// Resize adapts v to images with newN patches by resampling its position
// embedding (see ResizePos).
func (v *ViT) Resize(newN int) error {
	pos, err := ResizePos(v.Params[ParamPos], newN)
	if err != nil {
		return err
	}
	v.Params[ParamPos] = pos
	v.Arch.NumPatches = newN
	return nil
}

// srcIndex maps output index i to the two neighbouring input indices and
// the weight of the second, PyTorch's area_pixel_compute_source_index.
func srcIndex(i, in int, scale float64) (i0, i1 int, w float32) {
	s := max((float64(i)+0.5)*scale-0.5, 0)
	i0 = min(int(s), in-1)
	i1 = min(i0+1, in-1)
	return i0, i1, float32(s - float64(i0))
}

// isqrt returns floor(sqrt(n)) for n >= 0, and -1 for negative n.
func isqrt(n int) int {
	if n < 0 {
		return -1
	}
	r := int(math.Sqrt(float64(n)))
	for r*r > n {
		r--
	}
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}
