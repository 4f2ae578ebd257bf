package imageproc

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func TestDecodeTrimmed(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var p, j bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte("junk"), 1<<18) // 1 MiB
	for _, tc := range []struct {
		name  string
		file  []byte
		slack int // bytes past the image the result may keep
	}{
		{"png", p.Bytes(), 0},
		{"jpeg", j.Bytes(), 4096},
	} {
		for _, pad := range [][]byte{nil, junk} {
			data := append(append([]byte(nil), tc.file...), pad...)
			got, kept, err := DecodeTrimmed(data, Limits{})
			if err != nil {
				t.Fatalf("%s + %d bytes: %v", tc.name, len(pad), err)
			}
			if got.Bounds() != img.Bounds() {
				t.Errorf("%s: bounds %v", tc.name, got.Bounds())
			}
			if len(kept) < len(tc.file) || len(kept) > len(tc.file)+tc.slack {
				t.Errorf("%s + %d bytes of junk: kept %d bytes; want %d (+ at most %d)", tc.name, len(pad), len(kept), len(tc.file), tc.slack)
			}
			if _, err := png.Decode(bytes.NewReader(kept)); tc.name == "png" && err != nil {
				t.Errorf("the kept PNG does not decode: %v", err)
			}
		}
	}
}

func TestMaxDecodedBytes(t *testing.T) {
	// 100×100 16-bit RGBA is 80,000 bytes decoded, 8-bit gray 10,000.
	for _, tc := range []struct {
		img image.Image
		ok  bool
	}{
		{image.NewRGBA64(image.Rect(0, 0, 100, 100)), false},
		{image.NewGray(image.Rect(0, 0, 100, 100)), true},
		{image.NewNRGBA(image.Rect(0, 0, 100, 100)), false},
		{image.NewGray16(image.Rect(0, 0, 100, 100)), true},
	} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, tc.img); err != nil {
			t.Fatal(err)
		}
		_, err := Decode(&buf, Limits{MaxDecodedBytes: 30000})
		if (err == nil) != tc.ok {
			t.Errorf("%T: %v; want ok %v", tc.img, err, tc.ok)
		}
	}
	if BytesPerPixel(color.RGBA64Model) != 8 || BytesPerPixel(color.GrayModel) != 1 || BytesPerPixel(color.Palette{}) != 1 {
		t.Error("BytesPerPixel")
	}
}
