package imageproc

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

func grayImage(w, h int, pix ...uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	copy(m.Pix, pix)
	return m
}

func approxEqual(t *testing.T, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len = %d; want %d", len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Fatalf("got %v; want %v (first difference at %d)", got, want, i)
		}
	}
}

func TestEvalHandComputed(t *testing.T) {
	// Gray and RGB values are written as v/255.
	const q = 1.0 / 255
	offset := image.NewGray(image.Rect(5, 5, 7, 7)) // non-zero origin
	copy(offset.Pix, []uint8{0, 51, 102, 255})
	ycc := image.NewYCbCr(image.Rect(0, 0, 1, 1), image.YCbCrSubsampleRatio444)
	ycc.Y[0], ycc.Cb[0], ycc.Cr[0] = 200, 128, 128
	nrgba := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	nrgba.SetNRGBA(0, 0, color.NRGBA{255, 255, 255, 0})
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White})
	pal.Pix[1], pal.Pix[2] = 1, 1
	g16 := image.NewGray16(image.Rect(0, 0, 1, 1))
	g16.SetGray16(0, 0, color.Gray16{0xffff})
	rgb := image.NewRGBA(image.Rect(0, 0, 2, 1))
	rgb.SetRGBA(0, 0, color.RGBA{255, 0, 0, 255})
	rgb.SetRGBA(1, 0, color.RGBA{0, 51, 255, 255})
	rgb4 := image.NewRGBA(image.Rect(0, 0, 2, 2))
	rgb4.SetRGBA(0, 0, color.RGBA{255, 0, 0, 255})
	rgb4.SetRGBA(1, 0, color.RGBA{0, 255, 0, 255})
	rgb4.SetRGBA(0, 1, color.RGBA{0, 0, 255, 255})
	rgb4.SetRGBA(1, 1, color.RGBA{255, 255, 255, 255})

	tests := []struct {
		name string
		img  image.Image
		tr   Transform
		want []float32
	}{
		{
			name: "identity normalize",
			img:  grayImage(2, 2, 0, 51, 102, 255),
			tr:   Transform{Size: 2, Channels: 1, Mean: []float32{0.5}, Std: []float32{0.25}},
			want: []float32{-2, -1.2, -0.4, 2},
		},
		{
			name: "bounds not at origin",
			img:  offset,
			tr:   Transform{Size: 2, Channels: 1},
			want: []float32{0, 0.2, 0.4, 1},
		},
		{
			// Half-pixel-centred bilinear: outputs sample x = 0.25, 0.75,
			// 1.25, 1.75 and clamp at the edges.
			name: "upsample 2x",
			img:  grayImage(2, 2, 0, 255, 0, 255),
			tr:   Transform{Size: 4, Channels: 1},
			want: []float32{0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1, 0, 0.25, 0.75, 1},
		},
		{
			name: "downsample averages",
			img:  grayImage(2, 2, 10, 20, 30, 40),
			tr:   Transform{Size: 1, Channels: 1},
			want: []float32{25 * q},
		},
		{
			// Shorter side (2) already equals Size: center crop columns 1..2.
			name: "center crop wide",
			img:  grayImage(4, 2, 10, 20, 30, 40, 50, 60, 70, 80),
			tr:   Transform{Size: 2, Channels: 1},
			want: []float32{20 * q, 30 * q, 60 * q, 70 * q},
		},
		{
			name: "center crop tall",
			img:  grayImage(1, 3, 10, 20, 30),
			tr:   Transform{Size: 1, Channels: 1},
			want: []float32{20 * q},
		},
		{
			name: "resize shorter then crop",
			img:  grayImage(4, 4, 0, 0, 0, 0, 0, 10, 20, 0, 0, 30, 40, 0, 0, 0, 0, 0),
			tr:   Transform{Size: 2, Channels: 1, ResizeShorter: 4},
			want: []float32{10 * q, 20 * q, 30 * q, 40 * q},
		},
		{
			name: "gray to rgb replicates",
			img:  grayImage(1, 1, 255),
			tr:   Transform{Size: 1, Channels: 3, Mean: ImageNetMean, Std: ImageNetStd},
			want: []float32{(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225},
		},
		{
			name: "rgb hwc layout",
			img:  rgb4,
			tr:   Transform{Size: 2, Channels: 3},
			want: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1},
		},
		{
			name: "rgb to luma",
			img:  rgb,
			tr:   Transform{Size: 2, Channels: 1, ResizeShorter: 2},
			// 2x1 resized to 4x2, center crop columns 1..2: x = 0.75, 1.25.
			want: func() []float32 {
				l0 := float32(0.299)
				l1 := float32(0.587*0.2 + 0.114)
				a, b := 0.75*l0+0.25*l1, 0.25*l0+0.75*l1
				return []float32{a, b, a, b}
			}(),
		},
		{
			name: "ycbcr luma is y",
			img:  ycc,
			tr:   Transform{Size: 1, Channels: 1},
			want: []float32{200 * q},
		},
		{
			name: "ycbcr rgb",
			img:  ycc,
			tr:   Transform{Size: 1, Channels: 3},
			want: []float32{200 * q, 200 * q, 200 * q},
		},
		{
			name: "transparent over black",
			img:  nrgba,
			tr:   Transform{Size: 1, Channels: 3},
			want: []float32{0, 0, 0},
		},
		{
			name: "paletted",
			img:  pal,
			tr:   Transform{Size: 1, Channels: 3},
			want: []float32{0.5, 0.5, 0.5},
		},
		{
			name: "generic gray16",
			img:  g16,
			tr:   Transform{Size: 1, Channels: 1},
			want: []float32{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]float32, tt.tr.Len())
			if err := tt.tr.Eval(tt.img, dst); err != nil {
				t.Fatal(err)
			}
			approxEqual(t, dst, tt.want, 1e-5)
		})
	}
}

