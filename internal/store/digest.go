package store

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
)

// KeysDigest returns the lower-case hex SHA-256 of the gallery keys, each
// followed by a newline. Files computed for a gallery (IDs, embeddings,
// histograms) record it, so that a gallery changed since is detected.
func KeysDigest(keys []string) string {
	h := sha256.New()
	for _, k := range keys {
		io.WriteString(h, k)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
