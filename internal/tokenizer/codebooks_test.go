package tokenizer

import (
	"io"
	"math"
	"testing"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/testutil"
)

// classImages returns a split of copies copies of one 8×8 image per
// class (a bright band at a class-specific row), interleaved.
func classImages(classes, copies int) *dataset.Gray {
	const side = 8
	g := &dataset.Gray{W: side, H: side, Prefix: "test"}
	for i := range classes * copies {
		c := i % classes
		img := make([]uint8, side*side)
		for x := range side {
			img[2*c*side+x] = 255
			img[(2*c+1)*side+x] = 128
		}
		g.Pix = append(g.Pix, img...)
		g.Labels = append(g.Labels, c)
	}
	return g
}

// TestInitCodebooksFindsClusters initializes the codebooks of an
// untrained tokenizer on images that come in four exact copies per class:
// their features form four known clusters of zero spread, so k-means
// with L = 4 must put one level-0 codeword on each class's feature, and
// the residuals left, zero, must reconstruct every feature exactly.
func TestInitCodebooksFindsClusters(t *testing.T) {
	const classes, copies = 4, 10
	enc := testutil.Encoder()
	c := DefaultConfig(enc, classes)
	c.FeatureDim, c.M, c.L = 8, 2, classes
	m, err := New(testutil.Backend(t), c, 1)
	if err != nil {
		t.Fatal(err)
	}
	src := dataset.NewLoader(classImages(classes, copies), imageproc.Transform{Size: 8, Channels: 1}, 1)
	tc := TrainConfig{KMeansSample: classes * copies, Seed: 1, Workers: 1, Out: io.Discard}
	if err := initCodebooks(m, src, tc); err != nil {
		t.Fatal(err)
	}
	idx := make([]int, src.Len())
	for i := range idx {
		idx[i] = i
	}
	feats, err := Encode(m, src, idx)
	if err != nil {
		t.Fatal(err)
	}
	f := c.FeatureDim
	dist := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		}
		return math.Sqrt(s)
	}
	// The premise: one feature per class, and the classes apart.
	for i := classes; i < src.Len(); i++ {
		if d := dist(feats[i*f:][:f], feats[(i%classes)*f:][:f]); d > 1e-5 {
			t.Fatalf("image %d is %.3g from its class's first copy; want the same feature", i, d)
		}
	}
	for a := range classes {
		for b := range a {
			if d := dist(feats[a*f:][:f], feats[b*f:][:f]); d < 1e-3 {
				t.Fatalf("classes %d and %d are %.3g apart; want distinct features", a, b, d)
			}
		}
	}

	q, err := m.Quantizer()
	if err != nil {
		t.Fatal(err)
	}
	used := make(map[int]int)
	for class := range classes {
		x := feats[class*f:][:f]
		code, best := -1, math.Inf(1)
		for j := range c.L {
			w, err := q.Codeword(0, j)
			if err != nil {
				t.Fatal(err)
			}
			if d := dist(x, w); d < best {
				code, best = j, d
			}
		}
		if best > 1e-5 {
			t.Errorf("class %d: nearest level-0 codeword %d is %.3g away; want one on its feature", class, code, best)
		}
		if prev, ok := used[code]; ok {
			t.Errorf("classes %d and %d share level-0 codeword %d", prev, class, code)
		}
		used[code] = class
	}

	codes, err := q.EncodeBatch(feats)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, f)
	for i := range src.Len() {
		if err := q.Decode(codes[i*c.M:(i+1)*c.M], out); err != nil {
			t.Fatal(err)
		}
		if d := dist(out, feats[i*f:][:f]); d > 1e-5 {
			t.Errorf("image %d: reconstruction %.3g from its feature; want exact", i, d)
		}
	}
}
