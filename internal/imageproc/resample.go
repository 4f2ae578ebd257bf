package imageproc

import (
	"math"
	"sync"
)

// region is a crop of the source in pixel coordinates (pixel i covers
// [i, i+1)). It is resampled to a square output.
type region struct {
	x0, y0, w, h float64
}

// axis holds the filter taps mapping one source axis to one output axis:
// output i reads source pixels lo[i] .. lo[i]+n[i]-1 with weights
// w[i*k : i*k+n[i]].
type axis struct {
	lo, n []int
	w     []float32
	k     int
}

// triangle is the bilinear filter kernel.
func triangle(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// set computes taps for sampling span source pixels starting at start (on a
// source axis of length in) into out output pixels. Like PIL's bilinear
// resize, the kernel is widened by the scale factor when downsampling, so
// large reductions average instead of aliasing.
func (a *axis) set(in int, start, span float64, out int) {
	scale := span / float64(out)
	fscale := math.Max(scale, 1)
	support := fscale // triangle support is 1
	a.k = int(math.Ceil(2*support)) + 1
	a.lo = grow(a.lo, out)
	a.n = grow(a.n, out)
	a.w = grow(a.w, out*a.k)
	for i := range out {
		center := start + (float64(i)+0.5)*scale
		lo := max(int(math.Floor(center-support+0.5)), 0)
		hi := min(int(math.Floor(center+support+0.5)), in)
		hi = min(hi, lo+a.k)
		w := a.w[i*a.k : (i+1)*a.k]
		sum := 0.0
		for j := lo; j < hi; j++ {
			sum += triangle((float64(j) + 0.5 - center) / fscale)
		}
		if sum <= 0 {
			// The sample point is outside the source: use the nearest pixel.
			j := min(max(int(math.Floor(center)), 0), in-1)
			a.lo[i], a.n[i], w[0] = j, 1, 1
			continue
		}
		for j := lo; j < hi; j++ {
			w[j-lo] = float32(triangle((float64(j)+0.5-center)/fscale) / sum)
		}
		a.lo[i], a.n[i] = lo, hi-lo
	}
}

// span returns the range of source pixels the taps touch.
func (a *axis) span(out int) (lo, hi int) {
	lo, hi = a.lo[0], a.lo[0]+a.n[0]
	for i := 1; i < out; i++ {
		lo = min(lo, a.lo[i])
		hi = max(hi, a.lo[i]+a.n[i])
	}
	return lo, hi
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// scratch is the reusable working memory of one resample call.
type scratch struct {
	ax, ay   axis
	row, tmp []float32
	acc      []float32
	gray     graySource // lets GrayToFloat run without allocating
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// norm holds per-channel normalization: out = (v - mean) * inv.
type norm struct {
	mean, inv [3]float32
}

// resample crops reg from src, resizes it to size x size with a separable
// bilinear (triangle) filter, optionally mirrors it horizontally, normalizes
// and writes HWC into dst (len size*size*channels).
func resample(s *scratch, src source, channels int, reg region, size int, flip bool, nm *norm, dst []float32) {
	w, h := src.size()
	s.ax.set(w, reg.x0, reg.w, size)
	s.ay.set(h, reg.y0, reg.h, size)
	x0, x1 := s.ax.span(size)
	y0, y1 := s.ay.span(size)
	c := channels
	rowLen := size * c

	// Horizontal pass: source rows y0..y1 -> tmp rows of size*c values.
	s.row = grow(s.row, (x1-x0)*c)
	s.tmp = grow(s.tmp, (y1-y0)*rowLen)
	for y := y0; y < y1; y++ {
		src.row(y, x0, x1, s.row)
		hpass(&s.ax, s.row, x0, c, s.tmp[(y-y0)*rowLen:(y-y0+1)*rowLen])
	}

	// Vertical pass, then flip and normalize into dst.
	s.acc = grow(s.acc, rowLen)
	acc := s.acc
	for o := range size {
		clear(acc)
		lo, n := s.ay.lo[o], s.ay.n[o]
		ws := s.ay.w[o*s.ay.k : o*s.ay.k+n]
		for k, wt := range ws {
			r := s.tmp[(lo+k-y0)*rowLen : (lo+k-y0+1)*rowLen]
			r = r[:len(acc)]
			for x := range acc {
				acc[x] += wt * r[x]
			}
		}
		out := dst[o*rowLen : (o+1)*rowLen]
		for x := range size {
			dx := x
			if flip {
				dx = size - 1 - x
			}
			for ch := range c {
				out[dx*c+ch] = (acc[x*c+ch] - nm.mean[ch]) * nm.inv[ch]
			}
		}
	}
}

// hpass filters one source row (starting at source column x0) into out.
func hpass(a *axis, row []float32, x0, c int, out []float32) {
	size := len(out) / c
	for i := range size {
		base := a.lo[i] - x0
		ws := a.w[i*a.k : i*a.k+a.n[i]]
		if c == 1 {
			var v float32
			r := row[base : base+len(ws)]
			for k, wt := range ws {
				v += wt * r[k]
			}
			out[i] = v
			continue
		}
		var v0, v1, v2 float32
		r := row[base*3 : (base+len(ws))*3]
		for k, wt := range ws {
			v0 += wt * r[k*3]
			v1 += wt * r[k*3+1]
			v2 += wt * r[k*3+2]
		}
		out[i*3], out[i*3+1], out[i*3+2] = v0, v1, v2
	}
}
