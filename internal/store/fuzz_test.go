package store

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseManifest checks that the manifest parser never panics and that
// whatever it accepts survives an encode/parse round trip unchanged.
func FuzzParseManifest(f *testing.F) {
	sha := strings.Repeat("0f", 32)
	for _, seed := range []string{
		`{"format": "irgen-model", "version": 1, "created": "2026-01-02T15:04:05Z",
		  "config": {"rq": {"levels": 3, "codebook": 256}, "encoder": [1, "x", null]},
		  "dataset": {"name": "cifar10", "digest": "sha256:abc"},
		  "files": {"rq.bin": {"sha256": "` + sha + `", "size": 9}, "encoder/step-1/params.bin": {"sha256": "` + sha + `", "size": 0}}}`,
		`{"format": "irgen-model", "version": 1, "created": "2026-01-02T15:04:05+01:00", "config": {"a": "<&>"}}`,
		`{"format": "irgen-model", "version": 2}`,
		`{"format": "irgen-model", "version": 1, "files": {"../x": {"sha256": "` + sha + `", "size": 1}}}`,
		`{"format": "irgen-model", "version": 1,`,
		`null`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data)
		if err != nil {
			return
		}
		enc, err := m.encode()
		if err != nil {
			t.Fatalf("encode of a parsed manifest: %v", err)
		}
		m2, err := parseManifest(enc)
		if err != nil {
			t.Fatalf("parse of an encoded manifest: %v\n%s", err, enc)
		}
		enc2, err := m2.encode()
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the manifest:\n%s\n---\n%s", enc, enc2)
		}
	})
}
