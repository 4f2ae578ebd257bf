package vec

// dotGeneric is the portable inner product: eight independent partial sums
// (so the adds pipeline) over 8-wide windows, then a scalar tail.
func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(x) >= 8 {
		xs, ys := x[:8:8], y[:8:8]
		s0 += xs[0] * ys[0]
		s1 += xs[1] * ys[1]
		s2 += xs[2] * ys[2]
		s3 += xs[3] * ys[3]
		s4 += xs[4] * ys[4]
		s5 += xs[5] * ys[5]
		s6 += xs[6] * ys[6]
		s7 += xs[7] * ys[7]
		x, y = x[8:], y[8:]
	}
	y = y[:len(x)]
	for i, v := range x {
		s0 += v * y[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// squaredL2Generic is the portable squared Euclidean distance, unrolled like
// dotGeneric.
func squaredL2Generic(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(x) >= 8 {
		xs, ys := x[:8:8], y[:8:8]
		d0 := xs[0] - ys[0]
		d1 := xs[1] - ys[1]
		d2 := xs[2] - ys[2]
		d3 := xs[3] - ys[3]
		d4 := xs[4] - ys[4]
		d5 := xs[5] - ys[5]
		d6 := xs[6] - ys[6]
		d7 := xs[7] - ys[7]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		s4 += d4 * d4
		s5 += d5 * d5
		s6 += d6 * d6
		s7 += d7 * d7
		x, y = x[8:], y[8:]
	}
	y = y[:len(x)]
	for i, v := range x {
		d := v - y[i]
		s0 += d * d
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
