package sift

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestBadInput(t *testing.T) {
	x, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		img  Image
	}{
		{"empty", Image{}},
		{"small", Image{W: 8, H: 8, Pix: make([]float32, 64)}},
		{"short", Image{W: 20, H: 20, Pix: make([]float32, 399)}},
		{"nan", Image{W: 20, H: 20, Pix: append(make([]float32, 399), float32(math.NaN()))}},
		{"huge", Image{W: MaxSize + 1, H: 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := x.Extract(tc.img); !errors.Is(err, ErrImage) {
				t.Errorf("Extract: got %v, want ErrImage", err)
			}
			if _, _, err := x.Dense(tc.img, 4, 8); !errors.Is(err, ErrImage) {
				t.Errorf("Dense: got %v, want ErrImage", err)
			}
		})
	}
	img := Image{W: 20, H: 20, Pix: make([]float32, 400)}
	for _, tc := range []struct {
		step int
		size float64
	}{{0, 8}, {4, 0}, {4, math.NaN()}, {4, 100}} {
		if _, _, err := x.Dense(img, tc.step, tc.size); !errors.Is(err, ErrConfig) {
			t.Errorf("Dense(step %d, size %v): got %v, want ErrConfig", tc.step, tc.size, err)
		}
	}
	for _, c := range []Config{
		{},
		{OctaveLayers: 3, Sigma: -1, EdgeThreshold: 10},
		{OctaveLayers: 3, Sigma: 1.6, ContrastThreshold: math.NaN(), EdgeThreshold: 10},
		{OctaveLayers: 3, Sigma: 1.6, EdgeThreshold: 0},
		{OctaveLayers: 3, Sigma: 1.6, EdgeThreshold: 10, MaxKeypoints: -1},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v): got %v, want ErrConfig", c, err)
		}
	}
}

// TestFlat checks that a constant image has no keypoints and that the
// extractor handles the smallest images.
func TestFlat(t *testing.T) {
	x, _ := New(DefaultConfig())
	for _, n := range []int{MinSize, 16, 64} {
		img := Image{W: n, H: n + 3, Pix: make([]float32, n*(n+3))}
		for i := range img.Pix {
			img.Pix[i] = 0.3
		}
		kps, desc, err := x.Extract(img)
		if err != nil || len(kps) != 0 || len(desc) != 0 {
			t.Errorf("%d×%d flat: got %d keypoints, %v; want none", n, n+3, len(kps), err)
		}
	}
}

func TestUprightAndMax(t *testing.T) {
	img := loadGray(t, "box.png")
	all, _ := extract(t, DefaultConfig(), img)
	c := DefaultConfig()
	c.Upright = true
	up, _ := extract(t, c, img)
	for _, k := range up {
		if k.Angle != 0 {
			t.Fatalf("upright keypoint with angle %v", k.Angle)
		}
	}
	// Orientation assignment only duplicates keypoints.
	if len(up) > len(all) || len(up) < len(all)/2 {
		t.Errorf("upright: %d keypoints, oriented %d", len(up), len(all))
	}
	c = DefaultConfig()
	c.MaxKeypoints = 50
	best, _ := extract(t, c, img)
	if len(best) < 50 || len(best) > 55 {
		t.Fatalf("MaxKeypoints 50: got %d", len(best))
	}
	var lo float32 = math.MaxFloat32
	for _, k := range best {
		lo = min(lo, k.Response)
	}
	n := 0
	for _, k := range all {
		if k.Response > lo {
			n++
		}
	}
	if n > 50 {
		t.Errorf("MaxKeypoints 50 kept a response %v with %d stronger keypoints", lo, n)
	}
}

