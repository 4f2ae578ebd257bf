package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
)

// pattern returns a w x h RGBA image with a deterministic gradient.
func pattern(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.RGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), uint8((x + y) * 7), 255})
		}
	}
	return m
}

// fixtures encodes the same image in every format with a Go encoder.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	m := pattern(13, 7)
	out := map[string][]byte{}
	enc := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, m) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, m, &jpeg.Options{Quality: 90}) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, m, &gif.Options{NumColors: 256}) },
		"bmp":  func(b *bytes.Buffer) error { return bmp.Encode(b, m) },
	}
	for name, f := range enc {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatalf("encode %s: %v", name, err)
		}
		out[name] = b.Bytes()
	}
	for _, name := range []string{"tiny-lossless.webp", "tiny-lossy.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func TestDecodeFormats(t *testing.T) {
	fx := fixtures(t)
	tests := []struct {
		name, format string
		w, h         int
	}{
		{"png", "png", 13, 7},
		{"jpeg", "jpeg", 13, 7},
		{"gif", "gif", 13, 7},
		{"bmp", "bmp", 13, 7},
		{"tiny-lossless.webp", "webp", 1, 1},
		{"tiny-lossy.webp", "webp", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := fx[tt.name]
			cfg, format, err := DecodeConfig(bytes.NewReader(data), DefaultLimits())
			if err != nil {
				t.Fatalf("DecodeConfig: %v", err)
			}
			if format != tt.format || cfg.Width != tt.w || cfg.Height != tt.h {
				t.Errorf("DecodeConfig = %s %dx%d; want %s %dx%d", format, cfg.Width, cfg.Height, tt.format, tt.w, tt.h)
			}
			img, err := Decode(bytes.NewReader(data), DefaultLimits())
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := img.Bounds(); got != image.Rect(0, 0, tt.w, tt.h) {
				t.Errorf("bounds = %v; want %dx%d", got, tt.w, tt.h)
			}
			// Every decoded type must go through Eval.
			tr := DefaultTransform(4, 3)
			dst := make([]float32, tr.Len())
			if err := tr.Eval(img, dst); err != nil {
				t.Errorf("Eval: %v", err)
			}
		})
	}
}

func TestDecodeLossless(t *testing.T) {
	fx := fixtures(t)
	want := pattern(13, 7)
	for _, name := range []string{"png", "bmp"} {
		img, err := Decode(bytes.NewReader(fx[name]), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for y := range 7 {
			for x := range 13 {
				r1, g1, b1, _ := img.At(x, y).RGBA()
				r2, g2, b2, _ := want.At(x, y).RGBA()
				if r1 != r2 || g1 != g2 || b1 != b2 {
					t.Fatalf("%s: pixel (%d,%d) = %d,%d,%d; want %d,%d,%d", name, x, y, r1, g1, b1, r2, g2, b2)
				}
			}
		}
	}
}

// pngHeader returns a PNG signature and IHDR chunk declaring w x h RGBA,
// followed by an IDAT chunk of junk that must never be inflated.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", bytes.Repeat([]byte{0x78}, 64))
	return b.Bytes()
}

func TestDecodeLimits(t *testing.T) {
	fx := fixtures(t)
	zeroGIF := []byte("GIF89a\x00\x00\x00\x00\x00\x00\x00;")
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"bomb 100000x100000", pngHeader(100000, 100000), DefaultLimits(), ErrTooLarge},
		{"bomb wide", pngHeader(1<<30, 1), DefaultLimits(), ErrTooLarge},
		{"over max pixels", fx["png"], Limits{MaxPixels: 13*7 - 1}, ErrTooLarge},
		{"at max pixels", fx["png"], Limits{MaxPixels: 13 * 7}, nil},
		{"over max bytes", fx["png"], Limits{MaxBytes: int64(len(fx["png"]) - 1)}, ErrTooLarge},
		{"at max bytes", fx["png"], Limits{MaxBytes: int64(len(fx["png"]))}, nil},
		{"zero size gif", zeroGIF, DefaultLimits(), ErrCorrupt},
		{"not an image", []byte("hello, world"), DefaultLimits(), ErrFormat},
		{"empty", nil, DefaultLimits(), ErrFormat},
		{"truncated png", fx["png"][:len(fx["png"])/2], DefaultLimits(), ErrCorrupt},
		{"truncated jpeg header", fx["jpeg"][:20], DefaultLimits(), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tt.data), tt.lim)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Decode error = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeFileErrorsNameFile(t *testing.T) {
	fx := fixtures(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		lim  Limits
		want error
	}{
		{"truncated", write("truncated.png", fx["png"][:len(fx["png"])-30]), Limits{}, ErrCorrupt},
		{"corrupt", write("corrupt.jpg", []byte("\xff\xd8\xff\xe0garbage")), Limits{}, ErrCorrupt},
		{"not image", write("notes.jpg", []byte("just text")), Limits{}, ErrFormat},
		{"too many bytes", write("big.png", fx["png"]), Limits{MaxBytes: 10}, ErrTooLarge},
		{"bomb", write("bomb.png", pngHeader(100000, 100000)), Limits{}, ErrTooLarge},
		{"missing", filepath.Join(dir, "missing.png"), Limits{}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFile(tt.path, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeFile error = %v; want %v", err, tt.want)
			}
			if err == nil || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("DecodeFile error %q does not name %s", err, tt.path)
			}
			_, _, err = DecodeConfigFile(tt.path, tt.lim)
			if tt.name != "truncated" && !errors.Is(err, tt.want) {
				t.Errorf("DecodeConfigFile error = %v; want %v", err, tt.want)
			}
		})
	}
	img, err := DecodeFile(write("good.gif", fx["gif"]), Limits{})
	if err != nil || img.Bounds().Dx() != 13 {
		t.Errorf("DecodeFile(good.gif) = %v, %v", img, err)
	}
}

// TestPalettedGray checks a GIF with the web-safe palette decodes to a
// Paletted image usable by Eval with one channel.
func TestPalettedGray(t *testing.T) {
	m := image.NewPaletted(image.Rect(0, 0, 2, 2), palette.WebSafe)
	var b bytes.Buffer
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	img, err := Decode(&b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tr := Transform{Size: 2, Channels: 1}
	dst := make([]float32, 4)
	if err := tr.Eval(img, dst); err != nil {
		t.Fatal(err)
	}
	for i, v := range dst {
		if v != 0 { // index 0 of WebSafe is black
			t.Errorf("dst[%d] = %g; want 0", i, v)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range fixtures(f) {
		f.Add(b)
	}
	f.Add(pngHeader(100000, 100000))
	f.Add(pngHeader(3, 3))
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data), lim)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > lim.MaxPixels {
			t.Fatalf("decoded %v outside limits", b)
		}
		tr := Transform{Size: 3, Channels: 3}
		if err := tr.Eval(img, make([]float32, tr.Len())); err != nil {
			t.Fatalf("Eval: %v", err)
		}
	})
}
