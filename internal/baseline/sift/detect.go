package sift

import (
	"math"
	"sort"
)

// detect finds the scale-space extrema of the pyramid, refines them and
// assigns orientations (OpenCV's findScaleSpaceExtrema), then sorts the
// keypoints and drops duplicates.
func (x *Extractor) detect() []Keypoint {
	py, c := &x.py, x.cfg
	s := py.s
	// OpenCV rounds the preliminary threshold down in 8-bit units.
	thr := float32(math.Floor(0.5*c.ContrastThreshold/float64(s)*255) / 255)
	var kps []Keypoint
	for o := range py.octaves {
		for layer := 1; layer <= s; layer++ {
			idx := o*(s+2) + layer
			prev, cur, next := &py.dog[idx-1], &py.dog[idx], &py.dog[idx+1]
			w, h := cur.w, cur.h
			for r := imgBorder; r < h-imgBorder; r++ {
				cr := cur.row(r)
				for col := imgBorder; col < w-imgBorder; col++ {
					v := cr[col]
					if (v > thr || v < -thr) && isExtremum(prev, cur, next, r, col, v) {
						kps = x.refine(kps, o, layer, r, col)
					}
				}
			}
		}
	}
	sort.Slice(kps, func(i, j int) bool { return lessKeypoint(&kps[i], &kps[j]) })
	out := kps[:0]
	for i := range kps {
		if i > 0 && sameKeypoint(&kps[i], &out[len(out)-1]) {
			continue
		}
		out = append(out, kps[i])
	}
	kps = out
	if c.MaxKeypoints > 0 && len(kps) > c.MaxKeypoints {
		byResp := append([]Keypoint(nil), kps...)
		sort.SliceStable(byResp, func(i, j int) bool { return byResp[i].Response > byResp[j].Response })
		cut := byResp[c.MaxKeypoints-1].Response
		kps = kps[:0]
		for _, k := range byResp {
			if k.Response >= cut {
				kps = append(kps, k)
			}
		}
		sort.Slice(kps, func(i, j int) bool { return lessKeypoint(&kps[i], &kps[j]) })
	}
	return kps
}

// lessKeypoint orders keypoints like OpenCV's KeyPointsFilter.
func lessKeypoint(a, b *Keypoint) bool {
	switch {
	case a.X != b.X:
		return a.X < b.X
	case a.Y != b.Y:
		return a.Y < b.Y
	case a.Size != b.Size:
		return a.Size > b.Size
	case a.Angle != b.Angle:
		return a.Angle < b.Angle
	case a.Response != b.Response:
		return a.Response > b.Response
	}
	return a.Octave > b.Octave
}

func sameKeypoint(a, b *Keypoint) bool {
	return a.X == b.X && a.Y == b.Y && a.Size == b.Size && a.Angle == b.Angle
}

// isExtremum reports whether v = cur(r, c) is at least as large (v > 0)
// or as small (v < 0) as its 26 neighbours in scale space.
func isExtremum(prev, cur, next *plane, r, c int, v float32) bool {
	w := cur.w
	if v > 0 {
		for _, p := range [3]*plane{prev, cur, next} {
			for dy := -1; dy <= 1; dy++ {
				row := p.pix[(r+dy)*w+c-1 : (r+dy)*w+c+2]
				if row[0] > v || row[1] > v || row[2] > v {
					return false
				}
			}
		}
		return true
	}
	for _, p := range [3]*plane{prev, cur, next} {
		for dy := -1; dy <= 1; dy++ {
			row := p.pix[(r+dy)*w+c-1 : (r+dy)*w+c+2]
			if row[0] < v || row[1] < v || row[2] < v {
				return false
			}
		}
	}
	return true
}

// derivs returns the gradient (dx, dy, ds) and Hessian of the DoG at
// (layer, r, c) of octave o by central differences.
func (py *pyramid) derivs(o, layer, r, c int) (g [3]float64, hess [3][3]float64) {
	base := o*(py.s+2) + layer
	img, prev, next := &py.dog[base], &py.dog[base-1], &py.dog[base+1]
	w := img.w
	at := func(p *plane, y, x int) float64 { return float64(p.pix[y*w+x]) }
	v2 := 2 * at(img, r, c)
	g = [3]float64{
		(at(img, r, c+1) - at(img, r, c-1)) * 0.5,
		(at(img, r+1, c) - at(img, r-1, c)) * 0.5,
		(at(next, r, c) - at(prev, r, c)) * 0.5,
	}
	dxx := at(img, r, c+1) + at(img, r, c-1) - v2
	dyy := at(img, r+1, c) + at(img, r-1, c) - v2
	dss := at(next, r, c) + at(prev, r, c) - v2
	dxy := (at(img, r+1, c+1) - at(img, r+1, c-1) - at(img, r-1, c+1) + at(img, r-1, c-1)) * 0.25
	dxs := (at(next, r, c+1) - at(next, r, c-1) - at(prev, r, c+1) + at(prev, r, c-1)) * 0.25
	dys := (at(next, r+1, c) - at(next, r-1, c) - at(prev, r+1, c) + at(prev, r-1, c)) * 0.25
	hess = [3][3]float64{{dxx, dxy, dxs}, {dxy, dyy, dys}, {dxs, dys, dss}}
	return g, hess
}

