package bovw

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/irgen/irgen/internal/baseline/sift"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/store/storetest"
)

func TestGray(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, ch := range []int{1, 3} {
		tf := imageproc.DefaultTransform(12, ch)
		want := make([]float32, 12*12)
		x := make([]float32, tf.Len())
		for i := range want {
			v := rng.Float32()
			want[i] = v
			for c := range ch {
				// a gray pixel: equal channels, so luma is v
				x[i*ch+c] = (v - tf.Mean[c]) / tf.Std[c]
			}
		}
		img, err := Gray(tf, x, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range img.Pix {
			if math.Abs(float64(v-want[i])) > 1e-5 {
				t.Fatalf("channels %d: pixel %d = %v, want %v", ch, i, v, want[i])
			}
		}
	}
	tf := imageproc.DefaultTransform(4, 1)
	if _, err := Gray(tf, make([]float32, 15), 1); err == nil {
		t.Error("Gray accepted 15 values for a 4×4 image")
	}
	bad := make([]float32, 16)
	bad[3] = float32(math.NaN())
	if _, err := Gray(tf, bad, 1); err == nil {
		t.Error("Gray accepted a NaN")
	}
}

// TestEnlarge checks the bilinear enlargement against its definition: a
// linear ramp stays linear between the outermost sample centres and is
// constant beyond them.
func TestEnlarge(t *testing.T) {
	img := sift.Image{W: 5, H: 3, Pix: make([]float32, 15)}
	for y := range 3 {
		for x := range 5 {
			img.Pix[y*5+x] = float32(x) + 10*float32(y)
		}
	}
	const f = 4
	out := enlarge(img, f)
	if out.W != 20 || out.H != 12 {
		t.Fatalf("got %d×%d", out.W, out.H)
	}
	clamp := func(s, hi float64) float64 { return min(max(s, 0), hi) }
	for y := range out.H {
		for x := range out.W {
			sx := clamp((float64(x)+0.5)/f-0.5, 4)
			sy := clamp((float64(y)+0.5)/f-0.5, 2)
			want := sx + 10*sy
			if got := float64(out.Pix[y*out.W+x]); math.Abs(got-want) > 1e-4 {
				t.Fatalf("(%d, %d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

func TestNearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const k = 37
	words := make([]float32, k*sift.DescriptorLen)
	for i := range words {
		words[i] = rng.Float32()
	}
	v, err := NewVocabulary(words)
	if err != nil {
		t.Fatal(err)
	}
	d := make([]float32, sift.DescriptorLen)
	scratch := make([]float32, k)
	for range 200 {
		for i := range d {
			d[i] = rng.Float32()
		}
		best, bd := -1, math.Inf(1)
		for w := range k {
			var s float64
			for i, x := range d {
				e := float64(x - words[w*sift.DescriptorLen+i])
				s += e * e
			}
			if s < bd {
				best, bd = w, s
			}
		}
		if got := v.Nearest(d, scratch); got != best {
			t.Fatalf("Nearest = %d, want %d", got, best)
		}
	}
	if n := testing.AllocsPerRun(100, func() { v.Nearest(d, scratch) }); n != 0 {
		t.Errorf("Nearest allocates %v times", n)
	}
	if _, err := NewVocabulary(make([]float32, 100)); err == nil {
		t.Error("NewVocabulary accepted 100 values")
	}
}

func TestWeigh(t *testing.T) {
	counts := []uint32{2, 0, 1, 1}
	idf := []float32{0.5, 3, 2, 0}
	dst := make([]float32, 4)
	weigh(counts, nil, dst)
	// tf = (0.5, 0, 0.25, 0.25), normalized
	n := math.Sqrt(0.25 + 2*0.0625)
	want := []float64{0.5 / n, 0, 0.25 / n, 0.25 / n}
	for i := range want {
		if math.Abs(float64(dst[i])-want[i]) > 1e-6 {
			t.Fatalf("tf: got %v, want %v", dst, want)
		}
	}
	weigh(counts, idf, dst)
	// tf·idf = (0.25, 0, 0.5, 0)
	n = math.Sqrt(0.0625 + 0.25)
	want = []float64{0.25 / n, 0, 0.5 / n, 0}
	for i := range want {
		if math.Abs(float64(dst[i])-want[i]) > 1e-6 {
			t.Fatalf("tfidf: got %v, want %v", dst, want)
		}
	}
	weigh([]uint32{0, 0, 0, 0}, idf, dst)
	for _, v := range dst {
		if v != 0 {
			t.Fatalf("empty histogram: got %v", dst)
		}
	}
	got := idfOf([]int{1, 4, 0}, 4)
	if math.Abs(float64(got[0])-math.Log(4)) > 1e-6 || got[1] != 0 || got[2] != 0 {
		t.Errorf("idfOf = %v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Config){
		"k":         func(c *Config) { c.K = 1 },
		"upsample":  func(c *Config) { c.Upsample = 0 },
		"detector":  func(c *Config) { c.Detector = "harris" },
		"step":      func(c *Config) { c.DenseStep = 0 },
		"size":      func(c *Config) { c.DenseSize = math.NaN() },
		"weighting": func(c *Config) { c.Weighting = "bm25" },
		"sample":    func(c *Config) { c.TrainDescriptors = 10 },
		"iters":     func(c *Config) { c.KMeansIters = 0 },
		"sift":      func(c *Config) { c.SIFT.Sigma = 0 },
		"minkp":     func(c *Config) { c.MinKeypoints = -1 },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
}

// texture draws a 28×28 image of class c: four Gaussian blobs, small
// round, large round, horizontal or vertical, at jittered places on a
// noisy dark background.
func texture(c int, rng *rand.Rand) []float32 {
	px := make([]float32, 28*28)
	for i := range px {
		px[i] = 0.2 + 0.05*rng.Float32()
	}
	sx, sy := [4]float64{1.5, 3, 3.5, 1}[c], [4]float64{1.5, 3, 1, 3.5}[c]
	for _, p := range [4][2]int{{7, 7}, {7, 20}, {20, 7}, {20, 20}} {
		cx, cy := float64(p[0]+rng.IntN(3)-1), float64(p[1]+rng.IntN(3)-1)
		for y := range 28 {
			for x := range 28 {
				dx, dy := (float64(x)-cx)/sx, (float64(y)-cy)/sy
				px[y*28+x] += float32(0.6 * math.Exp(-(dx*dx+dy*dy)/2))
			}
		}
	}
	return px
}

// textures returns n normalized images of classes i%4 and their labels.
func textures(n int, seed uint64, tf imageproc.Transform) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]float32, 0, n*tf.Len())
	labels := make([]int, n)
	for i := range n {
		labels[i] = i % 4
		for _, v := range texture(i%4, rng) {
			out = append(out, (v-tf.Mean[0])/tf.Std[0])
		}
	}
	return out, labels
}

func memImages(data []float32, size int) Images {
	return Images{N: len(data) / size, Fill: func(idx []int, dst []float32) error {
		for j, i := range idx {
			copy(dst[j*size:(j+1)*size], data[i*size:(i+1)*size])
		}
		return nil
	}}
}

// smallConfig is SmallConfig with a small vocabulary, on images enlarged
// 2× (which the DoG detector needs on 28×28 blobs).
func smallConfig() Config {
	c := SmallConfig()
	c.DenseStep = 4
	c.K = 32
	c.TrainDescriptors = 5000
	c.KMeansIters = 10
	c.Upsample = 2
	return c
}

func buildTextures(t *testing.T, c Config) (*Index, imageproc.Transform, []int) {
	t.Helper()
	tf := imageproc.DefaultTransform(28, 1)
	data, labels := textures(80, 1, tf)
	keys := make([]string, len(labels))
	for i := range keys {
		keys[i] = string(rune('a' + i))
	}
	ix, bs, err := Build(context.Background(), BuildOptions{Config: c, Transform: tf,
		Train: memImages(data, tf.Len()), Gallery: memImages(data, tf.Len()), GalleryKeys: keys, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 80 || bs.Gallery.Images != 80 || bs.Sampled == 0 || ix.GalleryDigest != store.KeysDigest(keys) {
		t.Fatalf("index of %d images, stats %+v", ix.Len(), bs)
	}
	return ix, tf, labels
}

// TestRetrieveTextures builds an index over four classes of blob images
// and checks that queries of new images retrieve their class (chance:
// 0.25), for each detector. Dense SIFT at one scale tells the blob sizes
// apart less well than the scale-selecting DoG detector, and auto mixes
// the two (these images have about four keypoints, below MinKeypoints).
func TestRetrieveTextures(t *testing.T) {
	for _, tc := range []struct {
		det  string
		want float64
	}{{DetectorDoG, 0.9}, {DetectorAuto, 0.75}, {DetectorDense, 0.6}} {
		t.Run(tc.det, func(t *testing.T) {
			c := smallConfig()
			c.Detector = tc.det
			ix, tf, labels := buildTextures(t, c)
			r, err := NewRetriever(ix, tf)
			if err != nil {
				t.Fatal(err)
			}
			qs, ql := textures(40, 2, tf)
			hits, _, err := r.Search(qs, 40, engine.Request{K: 5})
			if err != nil {
				t.Fatal(err)
			}
			right, total := 0, 0
			for q, hs := range hits {
				if len(hs) != 5 {
					t.Fatalf("query %d: %d hits", q, len(hs))
				}
				for i, h := range hs {
					total++
					if labels[h.Index] == ql[q] {
						right++
					}
					if i > 0 && h.Score > hs[i-1].Score {
						t.Fatalf("query %d: hits not sorted: %v", q, hs)
					}
				}
			}
			p := float64(right) / float64(total)
			t.Logf("precision@5 %.3f", p)
			if p < tc.want {
				t.Errorf("precision@5 %.3f, want ≥ %.2f", p, tc.want)
			}
			// The search passes over the images Skip reports.
			skip := func(_, id int) bool { return id%2 != 0 || id%4 == 0 }
			hits, _, err = r.Search(qs[:tf.Len()], 1, engine.Request{K: 30, Skip: skip})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits[0]) != 20 {
				t.Errorf("got %d hits, want the 20 images not skipped", len(hits[0]))
			}
			for _, h := range hits[0] {
				if skip(0, h.Index) {
					t.Fatalf("hit %d is skipped", h.Index)
				}
			}
		})
	}
}

// TestVectorsMatchIndex checks that a gallery image searched as a query
// gets the histogram stored for it, and so finds itself first.
func TestVectorsMatchIndex(t *testing.T) {
	ix, tf, _ := buildTextures(t, smallConfig())
	r, err := NewRetriever(ix, tf)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := textures(80, 1, tf)
	q, err := r.Vectors(context.Background(), data[:10*tf.Len()], 10)
	if err != nil {
		t.Fatal(err)
	}
	k := ix.Vocab.K
	want := make([]float32, k)
	for i := range 10 {
		ix.Vector(i, want)
		for j := range k {
			if math.Abs(float64(q[i*k+j]-want[j])) > 1e-6 {
				t.Fatalf("image %d: query vector %v, stored %v", i, q[i*k:(i+1)*k], want)
			}
		}
	}
}

func TestFileRoundTrip(t *testing.T) {
	ix, _, _ := buildTextures(t, smallConfig())
	var buf bytes.Buffer
	n, err := ix.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo: %d bytes of %d, %v", n, buf.Len(), err)
	}
	data := buf.Bytes()
	var got Index
	if m, err := got.ReadFrom(bytes.NewReader(data)); err != nil || m != n {
		t.Fatalf("ReadFrom: %d bytes, %v", m, err)
	}
	var again bytes.Buffer
	if _, err := got.WriteTo(&again); err != nil || !bytes.Equal(again.Bytes(), data) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
	storetest.Rejects(t, []storetest.Bad{
		{"empty", nil, ErrFormat},
		{"magic", append([]byte("IRGNXXXX"), data[8:]...), ErrFormat},
		{"version", append(append(append([]byte(nil), data[:8]...), 9, 0, 0, 0), data[12:]...), ErrVersion},
		{"truncated", data[:len(data)/2], ErrFormat},
		{"no checksum", data[:len(data)-4], ErrFormat},
		{"flipped", storetest.Edit(data, func(b []byte) { b[len(b)-100] ^= 0x40 }), ErrFormat},
	}, func(t *testing.T, data []byte) error {
		var ix Index
		_, err := ix.ReadFrom(bytes.NewReader(data))
		return err
	})
}

func FuzzReadFrom(f *testing.F) {
	ix := &Index{Config: smallConfig(), IDF: make([]float32, 32), Start: []int{0, 2, 2}, Word: []uint32{1, 5}, Count: []uint32{3, 1}}
	ix.Vocab, _ = NewVocabulary(make([]float32, 32*sift.DescriptorLen))
	var buf bytes.Buffer
	if _, err := ix.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("IRGNBOVW\x01\x00\x00\x00\x02\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ix Index
		if _, err := ix.ReadFrom(bytes.NewReader(data)); err != nil {
			return
		}
		if err := ix.check(); err != nil {
			t.Fatalf("ReadFrom accepted an inconsistent index: %v", err)
		}
		ix.Vectors()
	})
}