func TestTransformErrors(t *testing.T) {
	img := grayImage(2, 2)
	ok := Transform{Size: 2, Channels: 1}
	tests := []struct {
		name string
		tr   Transform
		img  image.Image
		n    int
		want error
	}{
		{"zero size", Transform{Channels: 1}, img, 0, ErrTransform},
		{"two channels", Transform{Size: 2, Channels: 2}, img, 8, ErrTransform},
		{"mean length", Transform{Size: 2, Channels: 3, Mean: []float32{0}}, img, 12, ErrTransform},
		{"std length", Transform{Size: 2, Channels: 1, Std: []float32{1, 1}}, img, 4, ErrTransform},
		{"zero std", Transform{Size: 2, Channels: 1, Std: []float32{0}}, img, 4, ErrTransform},
		{"nan std", Transform{Size: 2, Channels: 1, Std: []float32{float32(math.NaN())}}, img, 4, ErrTransform},
		{"resize below size", Transform{Size: 2, Channels: 1, ResizeShorter: 1}, img, 4, ErrTransform},
		{"bad scale", Transform{Size: 2, Channels: 1, ScaleMin: 0.9, ScaleMax: 0.5}, img, 4, ErrTransform},
		{"dst too short", ok, img, 3, ErrArg},
		{"dst too long", ok, img, 5, ErrArg},
		{"nil image", ok, nil, 4, ErrArg},
		{"empty image", ok, image.NewGray(image.Rect(0, 0, 0, 3)), 4, ErrArg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]float32, tt.n)
			if err := tt.tr.Eval(tt.img, dst); !errors.Is(err, tt.want) {
				t.Errorf("Eval error = %v; want %v", err, tt.want)
			}
			if err := tt.tr.Train(tt.img, rand.New(rand.NewPCG(1, 2)), dst); !errors.Is(err, tt.want) {
				t.Errorf("Train error = %v; want %v", err, tt.want)
			}
		})
	}
	if err := ok.Train(img, nil, make([]float32, 4)); !errors.Is(err, ErrArg) {
		t.Errorf("Train(nil rng) error = %v; want %v", err, ErrArg)
	}
	grayTests := []struct {
		name string
		pix  []uint8
		w, h int
	}{
		{"short pix", make([]uint8, 3), 2, 2},
		{"long pix", make([]uint8, 5), 2, 2},
		{"zero width", nil, 0, 2},
		{"negative", make([]uint8, 4), -2, -2},
	}
	for _, tt := range grayTests {
		if err := GrayToFloat(tt.pix, tt.w, tt.h, ok, nil, make([]float32, 4)); !errors.Is(err, ErrArg) {
			t.Errorf("GrayToFloat(%s) error = %v; want %v", tt.name, err, ErrArg)
		}
	}
}

