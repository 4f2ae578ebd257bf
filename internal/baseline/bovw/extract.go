package bovw

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/irgen/irgen/internal/baseline/sift"
	"github.com/irgen/irgen/internal/imageproc"
)

// Gray turns one image tensor x (tf.Size × tf.Size × tf.Channels,
// normalized with tf) back into a gray image with values in [0, 1] (BT.601
// luma for RGB), enlarged up times by bilinear interpolation.
func Gray(tf imageproc.Transform, x []float32, up int) (sift.Image, error) {
	n, ch := tf.Size, tf.Channels
	if len(x) != tf.Len() || n <= 0 || (ch != 1 && ch != 3) {
		return sift.Image{}, fmt.Errorf("bovw: image of %d values for a %d×%d×%d transform", len(x), n, n, ch)
	}
	if up < 1 {
		return sift.Image{}, fmt.Errorf("bovw: upsample factor %d", up)
	}
	mean := func(c int) float32 {
		if c < len(tf.Mean) {
			return tf.Mean[c]
		}
		return 0
	}
	std := func(c int) float32 {
		if c < len(tf.Std) {
			return tf.Std[c]
		}
		return 1
	}
	luma := [3]float32{0.299, 0.587, 0.114}
	g := make([]float32, n*n)
	for i := range g {
		if ch == 1 {
			g[i] = x[i]*std(0) + mean(0)
			continue
		}
		var v float32
		for c := range 3 {
			v += luma[c] * (x[i*3+c]*std(c) + mean(c))
		}
		g[i] = v
	}
	for i, v := range g {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return sift.Image{}, fmt.Errorf("bovw: pixel %d is %v", i, v)
		}
		g[i] = min(max(v, 0), 1)
	}
	img := sift.Image{W: n, H: n, Pix: g}
	if up > 1 {
		img = enlarge(img, up)
	}
	return img, nil
}

// enlarge scales img by the integer factor f by bilinear interpolation
// with pixel centres aligned: output pixel x samples (x+0.5)/f-0.5.
func enlarge(img sift.Image, f int) sift.Image {
	w, h := img.W*f, img.H*f
	out := sift.Image{W: w, H: h, Pix: make([]float32, w*h)}
	type tap struct {
		i0, i1 int
		t      float32
	}
	taps := func(n, sn int) []tap {
		ts := make([]tap, n)
		for d := range ts {
			s := (float64(d)+0.5)/float64(f) - 0.5
			i := int(math.Floor(s))
			t := s - float64(i)
			switch {
			case i < 0:
				i, t = 0, 0
			case i >= sn-1:
				i, t = sn-1, 0
			}
			ts[d] = tap{i, min(i+1, sn-1), float32(t)}
		}
		return ts
	}
	xt, yt := taps(w, img.W), taps(h, img.H)
	for y, ty := range yt {
		r0 := img.Pix[ty.i0*img.W : (ty.i0+1)*img.W]
		r1 := img.Pix[ty.i1*img.W : (ty.i1+1)*img.W]
		row := out.Pix[y*w : (y+1)*w]
		for x, tx := range xt {
			a := r0[tx.i0] + (r0[tx.i1]-r0[tx.i0])*tx.t
			b := r1[tx.i0] + (r1[tx.i1]-r1[tx.i0])*tx.t
			row[x] = a + (b-a)*ty.t
		}
	}
	return out
}

// describer extracts the descriptors of one image under a Config; one per
// goroutine.
type describer struct {
	c  Config
	tf imageproc.Transform
	x  *sift.Extractor
	// DoG and dense descriptor counts, for the report
	dog, dense int
}

func newDescriber(c Config, tf imageproc.Transform) (*describer, error) {
	x, err := sift.New(c.SIFT)
	if err != nil {
		return nil, err
	}
	return &describer{c: c, tf: tf, x: x}, nil
}

// describe returns the descriptors of the image tensor x.
func (d *describer) describe(x []float32) ([]float32, error) {
	img, err := Gray(d.tf, x, d.c.Upsample)
	if err != nil {
		return nil, err
	}
	c := d.c
	if img.W < sift.MinSize || img.H < sift.MinSize {
		return nil, fmt.Errorf("bovw: %d×%d images are too small for SIFT; raise the upsample factor", img.W, img.H)
	}
	var desc []float32
	if c.Detector != DetectorDense {
		if _, desc, err = d.x.Extract(img); err != nil {
			return nil, err
		}
		if c.Detector == DetectorDoG || len(desc)/sift.DescriptorLen >= c.MinKeypoints {
			d.dog += len(desc) / sift.DescriptorLen
			return desc, nil
		}
	}
	u := float64(c.Upsample)
	size := min(c.DenseSize*u, float64(min(img.W, img.H)))
	if _, desc, err = d.x.Dense(img, c.DenseStep*c.Upsample, size); err != nil {
		return nil, err
	}
	d.dense += len(desc) / sift.DescriptorLen
	return desc, nil
}

// Images is a numbered set of images the pipeline reads in batches.
type Images struct {
	// N is the number of images.
	N int
	// Fill writes images idx, normalized with the transform, into dst
	// (len(idx) tensors), as batch.Loader.Fill does with a negative seed.
	Fill func(idx []int, dst []float32) error
}

// Stats counts what extraction produced.
type Stats struct {
	Images      int
	Descriptors int
	// Dense counts the descriptors taken on the dense grid (all of them
	// for DetectorDense; for DetectorAuto those of images with too few
	// keypoints).
	Dense int
	// Empty counts images without any descriptor.
	Empty int
}

// forEach extracts the descriptors of images 0..n-1 of src on workers
// goroutines and calls fn(i, desc) for each, from the goroutine that
// extracted it (fn must be safe for concurrent use). progress, if set, is
// called with the number of images done after each batch.
func forEach(ctx context.Context, c Config, tf imageproc.Transform, src Images, workers int,
	progress func(done int), fn func(w, i int, desc []float32)) (Stats, error) {
	const chunk = 512
	workers = max(workers, 1)
	ds := make([]*describer, workers)
	for w := range ds {
		var err error
		if ds[w], err = newDescriber(c, tf); err != nil {
			return Stats{}, err
		}
	}
	size := tf.Len()
	buf := make([]float32, chunk*size)
	idx := make([]int, 0, chunk)
	var st Stats
	var mu sync.Mutex
	if progress != nil {
		progress(0)
	}
	for lo := 0; lo < src.N; lo += chunk {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hi := min(lo+chunk, src.N)
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		b := buf[:(hi-lo)*size]
		if err := src.Fill(idx, b); err != nil {
			return st, err
		}
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < hi-lo; j += workers {
					desc, err := ds[w].describe(b[j*size : (j+1)*size])
					if err != nil {
						errs[w] = fmt.Errorf("bovw: image %d: %w", lo+j, err)
						return
					}
					fn(w, lo+j, desc)
					if len(desc) == 0 {
						mu.Lock()
						st.Empty++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return st, err
			}
		}
		if progress != nil {
			progress(hi)
		}
	}
	st.Images = src.N
	for _, d := range ds {
		st.Descriptors += d.dog + d.dense
		st.Dense += d.dense
	}
	return st, nil
}
