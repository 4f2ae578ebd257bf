// Package imageproc decodes images safely and turns them into normalized
// float32 tensors for the encoder.
//
// All codec registrations (JPEG, PNG, GIF, BMP, WebP) live in this package:
// importing imageproc is enough for image.Decode to know every supported
// format.
package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"strconv"

	// Codecs: register with image.Decode and image.DecodeConfig.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"github.com/irgen/irgen/internal/store"
)

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers can test with errors.Is.
var (
	// ErrTooLarge: the encoded file exceeds Limits.MaxBytes or the declared
	// image exceeds Limits.MaxPixels.
	ErrTooLarge = errors.New("imageproc: image too large")
	// ErrFormat: the data is not in any registered image format.
	ErrFormat = errors.New("imageproc: unknown image format")
	// ErrCorrupt: the header or body of the image could not be decoded, or it
	// declares invalid dimensions.
	ErrCorrupt = errors.New("imageproc: corrupt image")
	// ErrTransform: a Transform field is invalid.
	ErrTransform = errors.New("imageproc: invalid transform")
	// ErrArg: an argument has the wrong size (dst, pix, w, h) or is missing.
	ErrArg = errors.New("imageproc: invalid argument")
)

// Limits bounds the resources spent decoding one image. A zero or negative
// field means the DefaultLimits value.
type Limits struct {
	// MaxBytes is the largest encoded file accepted.
	MaxBytes int64
	// MaxPixels is the largest width*height accepted. It is checked against
	// the header before the image body is decoded, which defeats
	// decompression bombs.
	MaxPixels int64
	// MaxDecodedBytes bounds the memory of the decoded image: width ×
	// height × the bytes a pixel of its color model takes (8 for 16-bit
	// RGBA), checked against the header like MaxPixels.
	MaxDecodedBytes int64
}

// DefaultLimits returns 64 MiB, 64 megapixels and 256 MiB decoded.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 20, MaxPixels: 64 << 20, MaxDecodedBytes: 256 << 20}
}

// BytesPerPixel is the memory a pixel of color model m takes once
// decoded (the largest for a model it does not know).
func BytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

func (lim Limits) resolved() Limits {
	d := DefaultLimits()
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = d.MaxBytes
	}
	if lim.MaxPixels <= 0 {
		lim.MaxPixels = d.MaxPixels
	}
	if lim.MaxDecodedBytes <= 0 {
		lim.MaxDecodedBytes = d.MaxDecodedBytes
	}
	return lim
}

// Decode reads at most lim.MaxBytes from r and decodes the image. The header
// is checked against lim before the body is decoded.
func Decode(r io.Reader, lim Limits) (image.Image, error) {
	return decode(r, lim.resolved(), "", -1)
}

// DecodeFile opens path and decodes it like Decode. Errors name the file.
func DecodeFile(path string, lim Limits) (image.Image, error) {
	lim = lim.resolved()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imageproc: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return decode(f, lim, path, size)
}

// DecodeConfig decodes only the header of an image and checks its dimensions
// against lim.MaxPixels. It returns the format name as image.DecodeConfig does.
func DecodeConfig(r io.Reader, lim Limits) (image.Config, string, error) {
	return decodeConfig(r, lim.resolved(), "")
}

// DecodeConfigFile is DecodeConfig on a file; it also checks the file size
// against lim.MaxBytes. Errors name the file.
func DecodeConfigFile(path string, lim Limits) (image.Config, string, error) {
	lim = lim.resolved()
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, "", fmt.Errorf("imageproc: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return image.Config{}, "", fmt.Errorf("imageproc: %w", err)
	}
	if st.Size() > lim.MaxBytes {
		return image.Config{}, "", fmt.Errorf("%w%s: %d bytes exceeds limit of %d", ErrTooLarge, quoted(path), st.Size(), lim.MaxBytes)
	}
	return decodeConfig(f, lim, path)
}

// quoted returns ` "name"` for use right after a sentinel's text, or "" when
// there is no name.
func quoted(name string) string {
	if name == "" {
		return ""
	}
	return " " + strconv.Quote(name)
}

// decode implements Decode and DecodeFile. size is the file size when known,
// else -1.
func decode(r io.Reader, lim Limits, name string, size int64) (image.Image, error) {
	if size > lim.MaxBytes {
		return nil, fmt.Errorf("%w%s: %d bytes exceeds limit of %d", ErrTooLarge, quoted(name), size, lim.MaxBytes)
	}
	var buf bytes.Buffer
	if size >= 0 {
		buf.Grow(int(size) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, lim.MaxBytes+1)); err != nil {
		if name != "" {
			return nil, fmt.Errorf("imageproc: read %q: %w", name, err)
		}
		return nil, fmt.Errorf("imageproc: read: %w", err)
	}
	if int64(buf.Len()) > lim.MaxBytes {
		return nil, fmt.Errorf("%w%s: more than %d bytes", ErrTooLarge, quoted(name), lim.MaxBytes)
	}
	img, _, err := decodeBytes(buf.Bytes(), lim, name)
	return img, err
}

// DecodeBytes decodes the image file data like Decode, without copying it.
func DecodeBytes(data []byte, lim Limits) (image.Image, error) {
	lim = lim.resolved()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds limit of %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	img, _, err := decodeBytes(data, lim, "")
	return img, err
}

// decodeBytes checks the header of data against lim, decodes the image
// and returns how many bytes of data the decoder read.
func decodeBytes(data []byte, lim Limits, name string) (image.Image, int64, error) {
	if _, _, err := decodeConfig(bytes.NewReader(data), lim, name); err != nil {
		return nil, 0, err
	}
	cr := &store.CountReader{R: bytes.NewReader(data)}
	img, format, err := image.Decode(cr)
	if err != nil {
		return nil, 0, fmt.Errorf("%w%s: %s: %w", ErrCorrupt, quoted(name), format, err)
	}
	// Defensive: the body must agree with the header that was checked.
	b := img.Bounds()
	if err := checkDims(b.Dx(), b.Dy(), lim, name); err != nil {
		return nil, 0, err
	}
	return img, cr.N, nil
}

func decodeConfig(r io.Reader, lim Limits, name string) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return cfg, format, fmt.Errorf("%w%s", ErrFormat, quoted(name))
		}
		return cfg, format, fmt.Errorf("%w%s: %s header: %w", ErrCorrupt, quoted(name), format, err)
	}
	if err := checkDims(cfg.Width, cfg.Height, lim, name); err != nil {
		return cfg, format, err
	}
	if bpp := BytesPerPixel(cfg.ColorModel); int64(cfg.Width)*int64(cfg.Height) > lim.MaxDecodedBytes/bpp {
		return cfg, format, fmt.Errorf("%w%s: %dx%d at %d bytes a pixel exceeds %d bytes decoded",
			ErrTooLarge, quoted(name), cfg.Width, cfg.Height, bpp, lim.MaxDecodedBytes)
	}
	return cfg, format, nil
}

// checkDims refuses empty images and images over lim.MaxPixels, without
// overflowing.
func checkDims(w, h int, lim Limits, name string) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w%s: invalid dimensions %dx%d", ErrCorrupt, quoted(name), w, h)
	}
	if int64(w) > lim.MaxPixels/int64(h) {
		return fmt.Errorf("%w%s: %dx%d exceeds %d pixels", ErrTooLarge, quoted(name), w, h, lim.MaxPixels)
	}
	return nil
}
