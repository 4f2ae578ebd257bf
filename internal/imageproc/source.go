package imageproc

import (
	"image"
	"image/color"
)

// Luma weights (ITU-R BT.601), as used by image/color.GrayModel.
const (
	lumaR = 0.299
	lumaG = 0.587
	lumaB = 0.114
)

// source reads rows of an image as float32 channel values in [0,1], converted
// to the requested channel count (1: luma, 3: RGB).
type source interface {
	size() (w, h int)
	// row writes pixels [x0,x1) of row y into dst, channels interleaved;
	// len(dst) >= (x1-x0)*channels. Coordinates start at 0.
	row(y, x0, x1 int, dst []float32)
}

// newSource returns a fast source for the common image types and a generic
// one for the rest. Alpha is composited over black.
func newSource(img image.Image, channels int) source {
	switch m := img.(type) {
	case *image.Gray:
		return &graySource{pix: m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], stride: m.Stride,
			w: m.Rect.Dx(), h: m.Rect.Dy(), channels: channels}
	case *image.RGBA:
		return &rgbaSource{pix: m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], stride: m.Stride,
			w: m.Rect.Dx(), h: m.Rect.Dy(), channels: channels}
	case *image.NRGBA:
		return &rgbaSource{pix: m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y):], stride: m.Stride,
			w: m.Rect.Dx(), h: m.Rect.Dy(), channels: channels, straight: true}
	case *image.YCbCr:
		return &ycbcrSource{m: m, channels: channels}
	case *image.Paletted:
		return newPalettedSource(m, channels)
	}
	return &genericSource{m: img, channels: channels}
}

// put stores an RGB value in [0,1] at dst[i*channels:].
func put(dst []float32, i, channels int, r, g, b float32) {
	if channels == 1 {
		dst[i] = lumaR*r + lumaG*g + lumaB*b
		return
	}
	d := dst[i*3 : i*3+3]
	d[0], d[1], d[2] = r, g, b
}

// graySource reads 8-bit gray pixels; it also backs GrayToFloat.
type graySource struct {
	pix      []uint8
	stride   int
	w, h     int
	channels int
}

func (s *graySource) size() (int, int) { return s.w, s.h }

func (s *graySource) row(y, x0, x1 int, dst []float32) {
	p := s.pix[y*s.stride+x0 : y*s.stride+x1]
	if s.channels == 1 {
		dst = dst[:len(p)]
		for i, v := range p {
			dst[i] = float32(v) * (1.0 / 255)
		}
		return
	}
	dst = dst[:len(p)*3]
	for i, v := range p {
		f := float32(v) * (1.0 / 255)
		dst[i*3], dst[i*3+1], dst[i*3+2] = f, f, f
	}
}

// rgbaSource reads RGBA (premultiplied) or NRGBA (straight alpha) pixels.
type rgbaSource struct {
	pix      []uint8
	stride   int
	w, h     int
	channels int
	straight bool
}

func (s *rgbaSource) size() (int, int) { return s.w, s.h }

func (s *rgbaSource) row(y, x0, x1 int, dst []float32) {
	p := s.pix[y*s.stride+x0*4 : y*s.stride+x1*4]
	for i := 0; i < x1-x0; i++ {
		q := p[i*4 : i*4+4]
		r, g, b := float32(q[0])*(1.0/255), float32(q[1])*(1.0/255), float32(q[2])*(1.0/255)
		if s.straight && q[3] != 255 {
			a := float32(q[3]) * (1.0 / 255)
			r, g, b = r*a, g*a, b*a
		}
		put(dst, i, s.channels, r, g, b)
	}
}

// ycbcrSource reads JPEG-style YCbCr images. With one channel it returns Y
// directly, which is the JPEG (full-range BT.601) luma.
type ycbcrSource struct {
	m        *image.YCbCr
	channels int
}

func (s *ycbcrSource) size() (int, int) { return s.m.Rect.Dx(), s.m.Rect.Dy() }

func (s *ycbcrSource) row(y, x0, x1 int, dst []float32) {
	m := s.m
	py := y + m.Rect.Min.Y
	for i := 0; i < x1-x0; i++ {
		px := x0 + i + m.Rect.Min.X
		yy := m.Y[m.YOffset(px, py)]
		if s.channels == 1 {
			dst[i] = float32(yy) * (1.0 / 255)
			continue
		}
		ci := m.COffset(px, py)
		r, g, b := color.YCbCrToRGB(yy, m.Cb[ci], m.Cr[ci])
		put(dst, i, 3, float32(r)*(1.0/255), float32(g)*(1.0/255), float32(b)*(1.0/255))
	}
}

// palettedSource maps palette indices through a precomputed table.
type palettedSource struct {
	m        *image.Paletted
	channels int
	lut      [256 * 3]float32
}

func newPalettedSource(m *image.Paletted, channels int) *palettedSource {
	s := &palettedSource{m: m, channels: channels}
	for i, c := range m.Palette {
		if i >= 256 {
			break
		}
		r, g, b, _ := c.RGBA()
		put(s.lut[:], i, channels, float32(r)/0xffff, float32(g)/0xffff, float32(b)/0xffff)
	}
	return s
}

func (s *palettedSource) size() (int, int) { return s.m.Rect.Dx(), s.m.Rect.Dy() }

func (s *palettedSource) row(y, x0, x1 int, dst []float32) {
	m := s.m
	off := m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y)
	p := m.Pix[off+x0 : off+x1]
	if s.channels == 1 {
		for i, v := range p {
			dst[i] = s.lut[v] // indices past the palette read as black
		}
		return
	}
	for i, v := range p {
		copy(dst[i*3:i*3+3], s.lut[int(v)*3:int(v)*3+3])
	}
}

// genericSource goes through image.Image.At for any other type.
type genericSource struct {
	m        image.Image
	channels int
}

func (s *genericSource) size() (int, int) { b := s.m.Bounds(); return b.Dx(), b.Dy() }

func (s *genericSource) row(y, x0, x1 int, dst []float32) {
	b := s.m.Bounds()
	for i := 0; i < x1-x0; i++ {
		r, g, bb, _ := s.m.At(b.Min.X+x0+i, b.Min.Y+y).RGBA()
		put(dst, i, s.channels, float32(r)/0xffff, float32(g)/0xffff, float32(bb)/0xffff)
	}
}
