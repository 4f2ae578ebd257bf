package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/irgen/irgen/internal/baseline/bovw"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/train"
)

type bovwFlags struct {
	dir       string
	limit     int
	trainOnly bool
	cfg       bovw.Config
}

// define adds the flags, with f's values as defaults.
func (f *bovwFlags) define(fs *flag.FlagSet) {
	c := &f.cfg
	fs.StringVar(&f.dir, "model", "", "model directory (IDs assigned)")
	fs.IntVar(&c.K, "k", c.K, "visual words (seed 002: 200)")
	fs.IntVar(&f.limit, "limit", 10000, "learn the vocabulary from N training images, evenly spaced (0 = all)")
	fs.BoolVar(&f.trainOnly, "train-only", false, "learn the vocabulary only; count the gallery's words with 'irgen embed --method bovw --shard i/N' workers")
	fs.IntVar(&c.Upsample, "upsample", c.Upsample, "enlarge images by this factor before SIFT")
	fs.StringVar(&c.Detector, "detector", c.Detector, "keypoints: dog (difference of Gaussians), dense (grid), auto (dense when dog finds fewer than --min-keypoints)")
	fs.IntVar(&c.MinKeypoints, "min-keypoints", c.MinKeypoints, "fewest DoG keypoints before auto uses the dense grid")
	fs.IntVar(&c.DenseStep, "dense-step", c.DenseStep, "dense grid step in image pixels (before --upsample)")
	fs.Float64Var(&c.DenseSize, "dense-size", c.DenseSize, "dense keypoint size (2σ) in image pixels (before --upsample)")
	fs.StringVar(&c.Weighting, "weighting", c.Weighting, "histogram weighting: tf or tfidf")
	fs.BoolVar(&c.SIFT.Upright, "upright", c.SIFT.Upright, "skip SIFT orientation assignment (images share a pose)")
	fs.BoolVar(&c.SIFT.DoubleImage, "double", c.SIFT.DoubleImage, "let SIFT double the image first (Lowe, OpenCV)")
	fs.Float64Var(&c.SIFT.ContrastThreshold, "contrast", c.SIFT.ContrastThreshold, "SIFT contrast threshold")
	fs.IntVar(&c.TrainDescriptors, "train-descriptors", c.TrainDescriptors, "descriptors sampled for k-means")
	fs.IntVar(&c.KMeansIters, "kmeans-iters", c.KMeansIters, "k-means iterations")
	fs.Func("seed", fmt.Sprintf("random seed (default %d)", c.Seed), func(s string) error {
		_, err := fmt.Sscan(s, &c.Seed)
		return err
	})
}

func trainBoVW(ctx context.Context, args []string) error {
	f := bovwFlags{cfg: bovw.DefaultConfig()}
	fs := newFlags("train-bovw", "--model MODEL [--k 200] [--limit N] [flags]")
	f.define(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: irgen train-bovw --model MODEL [--k 200] [--limit N] [flags]\n\n%s.\n\n", commands["train-bovw"].summary)
		fmt.Fprintf(stderr, "The defaults below are standard SIFT (Lowe, OpenCV). For models of images up to %d pixels\n"+
			"(Fashion-MNIST) the defaults are instead those measured best there: %s.\n\nFlags:\n", bovw.SmallImage, describeConfig(bovw.SmallConfig()))
		fs.PrintDefaults()
	}
	if _, err := parse(fs, args); err != nil {
		return err
	}
	// Small images get other defaults: parse the flags again over them.
	if b, err := openBundle(f.dir, false); err == nil {
		var tf imageproc.Transform
		if b.Config(engine.ConfigTransform, &tf) == nil && tf.Size <= bovw.SmallImage {
			f = bovwFlags{cfg: bovw.SmallConfig()}
			fs2 := flag.NewFlagSet("train-bovw", flag.ContinueOnError)
			fs2.SetOutput(io.Discard)
			f.define(fs2)
			if _, err := parse(fs2, args); err != nil {
				return err
			}
		}
	}
	if err := f.cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.limit < 0 {
		return fmt.Errorf("%w: --limit %d is negative", errUsage, f.limit)
	}
	return runBoVW(ctx, f)
}

// describeConfig summarizes a configuration for messages.
func describeConfig(c bovw.Config) string {
	s := fmt.Sprintf("%d words, %s SIFT", c.K, c.Detector)
	if c.Detector != bovw.DetectorDoG {
		s += fmt.Sprintf(" (grid step %d, size %g)", c.DenseStep, c.DenseSize)
	}
	if c.Upsample > 1 {
		s += fmt.Sprintf(", images enlarged %d×", c.Upsample)
	}
	if c.SIFT.Upright {
		s += ", upright"
	}
	return s + ", " + c.Weighting + " weighting"
}

// bovwData is what BoVW reads of a model: its transform, data set and
// gallery keys (checked against the assigned gallery).
type bovwData struct {
	tf   imageproc.Transform
	ds   *dataset.Dataset
	keys []string
}