func TestTrainDeterministic(t *testing.T) {
	img := pattern(64, 48)
	tr := DefaultTransform(16, 3)
	run := func(seed uint64) []float32 {
		rng := rand.New(rand.NewPCG(seed, 0))
		dst := make([]float32, tr.Len())
		for range 3 { // advance the stream through several samples
			if err := tr.Train(img, rng, dst); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	a, b := run(7), run(7)
	approxEqual(t, a, b, 0)
	differs := 0
	for seed := uint64(8); seed < 12; seed++ {
		c := run(seed)
		for i := range c {
			if c[i] != a[i] {
				differs++
				break
			}
		}
	}
	if differs == 0 {
		t.Error("four other seeds all gave the same output as seed 7")
	}
}

func TestRandomCropInside(t *testing.T) {
	sizes := [][2]int{{1, 1}, {1, 100}, {100, 1}, {28, 28}, {640, 480}, {3, 1000}}
	scales := [][2]float64{{0, 0}, {1, 1}, {0.5, 0.6}, {0.01, 0.02}}
	for _, sz := range sizes {
		for _, sc := range scales {
			t.Run(fmt.Sprintf("%dx%d/%g-%g", sz[0], sz[1], sc[0], sc[1]), func(t *testing.T) {
				tr := Transform{Size: 8, Channels: 1, ScaleMin: sc[0], ScaleMax: sc[1]}
				bounds := image.Rect(0, 0, sz[0], sz[1])
				rng := rand.New(rand.NewPCG(uint64(sz[0]), uint64(sz[1])))
				for range 200 {
					r := tr.randomCrop(sz[0], sz[1], rng)
					if r.Empty() || !r.In(bounds) {
						t.Fatalf("crop %v not inside %v", r, bounds)
					}
				}
			})
		}
	}
}

// TestRandomCropDistribution checks the crop obeys the area and aspect-ratio
// ranges when the ranges are easy to satisfy.
func TestRandomCropDistribution(t *testing.T) {
	tr := Transform{Size: 8, Channels: 1, ScaleMin: 0.25, ScaleMax: 0.5}
	rng := rand.New(rand.NewPCG(3, 4))
	const w, h = 1000, 1000
	for range 500 {
		r := tr.randomCrop(w, h, rng)
		area := float64(r.Dx()*r.Dy()) / (w * h)
		ratio := float64(r.Dx()) / float64(r.Dy())
		if area < 0.24 || area > 0.51 || ratio < 0.74 || ratio > 1.34 {
			t.Fatalf("crop %v: area %.3f ratio %.3f out of range", r, area, ratio)
		}
	}
}

func TestTrainConstantImage(t *testing.T) {
	// Whatever the crop and flip, a constant image stays constant.
	sub := image.NewRGBA(image.Rect(0, 0, 37, 23))
	for i := range sub.Pix {
		sub.Pix[i] = []uint8{51, 102, 153, 255}[i%4]
	}
	tr := DefaultTransform(8, 3)
	rng := rand.New(rand.NewPCG(1, 1))
	dst := make([]float32, tr.Len())
	want := make([]float32, tr.Len())
	for i := range want {
		c := i % 3
		want[i] = ([]float32{0.2, 0.4, 0.6}[c] - ImageNetMean[c]) / ImageNetStd[c]
	}
	for range 20 {
		if err := tr.Train(sub, rng, dst); err != nil {
			t.Fatal(err)
		}
		approxEqual(t, dst, want, 1e-5)
	}
}

func TestFlipMirrors(t *testing.T) {
	src := &graySource{pix: []uint8{0, 51, 102, 153, 204, 255}, stride: 3, w: 3, h: 2, channels: 1}
	nm := norm{inv: [3]float32{1, 1, 1}}
	reg := region{0, 0, 3, 2}
	var s scratch
	a := make([]float32, 9)
	b := make([]float32, 9)
	resample(&s, src, 1, reg, 3, false, &nm, a)
	resample(&s, src, 1, reg, 3, true, &nm, b)
	for y := range 3 {
		for x := range 3 {
			if a[y*3+x] != b[y*3+2-x] {
				t.Fatalf("flip: row %d = %v; want mirror of %v", y, b[y*3:y*3+3], a[y*3:y*3+3])
			}
		}
	}
}

func TestGrayToFloatMatchesImagePath(t *testing.T) {
	sizes := []struct{ w, h, size, resize int }{
		{28, 28, 28, 0},
		{28, 28, 32, 0},
		{28, 28, 24, 28},
		{40, 30, 28, 0},
		{5, 9, 3, 4},
	}
	for _, sz := range sizes {
		for _, ch := range []int{1, 3} {
			t.Run(fmt.Sprintf("%dx%d-to-%d/c%d", sz.w, sz.h, sz.size, ch), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 9))
				pix := make([]uint8, sz.w*sz.h)
				for i := range pix {
					pix[i] = uint8(rng.IntN(256))
				}
				img := grayImage(sz.w, sz.h, pix...)
				tr := DefaultTransform(sz.size, ch)
				tr.ResizeShorter = sz.resize
				got := make([]float32, tr.Len())
				want := make([]float32, tr.Len())
				if err := GrayToFloat(pix, sz.w, sz.h, tr, nil, got); err != nil {
					t.Fatal(err)
				}
				if err := tr.Eval(img, want); err != nil {
					t.Fatal(err)
				}
				approxEqual(t, got, want, 1e-6)
				r1, r2 := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
				for range 5 {
					if err := GrayToFloat(pix, sz.w, sz.h, tr, r1, got); err != nil {
						t.Fatal(err)
					}
					if err := tr.Train(img, r2, want); err != nil {
						t.Fatal(err)
					}
					approxEqual(t, got, want, 1e-6)
				}
			})
		}
	}
}

func TestGrayToFloatAllocs(t *testing.T) {
	pix := make([]uint8, 28*28)
	tr := DefaultTransform(28, 1)
	dst := make([]float32, tr.Len())
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		rng  *rand.Rand
	}{{"eval", nil}, {"train", rng}}
	for _, tt := range tests {
		n := testing.AllocsPerRun(100, func() {
			if err := GrayToFloat(pix, 28, 28, tr, tt.rng, dst); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocs per call; want 0", tt.name, n)
		}
	}
}

func BenchmarkEval(b *testing.B) {
	for _, sz := range [][2]int{{640, 480}, {224, 224}} {
		img := pattern(sz[0], sz[1])
		tr := DefaultTransform(224, 3)
		dst := make([]float32, tr.Len())
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tr.Eval(img, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGrayToFloat(b *testing.B) {
	pix := make([]uint8, 28*28)
	tr := DefaultTransform(28, 1)
	dst := make([]float32, tr.Len())
	for _, name := range []string{"eval", "train"} {
		b.Run(name, func(b *testing.B) {
			var rng *rand.Rand
			if name == "train" {
				rng = rand.New(rand.NewPCG(1, 2))
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := GrayToFloat(pix, 28, 28, tr, rng, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