// solve3 solves h·x = b by Gaussian elimination with partial pivoting; a
// singular system gives x = 0, as OpenCV's Matx::solve does.
func solve3(h [3][3]float64, b [3]float64) [3]float64 {
	a := [3][4]float64{}
	for i := range 3 {
		a[i] = [4]float64{h[i][0], h[i][1], h[i][2], b[i]}
	}
	for col := range 3 {
		p := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		if math.Abs(a[p][col]) < 1e-30 {
			return [3]float64{}
		}
		a[col], a[p] = a[p], a[col]
		for r := col + 1; r < 3; r++ {
			f := a[r][col] / a[col][col]
			for k := col; k < 4; k++ {
				a[r][k] -= f * a[col][k]
			}
		}
	}
	var x [3]float64
	for i := 2; i >= 0; i-- {
		s := a[i][3]
		for k := i + 1; k < 3; k++ {
			s -= a[i][k] * x[k]
		}
		x[i] = s / a[i][i]
	}
	return x
}

// refine interpolates the extremum at (layer, r, c) of octave o to
// sub-pixel and sub-scale accuracy (Lowe §4; OpenCV's
// adjustLocalExtrema), rejects it for low contrast or a strong edge
// response, and appends a keypoint per dominant orientation to kps.
func (x *Extractor) refine(kps []Keypoint, o, layer, r, c int) []Keypoint {
	py, cfg := &x.py, x.cfg
	s := py.s
	img := &py.dog[o*(s+2)+layer]
	var xi, xr, xc float64
	i := 0
	for ; i < maxInterpSteps; i++ {
		g, h := py.derivs(o, layer, r, c)
		X := solve3(h, g)
		xc, xr, xi = -X[0], -X[1], -X[2]
		if math.Abs(xi) < 0.5 && math.Abs(xr) < 0.5 && math.Abs(xc) < 0.5 {
			break
		}
		if math.Abs(xi) > math.MaxInt32/3 || math.Abs(xr) > math.MaxInt32/3 || math.Abs(xc) > math.MaxInt32/3 {
			return kps
		}
		c += int(math.RoundToEven(xc))
		r += int(math.RoundToEven(xr))
		layer += int(math.RoundToEven(xi))
		if layer < 1 || layer > s || c < imgBorder || c >= img.w-imgBorder || r < imgBorder || r >= img.h-imgBorder {
			return kps
		}
		img = &py.dog[o*(s+2)+layer]
	}
	if i >= maxInterpSteps {
		return kps
	}
	g, h := py.derivs(o, layer, r, c)
	t := g[0]*xc + g[1]*xr + g[2]*xi
	contr := float64(img.pix[r*img.w+c]) + t*0.5
	if math.Abs(contr)*float64(s) < cfg.ContrastThreshold {
		return kps
	}
	tr := h[0][0] + h[1][1]
	det := h[0][0]*h[1][1] - h[0][1]*h[0][1]
	e := cfg.EdgeThreshold
	if det <= 0 || tr*tr*e >= (e+1)*(e+1)*det {
		return kps
	}
	unit := float64(int(1) << o) // octave pixel in base-image pixels
	if py.doubled {
		unit *= 0.5
	}
	osig := py.sigma * math.Pow(2, (float64(layer)+xi)/float64(s))
	oct := o
	if py.doubled {
		oct--
	}
	kp := Keypoint{
		X:        float32((float64(c) + xc) * unit),
		Y:        float32((float64(r) + xr) * unit),
		Size:     float32(osig * 2 * unit),
		Response: float32(math.Abs(contr)),
		Octave:   oct,
		oct:      o, layer: layer,
		ox: float32(float64(c) + xc), oy: float32(float64(r) + xr), osig: float32(osig),
	}
	if cfg.Upright {
		return append(kps, kp)
	}
	return x.orientations(kps, kp, c, r, osig)
}