func openBoVWData(b *store.Bundle) (*bovwData, error) {
	var d bovwData
	if err := b.Config(engine.ConfigTransform, &d.tf); err != nil {
		return nil, err
	}
	g, err := readGallery(b)
	if err != nil {
		return nil, err
	}
	if d.ds, _, err = reopenData(b); err != nil {
		return nil, err
	}
	n, dir := d.ds.Gallery.Len(), b.Dir()
	if n != g.Len() {
		return nil, fmt.Errorf("the gallery of %s has %d images, its data set %d; rerun 'irgen assign --model %s'", dir, g.Len(), n, dir)
	}
	d.keys = make([]string, n)
	for i := range d.keys {
		d.keys[i] = d.ds.Gallery.Key(i)
		if d.keys[i] != g.Keys[i] {
			return nil, fmt.Errorf("gallery image %d is %q, the data set's %q; rerun 'irgen assign --model %s'", i, g.Keys[i], d.keys[i], dir)
		}
	}
	return &d, nil
}

// images reads split s as BoVW's input.
func (d *bovwData) images(s dataset.Split) bovw.Images {
	l := dataset.NewLoader(s, d.tf, config.Workers())
	return bovw.Images{N: s.Len(), Fill: func(idx []int, dst []float32) error { return l.Fill(idx, -1, dst, nil) }}
}

func runBoVW(ctx context.Context, f bovwFlags) error {
	b, err := loadBundle(f.dir)
	if err != nil {
		return err
	}
	d, err := openBoVWData(b)
	if err != nil {
		return err
	}
	trainSplit := d.ds.Train
	if f.limit > 0 && f.limit < trainSplit.Len() {
		idx := make([]int, f.limit)
		for i := range idx {
			idx[i] = i * trainSplit.Len() / f.limit
		}
		trainSplit = dataset.Sub(trainSplit, idx)
	}
	fmt.Fprintf(stderr, "irgen: bovw: %s; vocabulary from %d training images, %d gallery images\n",
		describeConfig(f.cfg), trainSplit.Len(), d.ds.Gallery.Len())
	o := bovw.BuildOptions{Config: f.cfg, Transform: d.tf, Train: d.images(trainSplit), Gallery: d.images(d.ds.Gallery),
		GalleryKeys: d.keys, Workers: config.Workers(), Log: stderr, Progress: bovwProgress()}
	start := time.Now()
	if f.trainOnly {
		return learnBoVW(ctx, b, o)
	}
	ix, bs, err := bovw.Build(ctx, o)
	if err != nil {
		return err
	}
	if err := writeBoVW(b, bovw.File, ix); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: bovw built in %s (descriptors %s, k-means %s, histograms %s) → %s\n",
		time.Since(start).Round(time.Second), bs.Extract.Round(time.Second), bs.KMeans.Round(time.Second),
		bs.Histogram.Round(time.Second), b.Path(bovw.File))
	return nil
}

// learnBoVW learns the vocabulary only, for split workers to count the
// gallery's words ('irgen embed --method bovw').
func learnBoVW(ctx context.Context, b *store.Bundle, o bovw.BuildOptions) error {
	start := time.Now()
	vocab, _, err := bovw.Learn(ctx, o)
	if err != nil {
		return err
	}
	if err := writeBoVW(b, bovw.VocabFile, bovw.VocabularyIndex(o.Config, vocab)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "irgen: bovw vocabulary learned in %s → %s; count the gallery's words with 'irgen embed --model %s --method bovw --catalog URL --shard i/N' workers\n",
		time.Since(start).Round(time.Second), b.Path(bovw.VocabFile), b.Dir())
	return nil
}

// writeBoVW writes ix as the model's file and records it.
func writeBoVW(b *store.Bundle, file string, ix *bovw.Index) error {
	_, err := writeFresh(b.Dir(), file, func(w io.Writer) error {
		_, err := ix.WriteTo(w)
		return err
	}, nil)
	return err
}

// bovwProgress returns Build's progress callback: a progress line a
// stage.
func bovwProgress() func(stage string, done, total int) {
	var p *train.Progress
	stage := ""
	return func(s string, done, total int) {
		if s != stage {
			stage = s
			p = train.NewProgress(stderr, "bovw "+s, total, 0, "img")
			return
		}
		if done == total {
			p.Done(done, "")
		} else {
			p.Update(done, "")
		}
	}
}

// readGallery reads the model's gallery file.
func readGallery(b *store.Bundle) (*gallery.Gallery, error) {
	data, err := b.ReadFile(gallery.File)
	if err != nil {
		return nil, fmt.Errorf("%s has no IDs yet; run 'irgen assign --model %s' (%w)", b.Dir(), b.Dir(), err)
	}
	var g gallery.Gallery
	if _, err := g.ReadFrom(bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return &g, nil
}
