package sift

import "math"

// plane is one image of the scale space, row-major.
type plane struct {
	w, h int
	pix  []float32
}

func (p *plane) resize(w, h int) {
	p.w, p.h = w, h
	if cap(p.pix) < w*h {
		p.pix = make([]float32, w*h)
	}
	p.pix = p.pix[:w*h]
}

func (p *plane) row(y int) []float32 { return p.pix[y*p.w : (y+1)*p.w : (y+1)*p.w] }

// pyramid is the Gaussian and difference-of-Gaussians scale space of one
// image. Octave o holds S+3 Gaussian images gauss[o*(S+3)+i], of blur
// σ·2^(i/S) in that octave's pixels, and S+2 DoG images
// dog[o*(S+2)+i] = gauss[i+1] - gauss[i].
type pyramid struct {
	s       int     // octave layers S
	sigma   float64 // σ
	doubled bool
	octaves int
	gauss   []plane
	dog     []plane
	// blur kernels between consecutive images of an octave, and their
	// scratch
	sigmas  []float64
	kernels [][]float32
	tmp     plane
	tmp2    plane // blurTo's full-resolution image
	pad     []float32
	up      plane
}

// build computes the scale space of img (OpenCV's createInitialImage,
// buildGaussianPyramid and buildDoGPyramid).
func (py *pyramid) build(img Image, c Config) {
	if py.s != c.OctaveLayers || py.sigma != c.Sigma {
		py.s, py.sigma = c.OctaveLayers, c.Sigma
		py.kernels = nil
		// sig[i] takes image i-1 of an octave to image i.
		py.sigmas = make([]float64, c.OctaveLayers+3)
		k := math.Pow(2, 1/float64(c.OctaveLayers))
		for i := 1; i < c.OctaveLayers+3; i++ {
			prev := math.Pow(k, float64(i-1)) * c.Sigma
			total := prev * k
			py.sigmas[i] = math.Sqrt(total*total - prev*prev)
		}
		for _, s := range py.sigmas[1:] {
			py.kernels = append(py.kernels, gaussianKernel(s))
		}
	}
	py.doubled = c.DoubleImage
	w, h := img.W, img.H
	src := plane{w: w, h: h, pix: img.Pix}
	var base0 float64
	if c.DoubleImage {
		w, h = 2*w, 2*h
		upsample2(&py.up, src)
		src = py.up
		base0 = math.Sqrt(max(c.Sigma*c.Sigma-4*initSigma*initSigma, 0.01))
	} else {
		base0 = math.Sqrt(max(c.Sigma*c.Sigma-initSigma*initSigma, 0.01))
	}
	// OpenCV's octave count, one more when the input is doubled.
	py.octaves = int(math.RoundToEven(math.Log2(float64(min(w, h))) - 2))
	if c.DoubleImage {
		py.octaves++
	}
	py.octaves = max(py.octaves, 1)
	per := c.OctaveLayers + 3
	n := py.octaves * per
	if len(py.gauss) < n {
		py.gauss = append(py.gauss, make([]plane, n-len(py.gauss))...)
	}
	nd := py.octaves * (per - 1)
	if len(py.dog) < nd {
		py.dog = append(py.dog, make([]plane, nd-len(py.dog))...)
	}
	for o := range py.octaves {
		for i := range per {
			g := &py.gauss[o*per+i]
			switch {
			case o == 0 && i == 0:
				g.resize(w, h)
				py.blur(src, g, gaussianKernel(base0))
			case i == 0:
				// The next octave starts from image S of the last, which
				// has twice the base blur: keep every other pixel.
				prev := &py.gauss[(o-1)*per+c.OctaveLayers]
				downsample2(g, prev)
			default:
				prev := &py.gauss[o*per+i-1]
				g.resize(prev.w, prev.h)
				py.blur(*prev, g, py.kernels[i-1])
			}
		}
		for i := range per - 1 {
			a, b := &py.gauss[o*per+i], &py.gauss[o*per+i+1]
			d := &py.dog[o*(per-1)+i]
			d.resize(a.w, a.h)
			for j, v := range b.pix {
				d.pix[j] = v - a.pix[j]
			}
		}
	}
}

// gaussianKernel returns the half kernel k[0..r] of OpenCV's
// getGaussianKernel for float images: size round(8σ+1) made odd,
// normalized to sum 1.
func gaussianKernel(sigma float64) []float32 {
	size := int(math.RoundToEven(sigma*8+1)) | 1
	r := size / 2
	k := make([]float64, r+1)
	sum := 0.0
	for i := range r + 1 {
		k[i] = math.Exp(-float64(i*i) / (2 * sigma * sigma))
		if i == 0 {
			sum += k[i]
		} else {
			sum += 2 * k[i]
		}
	}
	out := make([]float32, r+1)
	for i := range k {
		out[i] = float32(k[i] / sum)
	}
	return out
}