// orientations appends kp once per dominant gradient orientation around
// (c, r) of its Gaussian image: every local peak of the orientation
// histogram within oriPeakRatio of the highest, its angle refined by a
// parabola through the peak and its neighbours.
func (x *Extractor) orientations(kps []Keypoint, kp Keypoint, c, r int, osig float64) []Keypoint {
	gimg := &x.py.gauss[kp.oct*(x.py.s+3)+kp.layer]
	omax := x.orientationHist(gimg, c, r, int(math.RoundToEven(oriRadius*osig)), oriSigFactor*osig)
	hist := x.hist
	thrMag := omax * oriPeakRatio
	n := oriHistBins
	for j := range n {
		l, rr := (j+n-1)%n, (j+1)%n
		if hist[j] > hist[l] && hist[j] > hist[rr] && hist[j] >= thrMag {
			bin := float64(j) + 0.5*float64(hist[l]-hist[rr])/float64(hist[l]-2*hist[j]+hist[rr])
			if bin < 0 {
				bin += float64(n)
			} else if bin >= float64(n) {
				bin -= float64(n)
			}
			k := kp
			k.Angle = float32(360 - 360/float64(n)*bin)
			if math.Abs(float64(k.Angle)-360) < 1.1920929e-07 {
				k.Angle = 0
			}
			kps = append(kps, k)
		}
	}
	return kps
}

// orientationHist fills x.hist with the smoothed 36-bin histogram of
// gradient orientations around (c, r) of img, weighted by magnitude and
// a Gaussian of the given sigma over a square window of the given radius
// (OpenCV's calcOrientationHist), and returns its maximum.
func (x *Extractor) orientationHist(img *plane, c, r, radius int, sigma float64) float32 {
	n := oriHistBins
	if len(x.temp) < n+4 {
		x.temp = make([]float32, n+4)
		x.hist = make([]float32, n)
	}
	temp := x.temp[:n+4] // temp[i+2] is bin i, with two wrap-around bins each side
	clear(temp)
	expScale := -1 / (2 * sigma * sigma)
	w := img.w
	g := gaussTable(&x.gtab, radius, expScale)
	for i := -radius; i <= radius; i++ {
		y := r + i
		if y <= 0 || y >= img.h-1 {
			continue
		}
		for j := -radius; j <= radius; j++ {
			xx := c + j
			if xx <= 0 || xx >= w-1 {
				continue
			}
			dx := img.pix[y*w+xx+1] - img.pix[y*w+xx-1]
			dy := img.pix[(y-1)*w+xx] - img.pix[(y+1)*w+xx]
			wt := g[i+radius] * g[j+radius]
			ori := fastAtan2(dy, dx)
			mag := float32(math.Sqrt(float64(dx*dx + dy*dy)))
			bin := int(math.RoundToEven(float64(float32(n) / 360 * ori)))
			if bin >= n {
				bin -= n
			}
			if bin < 0 {
				bin += n
			}
			temp[bin+2] += wt * mag
		}
	}
	temp[1], temp[0] = temp[n+1], temp[n]
	temp[n+2], temp[n+3] = temp[2], temp[3]
	hist := x.hist
	var m float32
	for i := range n {
		hist[i] = (temp[i]+temp[i+4])*(1.0/16) + (temp[i+1]+temp[i+3])*(4.0/16) + temp[i+2]*(6.0/16)
		m = max(m, hist[i])
	}
	return m
}

// fastAtan2 returns atan2(y, x) in degrees in [0, 360), OpenCV's
// polynomial approximation (error about 0.01°).
func fastAtan2(y, x float32) float32 {
	const (
		eps = 2.220446049250313e-16
		p1  = 0.9997878412794807 * 180 / math.Pi
		p3  = -0.3258083974640975 * 180 / math.Pi
		p5  = 0.1555786518463281 * 180 / math.Pi
		p7  = -0.04432655554792128 * 180 / math.Pi
	)
	ax, ay := float32(math.Abs(float64(x))), float32(math.Abs(float64(y)))
	var a float32
	if ax >= ay {
		c := ay / (ax + eps)
		c2 := c * c
		a = (((p7*c2+p5)*c2+p3)*c2 + p1) * c
	} else {
		c := ax / (ay + eps)
		c2 := c * c
		a = 90 - (((p7*c2+p5)*c2+p3)*c2+p1)*c
	}
	if x < 0 {
		a = 180 - a
	}
	if y < 0 {
		a = 360 - a
	}
	return a
}
