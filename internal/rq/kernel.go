package rq

// Local distance kernels, tuned for the nearest-codeword scan. Encoding
// keeps its own portable loops, so that an image gets the same ID on every
// CPU; distances, which only scores the prefix-tree baselines' beams, uses
// internal/vec's kernel (AVX2 where the CPU has it).

import "github.com/irgen/irgen/internal/vec"

// dot returns Σ x[i]*y[i]; y must be at least as long as x.
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// sqdist returns Σ (x[i]-y[i])²; y must be at least as long as x.
func sqdist(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0 := x[i] - y[i]
		d1 := x[i+1] - y[i+1]
		d2 := x[i+2] - y[i+2]
		d3 := x[i+3] - y[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - y[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// dot4 returns x·c0, x·c1, x·c2, x·c3 for the four consecutive rows
// c[j*len(x):(j+1)*len(x)]. Each element of x is loaded once for four
// products, and two accumulators per row break the add dependency chains.
// (Indexing beats reslicing here: the reslicing form was 2-3x slower.)
func dot4(x, c []float32) (d0, d1, d2, d3 float32) {
	n := len(x)
	c0 := c[0*n : 1*n]
	c1 := c[1*n : 2*n]
	c2 := c[2*n : 3*n]
	c3 := c[3*n : 4*n]
	var e0, e1, e2, e3 float32
	i := 0
	for ; i+2 <= n; i += 2 {
		xa, xb := x[i], x[i+1]
		d0 += xa * c0[i]
		d1 += xa * c1[i]
		d2 += xa * c2[i]
		d3 += xa * c3[i]
		e0 += xb * c0[i+1]
		e1 += xb * c1[i+1]
		e2 += xb * c2[i+1]
		e3 += xb * c3[i+1]
	}
	if i < n {
		xa := x[i]
		d0 += xa * c0[i]
		d1 += xa * c1[i]
		d2 += xa * c2[i]
		d3 += xa * c3[i]
	}
	return d0 + e0, d1 + e1, d2 + e2, d3 + e3
}

// nearest returns the index of the row of cb (k rows of len(x)) that
// minimizes ||x-c||², and that distance computed as ||x||²-2x·c+||c||²
// (clamped at 0). norms holds ||c||² per row; xnorm is ||x||². Ties go to
// the lowest index.
func nearest(x, cb, norms []float32, xnorm float32) (int, float32) {
	dim := len(x)
	k := len(norms)
	best, bestD := 0, float32(0)
	j := 0
	if k >= 4 {
		cb = cb[:k*dim]
	}
	first := true
	for ; j+4 <= k; j += 4 {
		p0, p1, p2, p3 := dot4(x, cb[j*dim:])
		n := norms[j : j+4 : j+4]
		e0 := n[0] - 2*p0
		e1 := n[1] - 2*p1
		e2 := n[2] - 2*p2
		e3 := n[3] - 2*p3
		if first || e0 < bestD {
			best, bestD, first = j, e0, false
		}
		if e1 < bestD {
			best, bestD = j+1, e1
		}
		if e2 < bestD {
			best, bestD = j+2, e2
		}
		if e3 < bestD {
			best, bestD = j+3, e3
		}
	}
	for ; j < k; j++ {
		e := norms[j] - 2*dot(x, cb[j*dim:])
		if first || e < bestD {
			best, bestD, first = j, e, false
		}
	}
	d := xnorm + bestD
	if d < 0 {
		d = 0
	}
	return best, d
}

// distances writes ||x-c||² for every row c of cb into dst (len(norms)
// values), using the norms of the rows. Results are clamped at 0.
func distances(x, cb, norms, dst []float32, xnorm float32) {
	k := len(norms)
	dst = dst[:k]
	vec.DotBatch(x, cb[:k*len(x)], len(x), dst)
	for j, p := range dst {
		dst[j] = max(xnorm+norms[j]-2*p, 0)
	}
}
