// Package batch turns dataset splits into float32 image batches for the
// models: decoding in parallel, applying the train or eval transform, and
// taking the in-memory fast path for grayscale datasets.
package batch

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/imageproc"
)

// Loader fills batches from one split.
type Loader struct {
	Split     dataset.Split
	Transform imageproc.Transform
	Workers   int
	// Report is told about an image that failed to load; the batch slot is
	// then filled with the next image of the split that loads.
	Report func(key string, err error)

	gray *dataset.Gray
}

// New returns a loader over split.
func New(split dataset.Split, t imageproc.Transform, workers int) *Loader {
	l := &Loader{Split: split, Transform: t, Workers: max(workers, 1)}
	l.gray, _ = split.(*dataset.Gray)
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