// reflect101 maps i into [0, n) by mirroring about the end pixels without
// repeating them (OpenCV's BORDER_REFLECT_101: …2 1 | 0 1 2 … n-1 | n-2…).
func reflect101(i, n int) int {
	if n == 1 {
		return 0
	}
	for i < 0 || i >= n {
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*(n-1) - i
		}
	}
	return i
}

// blur convolves src with the symmetric kernel k (rows, then columns, as
// OpenCV's separable filter does) into dst, which has src's size.
func (py *pyramid) blur(src plane, dst *plane, k []float32) {
	w, h, r := src.w, src.h, len(k)-1
	py.tmp.resize(w, h)
	if cap(py.pad) < w+2*r {
		py.pad = make([]float32, w+2*r)
	}
	pad := py.pad[:w+2*r]
	k0 := k[0]
	for y := range h {
		in := src.row(y)
		for i := range pad {
			pad[i] = in[reflect101(i-r, w)]
		}
		out := py.tmp.row(y)
		for x := range out {
			p := pad[x : x+2*r+1 : x+2*r+1]
			s := k0 * p[r]
			for i := 1; i <= r; i++ {
				s += k[i] * (p[r-i] + p[r+i])
			}
			out[x] = s
		}
	}
	for y := range h {
		out := dst.row(y)
		c := py.tmp.row(y)
		for x := range out {
			out[x] = k0 * c[x]
		}
		for i := 1; i <= r; i++ {
			a, b := py.tmp.row(reflect101(y-i, h)), py.tmp.row(reflect101(y+i, h))
			ki := k[i]
			a, b = a[:len(out)], b[:len(out)]
			for x := range out {
				out[x] += ki * (a[x] + b[x])
			}
		}
	}
}

// upsample2 doubles src into dst by bilinear interpolation with pixel
// centres aligned (OpenCV's resize with INTER_LINEAR): dst pixel x samples
// src at (x+0.5)/2-0.5, clamped to the image.
func upsample2(dst *plane, src plane) {
	w, h := 2*src.w, 2*src.h
	dst.resize(w, h)
	type tap struct {
		i0, i1 int
		f      float32
	}
	taps := func(n, sn int) []tap {
		t := make([]tap, n)
		for d := range n {
			f := (float64(d)+0.5)*0.5 - 0.5
			s := int(math.Floor(f))
			f -= float64(s)
			if s < 0 {
				s, f = 0, 0
			}
			if s >= sn-1 {
				s, f = sn-1, 0
			}
			t[d] = tap{s, min(s+1, sn-1), float32(f)}
		}
		return t
	}
	xt, yt := taps(w, src.w), taps(h, src.h)
	for y, ty := range yt {
		r0, r1 := src.row(ty.i0), src.row(ty.i1)
		out := dst.row(y)
		for x, tx := range xt {
			a := r0[tx.i0]*(1-tx.f) + r0[tx.i1]*tx.f
			b := r1[tx.i0]*(1-tx.f) + r1[tx.i1]*tx.f
			out[x] = a*(1-ty.f) + b*ty.f
		}
	}
}

// downsample2 keeps every other pixel of src (OpenCV's INTER_NEAREST
// resize to half size).
func downsample2(dst *plane, src *plane) {
	w, h := max(src.w/2, 1), max(src.h/2, 1)
	dst.resize(w, h)
	for y := range h {
		in, out := src.row(2*y), dst.row(y)
		for x := range out {
			out[x] = in[2*x]
		}
	}
}

// blurTo sets dst to img, doubled if c.DoubleImage, blurred to a total
// blur of sigma input pixels (the input is assumed to have initSigma),
// then, like a pyramid octave, subsampled by the largest power of two
// that leaves a blur of at least c.Sigma pixels: the one Gaussian image
// that dense description at scale sigma needs. It returns the scale
// factor from input to dst pixels.
func (py *pyramid) blurTo(img Image, c Config, sigma float64, dst *plane) float32 {
	src := plane{w: img.W, h: img.H, pix: img.Pix}
	f := 1.0
	if c.DoubleImage {
		upsample2(&py.up, src)
		src, f = py.up, 2
	}
	total := sigma * f
	s := math.Sqrt(max(total*total-initSigma*initSigma*f*f, 0.01))
	step := 1
	for total/float64(2*step) >= c.Sigma && src.w/(2*step) >= 1 && src.h/(2*step) >= 1 {
		step *= 2
	}
	if step == 1 {
		dst.resize(src.w, src.h)
		py.blur(src, dst, gaussianKernel(s))
		return float32(f)
	}
	py.tmp2.resize(src.w, src.h)
	py.blur(src, &py.tmp2, gaussianKernel(s))
	dst.resize(src.w/step, src.h/step)
	for y := range dst.h {
		in, out := py.tmp2.row(y*step), dst.row(y)
		for x := range out {
			out[x] = in[x*step]
		}
	}
	return float32(f / float64(step))
}
