package sift

import "math"

// winSample is one gradient sample of a descriptor window.
type winSample struct {
	rbin, cbin, ori, mag float32
}

// describe computes kp's descriptor on the Gaussian image img into dst (OpenCV's calcSIFTDescriptor):
// the gradients of a square window around the keypoint, rotated to its
// orientation, weighted by a Gaussian of half the window width, are
// accumulated with trilinear interpolation into 4×4 spatial cells × 8
// orientation bins; the vector is normalized, clipped at 0.2 and
// normalized again.
func (x *Extractor) describe(kp *Keypoint, img *plane, dst []float32) {
	const d, n = descrWidth, descrHistBins
	ori := 360 - float64(kp.Angle)
	if math.Abs(ori-360) < 1.1920929e-07 {
		ori = 0
	}
	x.window(kp, img, ori)

	const hw = (d + 2) * (n + 2) // one row of spatial cells
	if len(x.dhist) < (d+2)*hw {
		x.dhist = make([]float32, (d+2)*hw)
	}
	hist := x.dhist[:(d+2)*hw]
	clear(hist)
	accumulate(hist, x.win, ori)
	// Fold the wrapped orientation bins back and copy the inner cells out.
	for i := range d {
		for j := range d {
			idx := ((i+1)*(d+2) + j + 1) * (n + 2)
			hist[idx] += hist[idx+n]
			hist[idx+1] += hist[idx+n+1]
			copy(dst[(i*d+j)*n:(i*d+j+1)*n], hist[idx:idx+n])
		}
	}
	normalizeClip(dst)
}

// window collects into x.win the gradient samples of the descriptor
// window around kp, rotated by ori degrees: their bin coordinates,
// orientation and Gaussian-weighted magnitude.
func (x *Extractor) window(kp *Keypoint, img *plane, ori float64) {
	const d = descrWidth
	px, py := int(math.RoundToEven(float64(kp.ox))), int(math.RoundToEven(float64(kp.oy)))
	cosT := float32(math.Cos(ori * math.Pi / 180))
	sinT := float32(math.Sin(ori * math.Pi / 180))
	expScale := float32(-1.0 / (d * d * 0.5))
	histWidth := float32(descrSclFactor) * kp.osig
	radius := int(math.RoundToEven(float64(histWidth) * math.Sqrt2 * (d + 1) * 0.5))
	radius = min(radius, int(math.Sqrt(float64(img.w*img.w+img.h*img.h))))
	cosT /= histWidth
	sinT /= histWidth

	win := x.win[:0]
	w := img.w
	// The weight exp((cRot²+rRot²)·expScale) is separable in i and j,
	// since the rotation keeps lengths: g[i]·g[j].
	g := gaussTable(&x.gtab, radius, float64(expScale)/float64(histWidth*histWidth))
	for i := -radius; i <= radius; i++ {
		for j := -radius; j <= radius; j++ {
			cRot := float32(j)*cosT - float32(i)*sinT
			rRot := float32(j)*sinT + float32(i)*cosT
			rbin := rRot + d/2 - 0.5
			cbin := cRot + d/2 - 0.5
			r, c := py+i, px+j
			if rbin > -1 && rbin < d && cbin > -1 && cbin < d && r > 0 && r < img.h-1 && c > 0 && c < w-1 {
				dx := img.pix[r*w+c+1] - img.pix[r*w+c-1]
				dy := img.pix[(r-1)*w+c] - img.pix[(r+1)*w+c]
				wt := g[i+radius] * g[j+radius]
				mag := float32(math.Sqrt(float64(dx*dx + dy*dy)))
				win = append(win, winSample{rbin: rbin, cbin: cbin, ori: fastAtan2(dy, dx), mag: mag * wt})
			}
		}
	}
	x.win = win
}

// accumulate adds the window samples, their orientations taken relative
// to ori degrees, into hist ((d+2)×(d+2) cells of n+2 orientation bins,
// the border ones catching the interpolation's overflow) by trilinear
// interpolation over row, column and orientation.
func accumulate(hist []float32, win []winSample, ori float64) {
	const d, n = descrWidth, descrHistBins
	const hw = (d + 2) * (n + 2)
	binsPerDeg := float32(n) / 360
	for _, s := range win {
		obin := (s.ori - float32(ori)) * binsPerDeg
		r0 := int(math.Floor(float64(s.rbin)))
		c0 := int(math.Floor(float64(s.cbin)))
		o0 := int(math.Floor(float64(obin)))
		rb, cb, ob := s.rbin-float32(r0), s.cbin-float32(c0), obin-float32(o0)
		if o0 < 0 {
			o0 += n
		}
		if o0 >= n {
			o0 -= n
		}
		vR0, vR1 := split(s.mag, rb)
		vRC00, vRC01 := split(vR0, cb)
		vRC10, vRC11 := split(vR1, cb)
		vRCO000, vRCO001 := split(vRC00, ob)
		vRCO010, vRCO011 := split(vRC01, ob)
		vRCO100, vRCO101 := split(vRC10, ob)
		vRCO110, vRCO111 := split(vRC11, ob)
		idx := ((r0+1)*(d+2)+c0+1)*(n+2) + o0
		hist[idx] += vRCO000
		hist[idx+1] += vRCO001
		hist[idx+n+2] += vRCO010
		hist[idx+n+3] += vRCO011
		hist[idx+hw] += vRCO100
		hist[idx+hw+1] += vRCO101
		hist[idx+hw+n+2] += vRCO110
		hist[idx+hw+n+3] += vRCO111
	}
}

// split divides v between two neighbouring bins for a sample at fraction
// t of the way from the first to the second: hi = v·t to the second and
// lo = v−hi to the first, in OpenCV's order of operations.
func split(v, t float32) (lo, hi float32) {
	hi = v * t
	return v - hi, hi
}

// normalizeClip scales v to unit length, clips its values at descrMagThr
// and scales it to unit length again (Lowe §6.1). A zero vector stays
// zero.
func normalizeClip(v []float32) {
	var n2 float64
	for _, a := range v {
		n2 += float64(a) * float64(a)
	}
	thr := float32(math.Sqrt(n2) * descrMagThr)
	n2 = 0
	for i, a := range v {
		a = min(a, thr)
		v[i] = a
		n2 += float64(a) * float64(a)
	}
	if n2 == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(n2))
	for i := range v {
		v[i] *= inv
	}
}

// gaussTable sets *buf to exp(k²·scale) for k in [-radius, radius],
// indexed by k+radius, and returns it.
func gaussTable(buf *[]float32, radius int, scale float64) []float32 {
	n := 2*radius + 1
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	g := (*buf)[:n]
	for k := -radius; k <= radius; k++ {
		g[k+radius] = float32(math.Exp(float64(k*k) * scale))
	}
	return g
}
