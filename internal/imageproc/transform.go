package imageproc

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// Default random-resized-crop area range and aspect ratio range
// (torchvision RandomResizedCrop).
const (
	DefaultScaleMin = 0.08
	DefaultScaleMax = 1.0
	ratioMin        = 3.0 / 4.0
	ratioMax        = 4.0 / 3.0
	cropTries       = 10
)

// ImageNet per-channel statistics, used by DefaultTransform for RGB.
var (
	ImageNetMean = []float32{0.485, 0.456, 0.406}
	ImageNetStd  = []float32{0.229, 0.224, 0.225}
)

// Transform turns an image into a Size x Size x Channels float32 tensor in
// HWC row-major layout, normalized per channel as (v - Mean) / Std with v in
// [0,1].
type Transform struct {
	// Size is the output height and width.
	Size int
	// Channels is 1 (luma) or 3 (RGB). Gray inputs are replicated to RGB;
	// color inputs are converted to luma (BT.601).
	Channels int
	// Mean and Std hold one value per channel. Nil means 0 and 1.
	Mean, Std []float32
	// ResizeShorter is the length the shorter side is resized to before the
	// Size x Size center crop in Eval. 0 means Size (no border is cut).
	ResizeShorter int
	// ScaleMin and ScaleMax bound the area fraction of Train's random
	// resized crop. 0 means 0.08 and 1.
	ScaleMin, ScaleMax float64
	// Flip mirrors Train outputs horizontally with probability 0.5.
	Flip bool
}

// DefaultTransform returns a transform to size x size with the given number
// of channels: ImageNet statistics for 3 channels, mean 0.5 and std 0.5 for 1,
// random crops over 8%..100% of the area, and flips.
func DefaultTransform(size, channels int) Transform {
	t := Transform{Size: size, Channels: channels, ScaleMin: DefaultScaleMin, ScaleMax: DefaultScaleMax, Flip: true}
	switch channels {
	case 3:
		t.Mean = append([]float32(nil), ImageNetMean...)
		t.Std = append([]float32(nil), ImageNetStd...)
	case 1:
		t.Mean = []float32{0.5}
		t.Std = []float32{0.5}
	}
	return t
}

// Len returns Size*Size*Channels, the length of an output tensor.
func (t Transform) Len() int { return t.Size * t.Size * t.Channels }

// check validates t and returns its normalization.
func (t Transform) check(dst []float32) (norm, error) {
	var nm norm
	if t.Size <= 0 || t.Size > 1<<14 {
		return nm, fmt.Errorf("%w: size %d", ErrTransform, t.Size)
	}
	if t.Channels != 1 && t.Channels != 3 {
		return nm, fmt.Errorf("%w: channels %d, want 1 or 3", ErrTransform, t.Channels)
	}
	if t.ResizeShorter != 0 && t.ResizeShorter < t.Size {
		return nm, fmt.Errorf("%w: resize shorter %d below size %d", ErrTransform, t.ResizeShorter, t.Size)
	}
	lo, hi := t.scale()
	if !(lo > 0 && lo <= hi && hi <= 1) {
		return nm, fmt.Errorf("%w: scale range [%g, %g]", ErrTransform, lo, hi)
	}
	if t.Mean != nil && len(t.Mean) != t.Channels {
		return nm, fmt.Errorf("%w: %d mean values for %d channels", ErrTransform, len(t.Mean), t.Channels)
	}
	if t.Std != nil && len(t.Std) != t.Channels {
		return nm, fmt.Errorf("%w: %d std values for %d channels", ErrTransform, len(t.Std), t.Channels)
	}
	for c := range t.Channels {
		nm.inv[c] = 1
		if t.Mean != nil {
			nm.mean[c] = t.Mean[c]
		}
		if t.Std != nil {
			s := t.Std[c]
			if !(s > 0) || math.IsInf(float64(s), 0) {
				return nm, fmt.Errorf("%w: std %g", ErrTransform, s)
			}
			nm.inv[c] = 1 / s
		}
	}
	if len(dst) != t.Len() {
		return nm, fmt.Errorf("%w: dst has %d values, want %d", ErrArg, len(dst), t.Len())
	}
	return nm, nil
}

func (t Transform) scale() (lo, hi float64) {
	lo, hi = t.ScaleMin, t.ScaleMax
	if lo == 0 {
		lo = DefaultScaleMin
	}
	if hi == 0 {
		hi = DefaultScaleMax
	}
	return lo, hi
}

// Eval resizes the shorter side of img to ResizeShorter, center crops
// Size x Size, normalizes and writes the result into dst.
func (t Transform) Eval(img image.Image, dst []float32) error {
	nm, err := t.check(dst)
	if err != nil {
		return err
	}
	src, err := imageSource(img, t.Channels)
	if err != nil {
		return err
	}
	w, h := src.size()
	s := scratchPool.Get().(*scratch)
	resample(s, src, t.Channels, t.evalRegion(w, h), t.Size, false, &nm, dst)
	scratchPool.Put(s)
	return nil
}

