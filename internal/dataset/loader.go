package dataset

// A Loader turns a split into float32 image batches for the models:
// decoding in parallel, applying the train or eval transform, and taking
// the in-memory fast path for grayscale datasets.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/irgen/irgen/internal/imageproc"
)

// Loader fills batches from one split.
type Loader struct {
	Split     Split
	Transform imageproc.Transform
	Workers   int
	// Report is told about an image that failed to load; the batch slot is
	// then filled with the next image of the split that loads.
	Report func(key string, err error)

	gray *Gray
}

// NewLoader returns a loader over split.
func NewLoader(split Split, t imageproc.Transform, workers int) *Loader {
	l := &Loader{Split: split, Transform: t, Workers: max(workers, 1)}
	l.gray, _ = split.(*Gray)
	return l
}

// Len is the number of images in the split.
func (l *Loader) Len() int { return l.Split.Len() }

// Fill writes the images idx into images (len(idx) × Transform.Len()) and
// their labels into labels (len(idx)). With seed ≥ 0 the train transform
// (random crop and flip) is applied, seeded per image by seed and the
// image's position in the batch; with seed < 0 the eval transform is.
func (l *Loader) Fill(idx []int, seed int64, images []float32, labels []int32) error {
	size := l.Transform.Len()
	if len(images) != len(idx)*size || (labels != nil && len(labels) != len(idx)) {
		return fmt.Errorf("batch: buffers for %d images have %d values and %d labels", len(idx), len(images), len(labels))
	}
	var wg sync.WaitGroup
	errs := make([]error, l.Workers)
	for w := range l.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := w; j < len(idx); j += l.Workers {
				var rng *rand.Rand
				if seed >= 0 {
					rng = rand.New(rand.NewPCG(uint64(seed), uint64(j)))
				}
				i, err := l.fillOne(idx[j], rng, images[j*size:(j+1)*size])
				if err != nil {
					errs[w] = err
					return
				}
				if labels != nil {
					labels[j] = int32(l.Split.Label(i))
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fillOne loads image i, or the next that loads if it is damaged, and
// returns the index used.
func (l *Loader) fillOne(i int, rng *rand.Rand, dst []float32) (int, error) {
	if g := l.gray; g != nil {
		n := g.W * g.H
		return i, imageproc.GrayToFloat(g.Pix[i*n:(i+1)*n], g.W, g.H, l.Transform, rng, dst)
	}
	n := l.Split.Len()
	for try := range min(n, 16) {
		k := (i + try) % n
		img, err := l.Split.Load(k)
		if err == nil {
			if rng != nil {
				err = l.Transform.Train(img, rng, dst)
			} else {
				err = l.Transform.Eval(img, dst)
			}
		}
		if err == nil {
			return k, nil
		}
		if l.Report != nil {
			l.Report(l.Split.Key(k), err)
		}
		if rng == nil {
			return k, fmt.Errorf("batch: %s: %w", l.Split.Key(k), err)
		}
	}
	return i, fmt.Errorf("batch: no loadable image near %s", l.Split.Key(i))
}

// Chunks loads the first n images of the split (eval transform), chunk at
// a time and in order, and calls fn with each chunk: the position lo of
// its first image, its k images (k × Transform.Len(), in a buffer reused
// from call to call). It stops at the first error of loading or of fn,
// or when ctx is done (checked before each chunk).
func (l *Loader) Chunks(ctx context.Context, n, chunk int, fn func(lo, k int, images []float32) error) error {
	idx := make([]int, 0, chunk)
	return l.chunks(ctx, n, chunk, func(lo, hi int) []int {
		idx = idx[:0]
		for i := lo; i < hi; i++ {
			idx = append(idx, i)
		}
		return idx
	}, fn)
}

// Encode loads the images idx of the split (eval transform), chunk at a
// time and in order, passes each chunk of k images to encode and returns
// encode's outputs, one after the other. It calls progress, when not nil,
// with the number of images done after each chunk, and stops at the first
// error or when ctx is done.
func (l *Loader) Encode(ctx context.Context, idx []int, chunk int, encode func(images []float32, k int) ([]float32, error), progress func(done int)) ([]float32, error) {
	out := []float32{}
	err := l.chunks(ctx, len(idx), chunk, func(lo, hi int) []int { return idx[lo:hi] }, func(lo, k int, images []float32) error {
		z, err := encode(images, k)
		if err != nil {
			return err
		}
		if cap(out) == 0 {
			out = make([]float32, 0, len(idx)*(len(z)/max(k, 1)))
		}
		out = append(out, z...)
		if progress != nil {
			progress(lo + k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chunks is Chunks over the n images that at names, positions lo to hi at
// a time.
func (l *Loader) chunks(ctx context.Context, n, chunk int, at func(lo, hi int) []int, fn func(lo, k int, images []float32) error) error {
	size := l.Transform.Len()
	images := make([]float32, min(n, chunk)*size)
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+chunk, n)
		buf := images[:(hi-lo)*size]
		if err := l.Fill(at(lo, hi), -1, buf, nil); err != nil {
			return err
		}
		if err := fn(lo, hi-lo, buf); err != nil {
			return err
		}
	}
	return nil
}