// TestDense checks the grid, and that dense descriptors move with the
// image: on a copy of the image shifted by one grid step, node (i+1, j)
// has node (i, j)'s descriptor, away from the borders.
func TestDense(t *testing.T) {
	box := loadGray(t, "box.png")
	crop := func(x0, w, h int) Image {
		im := Image{W: w, H: h, Pix: make([]float32, w*h)}
		for y := range h {
			copy(im.Pix[y*w:(y+1)*w], box.Pix[(y+20)*box.W+x0:])
		}
		return im
	}
	const step, size = 10, 6.0
	a, b := crop(40, 200, 150), crop(40+step, 200, 150)
	x, _ := New(DefaultConfig())
	kps, da, err := x.Dense(a, step, size)
	if err != nil {
		t.Fatal(err)
	}
	nx, ny := (200-1-2*3)/step+1, (150-1-2*3)/step+1
	if len(kps) != nx*ny || len(da) != len(kps)*DescriptorLen {
		t.Fatalf("got %d keypoints, %d values; want %d", len(kps), len(da), nx*ny)
	}
	for i, k := range kps {
		if k.X != float32(3+step*(i%nx)) || k.Y != float32(3+step*(i/nx)) || k.Size != size || k.Angle != 0 {
			t.Fatalf("keypoint %d: %+v", i, k)
		}
	}
	_, db, err := x.Dense(b, step, size)
	if err != nil {
		t.Fatal(err)
	}
	// The descriptor window reaches about 3σ·√2·2.5 ≈ 32 px, the blur
	// 4σ = 12 px: compare nodes 50 px inside.
	compared := 0
	for i, k := range kps {
		if k.X < 50 || k.Y < 50 || k.X > 150 || k.Y > 100 {
			continue
		}
		j := i + 1 // the same content, one step to the left in b
		ka := da[j*DescriptorLen : (j+1)*DescriptorLen]
		kb := db[i*DescriptorLen : (i+1)*DescriptorLen]
		var dot float64
		for d := range ka {
			dot += float64(ka[d]) * float64(kb[d])
		}
		if dot < 0.9999 {
			t.Errorf("node %d: cosine %v between the shifted descriptors", i, dot)
		}
		compared++
	}
	if compared < 10 {
		t.Fatalf("compared only %d nodes", compared)
	}
	zero := 0
	for i := range kps {
		var n float64
		for _, v := range da[i*DescriptorLen : (i+1)*DescriptorLen] {
			n += float64(v * v)
		}
		if n == 0 {
			zero++
		} else if math.Abs(n-1) > 1e-4 {
			t.Fatalf("descriptor %d: squared norm %v", i, n)
		}
	}
	if zero > len(kps)/10 {
		t.Errorf("%d of %d dense descriptors are zero", zero, len(kps))
	}
}

// FuzzExtract feeds random small images to the extractor: it must return
// an error or well-formed keypoints, never panic.
func FuzzExtract(f *testing.F) {
	f.Add(uint8(11), uint8(11), []byte{1, 2, 3})
	f.Add(uint8(40), uint8(17), []byte{0, 255, 0, 255, 9})
	f.Fuzz(func(t *testing.T, w, h uint8, data []byte) {
		img := Image{W: int(w), H: int(h), Pix: make([]float32, int(w)*int(h))}
		for i := range img.Pix {
			if len(data) > 0 {
				img.Pix[i] = float32(data[i%len(data)]) / 255
			}
		}
		x, _ := New(DefaultConfig())
		kps, desc, err := x.Extract(img)
		if err != nil {
			return
		}
		if len(desc) != len(kps)*DescriptorLen {
			t.Fatalf("%d keypoints, %d descriptor values", len(kps), len(desc))
		}
		for _, k := range kps {
			if k.X < 0 || k.Y < 0 || k.X > float32(w) || k.Y > float32(h) || !(k.Size > 0) || k.Angle < 0 || k.Angle >= 360 {
				t.Fatalf("bad keypoint %+v in %d×%d", k, w, h)
			}
		}
	})
}

func BenchmarkExtract(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	box := loadGray(b, "box.png")
	for _, bc := range []struct {
		n      int
		double bool
	}{{28, true}, {56, true}, {112, false}, {112, true}} {
		// a crop of box.png resized to n×n, plus a little noise
		img := Image{W: bc.n, H: bc.n, Pix: make([]float32, bc.n*bc.n)}
		for y := range bc.n {
			for x := range bc.n {
				img.Pix[y*bc.n+x] = box.Pix[(y*200/bc.n)*box.W+x*200/bc.n+50] + float32(rng.NormFloat64()*0.01)
			}
		}
		c := DefaultConfig()
		c.DoubleImage = bc.double
		b.Run(fmt.Sprintf("n=%d/double=%v", bc.n, bc.double), func(b *testing.B) {
			x, _ := New(c)
			var nk int
			b.ReportAllocs()
			for b.Loop() {
				kps, _, _ := x.Extract(img)
				nk = len(kps)
			}
			b.ReportMetric(float64(nk), "keypoints")
		})
	}
}

func BenchmarkDense(b *testing.B) {
	box := loadGray(b, "box.png")
	for _, n := range []int{28, 112} {
		img := Image{W: n, H: n, Pix: make([]float32, n*n)}
		for y := range n {
			for x := range n {
				img.Pix[y*n+x] = box.Pix[(y*200/n)*box.W+x*200/n+50]
			}
		}
		c := DefaultConfig()
		c.DoubleImage = false
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x, _ := New(c)
			f := n / 28
			var nk int
			b.ReportAllocs()
			for b.Loop() {
				kps, _, _ := x.Dense(img, 4*f, 2.5*float64(f))
				nk = len(kps)
			}
			b.ReportMetric(float64(nk), "keypoints")
		})
	}
}