// Train applies a random resized crop of img (area fraction in
// [ScaleMin, ScaleMax], aspect ratio in [3/4, 4/3]) resized to Size x Size,
// a horizontal flip with probability 0.5 when Flip is set, and normalizes
// into dst. The result depends only on img, t and the state of rng.
func (t Transform) Train(img image.Image, rng *rand.Rand, dst []float32) error {
	nm, err := t.check(dst)
	if err != nil {
		return err
	}
	if rng == nil {
		return fmt.Errorf("%w: nil rng", ErrArg)
	}
	src, err := imageSource(img, t.Channels)
	if err != nil {
		return err
	}
	s := scratchPool.Get().(*scratch)
	t.train(s, src, rng, &nm, dst)
	scratchPool.Put(s)
	return nil
}

func (t Transform) train(s *scratch, src source, rng *rand.Rand, nm *norm, dst []float32) {
	w, h := src.size()
	crop := t.randomCrop(w, h, rng)
	flip := t.Flip && rng.Float64() < 0.5
	reg := region{float64(crop.Min.X), float64(crop.Min.Y), float64(crop.Dx()), float64(crop.Dy())}
	resample(s, src, t.Channels, reg, t.Size, flip, nm, dst)
}

func imageSource(img image.Image, channels int) (source, error) {
	if img == nil {
		return nil, fmt.Errorf("%w: nil image", ErrArg)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("%w: empty image %v", ErrArg, b)
	}
	return newSource(img, channels), nil
}

// evalRegion maps "resize shorter side to ResizeShorter, center crop Size"
// (torchvision Resize + CenterCrop) back to a region of the w x h source.
func (t Transform) evalRegion(w, h int) region {
	r := t.ResizeShorter
	if r == 0 {
		r = t.Size
	}
	nw, nh := r, r
	if w <= h {
		nh = int(int64(r) * int64(h) / int64(w))
	} else {
		nw = int(int64(r) * int64(w) / int64(h))
	}
	sx, sy := float64(w)/float64(nw), float64(h)/float64(nh)
	left := math.RoundToEven(float64(nw-t.Size) / 2)
	top := math.RoundToEven(float64(nh-t.Size) / 2)
	return region{left * sx, top * sy, float64(t.Size) * sx, float64(t.Size) * sy}
}

// randomCrop samples a crop of a w x h image as torchvision's
// RandomResizedCrop.get_params does: up to 10 tries at a random area and log
// aspect ratio, then a center crop clamped to the ratio range.
func (t Transform) randomCrop(w, h int, rng *rand.Rand) image.Rectangle {
	lo, hi := t.scale()
	area := float64(w) * float64(h)
	logLo, logHi := math.Log(ratioMin), math.Log(ratioMax)
	for range cropTries {
		target := area * (lo + (hi-lo)*rng.Float64())
		ratio := math.Exp(logLo + (logHi-logLo)*rng.Float64())
		cw := int(math.RoundToEven(math.Sqrt(target * ratio)))
		ch := int(math.RoundToEven(math.Sqrt(target / ratio)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			y := rng.IntN(h - ch + 1)
			x := rng.IntN(w - cw + 1)
			return image.Rect(x, y, x+cw, y+ch)
		}
	}
	cw, ch := w, h
	switch in := float64(w) / float64(h); {
	case in < ratioMin:
		ch = max(int(math.RoundToEven(float64(cw)/ratioMin)), 1)
	case in > ratioMax:
		cw = max(int(math.RoundToEven(float64(ch)*ratioMax)), 1)
	}
	x, y := (w-cw)/2, (h-ch)/2
	return image.Rect(x, y, x+cw, y+ch)
}

// GrayToFloat is the allocation-free path for 8-bit gray pixels held in
// memory (row-major, len(pix) == w*h), such as Fashion-MNIST. With a nil rng
// it does what Eval does; when w == h == Size and ResizeShorter is 0 or Size
// that is a plain normalization. With an rng it does what Train does.
func GrayToFloat(pix []uint8, w, h int, t Transform, rng *rand.Rand, dst []float32) error {
	nm, err := t.check(dst)
	if err != nil {
		return err
	}
	if w <= 0 || h <= 0 || int64(len(pix)) != int64(w)*int64(h) {
		return fmt.Errorf("%w: %d pixels for %dx%d", ErrArg, len(pix), w, h)
	}
	if rng == nil && w == t.Size && h == t.Size && (t.ResizeShorter == 0 || t.ResizeShorter == t.Size) {
		normalizeGray(pix, t.Channels, &nm, dst)
		return nil
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.gray = graySource{pix: pix, stride: w, w: w, h: h, channels: t.Channels}
	defer func() { s.gray.pix = nil }() // do not keep the caller's pixels alive
	if rng == nil {
		resample(s, &s.gray, t.Channels, t.evalRegion(w, h), t.Size, false, &nm, dst)
		return nil
	}
	t.train(s, &s.gray, rng, &nm, dst)
	return nil
}

func normalizeGray(pix []uint8, channels int, nm *norm, dst []float32) {
	if channels == 1 {
		dst = dst[:len(pix)]
		m, inv := nm.mean[0], nm.inv[0]
		for i, v := range pix {
			dst[i] = (float32(v)*(1.0/255) - m) * inv
		}
		return
	}
	dst = dst[:len(pix)*3]
	for i, v := range pix {
		f := float32(v) * (1.0 / 255)
		for c := range 3 {
			dst[i*3+c] = (f - nm.mean[c]) * nm.inv[c]
		}
	}
}
