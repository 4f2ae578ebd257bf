package bovw

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/eval"
	"github.com/irgen/irgen/internal/imageproc"
)

// The experiment that chose DefaultConfig: BoVW variants on a
// Fashion-MNIST subset, opt-in because it takes minutes:
//
//	go test ./internal/bovw -run Fashion -fashion 10000 -fashion-queries 1000 -v
var (
	fashionGallery = flag.Int("fashion", 0, "run the Fashion-MNIST experiment with this many gallery images")
	fashionQueries = flag.Int("fashion-queries", 1000, "queries of the Fashion-MNIST experiment")
	fashionOnly    = flag.String("fashion-variant", "", "run only the variants whose names contain this")
	fashionSample  = flag.Int("fashion-sample", 100_000, "descriptors k-means clusters in the Fashion-MNIST experiment")
)

func TestFashionVariants(t *testing.T) {
	if *fashionGallery <= 0 {
		t.Skip("opt-in: -fashion N")
	}
	ds, err := dataset.Open(dataset.FashionMNIST, dataset.Options{Limits: imageproc.DefaultLimits()})
	if err != nil {
		t.Skip(err)
	}
	tf := imageproc.DefaultTransform(28, 1)
	gal := dataset.Limit(ds.Gallery, *fashionGallery)
	qs := dataset.Limit(ds.Query, *fashionQueries)
	images := func(s dataset.Split) Images {
		l := dataset.NewLoader(s, tf, 2)
		return Images{N: s.Len(), Fill: func(idx []int, dst []float32) error { return l.Fill(idx, -1, dst, nil) }}
	}
	keys := make([]string, gal.Len())
	perClass := map[int]int{}
	for i := range keys {
		keys[i] = gal.Key(i)
		perClass[gal.Label(i)]++
	}
	def := DefaultConfig()
	type variant struct {
		name string
		edit func(c *Config)
	}
	variants := []variant{
		{"default", func(c *Config) {}},
		{"small", func(c *Config) { *c = SmallConfig() }},
		{"opencv-dog-x1", func(c *Config) {
			c.Upsample, c.Detector, c.SIFT.DoubleImage, c.SIFT.Upright = 1, DetectorDoG, true, false
		}},
		{"dog-x4-oriented", func(c *Config) { c.Upsample, c.Detector, c.SIFT.DoubleImage = 4, DetectorDoG, false }},
		{"dog-x4-upright", func(c *Config) {
			c.Upsample, c.Detector, c.SIFT.DoubleImage, c.SIFT.Upright = 4, DetectorDoG, false, true
		}},
		{"auto-x4-upright", func(c *Config) {
			*c = SmallConfig()
			c.Upsample, c.Detector = 4, DetectorAuto
		}},
		{"dense-x4", func(c *Config) { *c = SmallConfig(); c.Upsample = 4 }},
		{"dense-x2", func(c *Config) { *c = SmallConfig(); c.Upsample = 2 }},
		{"dense-step2", func(c *Config) { *c = SmallConfig(); c.DenseStep = 2 }},
		{"dense-step3", func(c *Config) { *c = SmallConfig(); c.DenseStep = 3 }},
		{"dense-size2", func(c *Config) { *c = SmallConfig(); c.DenseSize = 2 }},
		{"dense-size3.5", func(c *Config) { *c = SmallConfig(); c.DenseSize = 3.5 }},
		{"dense-tf", func(c *Config) { *c = SmallConfig(); c.Weighting = WeightTF }},
		{"dense-k400", func(c *Config) { *c = SmallConfig(); c.K = 400 }},
	}
	for _, v := range variants {
		if !strings.Contains(v.name, *fashionOnly) {
			continue
		}
		c := def
		v.edit(&c)
		c.TrainDescriptors = *fashionSample
		start := time.Now()
		ix, bs, err := Build(context.Background(), BuildOptions{Config: c, Transform: tf,
			Train: images(gal), Gallery: images(gal), GalleryKeys: keys, Workers: 2})
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		build := time.Since(start)
		r, err := NewRetriever(ix, tf)
		if err != nil {
			t.Fatal(err)
		}
		acc, _ := eval.New([]int{1, 10}, 100)
		n := qs.Len()
		buf := make([]float32, n*tf.Len())
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		if err := images(qs).Fill(idx, buf); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		hits, _, err := r.Search(buf, n, engine.Request{K: 100})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		for q, hs := range hits {
			labels := make([]int, len(hs))
			for i, h := range hs {
				labels[i] = int(gal.Label(h.Index))
			}
			acc.Add(labels, qs.Label(q), perClass[qs.Label(q)])
		}
		res := acc.Result()
		fmt.Fprintf(os.Stderr, "%-22s P@1 %.3f P@10 %.3f MAP@100 %.3f | desc/img %.1f (dense %.0f%%, empty %d) | build %v (extract %v, k-means %v), query %.2f ms\n",
			v.name, res.Precision[1], res.Precision[10], res.MAP[100],
			float64(bs.Gallery.Descriptors)/float64(bs.Gallery.Images), 100*float64(bs.Gallery.Dense)/float64(max(bs.Gallery.Descriptors, 1)), bs.Gallery.Empty,
			build.Round(time.Second), bs.Extract.Round(time.Second), bs.KMeans.Round(time.Second),
			float64(took.Microseconds())/1000/float64(n))
	}
}
