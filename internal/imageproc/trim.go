package imageproc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
)

// DecodeTrimmed decodes data like Decode and also returns data without
// what follows the image: a PNG ends with its IEND chunk; other formats
// end where the decoder stopped reading (it reads ahead in blocks of at
// most 4 KiB). A file padded with junk is thus stored at about its image's
// size.
func DecodeTrimmed(data []byte, lim Limits) (image.Image, []byte, error) {
	lim = lim.resolved()
	if int64(len(data)) > lim.MaxBytes {
		return nil, nil, fmt.Errorf("%w: %d bytes exceeds limit of %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	img, used, err := decodeBytes(data, lim, "")
	if err != nil {
		return nil, nil, err
	}
	end := min(int(used), len(data))
	if n, ok := pngEnd(data); ok {
		end = n
	}
	return img, data[:end], nil
}

// pngEnd returns the length of the PNG file at the start of data, through
// its IEND chunk.
func pngEnd(data []byte) (int, bool) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(data, []byte(sig)) {
		return 0, false
	}
	off := len(sig)
	for off+12 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[off:]))
		if n < 0 || n > len(data) {
			return 0, false
		}
		end := off + 12 + n
		if end > len(data) {
			return 0, false
		}
		if string(data[off+4:off+8]) == "IEND" {
			return end, true
		}
		off = end
	}
	return 0, false
}
