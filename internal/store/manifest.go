// Package store keeps a trained model on disk as a bundle: a directory of
// artifact files plus a versioned manifest.json that records each file's
// size and SHA-256, per-component configuration and the dataset the model
// was built from. Every write is atomic (temp file, fsync, rename, fsync of
// the directory).
package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

const (
	// ManifestName is the manifest's file name inside a bundle.
	ManifestName = "manifest.json"
	// FormatName identifies irgen bundles in the manifest's "format" field.
	FormatName = "irgen-model"
	// Version is the manifest version this package reads and writes.
	Version = 1

	maxManifestSize = 64 << 20
)

// Sentinel errors. Returned errors wrap one of these with the bundle or
// file they concern.
var (
	// ErrFormat reports a manifest that is not an irgen bundle manifest.
	ErrFormat = errors.New("store: not an irgen model bundle")
	// ErrVersion reports a manifest version this build cannot read.
	ErrVersion = errors.New("store: unsupported bundle version")
	// ErrManifest reports a malformed manifest.
	ErrManifest = errors.New("store: malformed manifest")
	// ErrCorrupt reports a bundle file that is missing, truncated or whose
	// content does not match the digest in the manifest.
	ErrCorrupt = errors.New("store: corrupt bundle file")
	// ErrNotRecorded reports a file the manifest does not list.
	ErrNotRecorded = errors.New("store: file not in manifest")
	// ErrNoConfig reports a config key the manifest does not hold.
	ErrNoConfig = errors.New("store: no such config key")
	// ErrPath reports a bundle-relative path that is not a clean, local,
	// slash-separated path.
	ErrPath = errors.New("store: invalid bundle path")
)

// Manifest is the content of manifest.json.
type Manifest struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Config holds one JSON document per component ("encoder", "rq", ...).
	Config  map[string]json.RawMessage `json:"config"`
	Dataset Dataset                    `json:"dataset"`
	// Files maps slash-separated paths relative to the bundle directory to
	// their size and digest.
	Files map[string]FileInfo `json:"files"`
}

// Dataset identifies the data a model was built from.
type Dataset struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// FileInfo is the recorded size and SHA-256 (lower-case hex) of a file.
type FileInfo struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// parseManifest decodes and validates a manifest. The format and version
// are checked before the rest is decoded, so that a newer layout is
// reported as ErrVersion rather than as a decoding error.
func parseManifest(data []byte) (Manifest, error) {
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if head.Format != FormatName {
		return Manifest{}, fmt.Errorf("%w: manifest format is %q, want %q", ErrFormat, head.Format, FormatName)
	}
	if head.Version != Version {
		return Manifest{}, fmt.Errorf("%w: manifest version %d, this build reads version %d (a newer irgen wrote it?)",
			ErrVersion, head.Version, Version)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	if m.Config == nil {
		m.Config = make(map[string]json.RawMessage)
	}
	if m.Files == nil {
		m.Files = make(map[string]FileInfo)
	}
	for rel, info := range m.Files {
		if err := checkRel(rel); err != nil {
			return Manifest{}, fmt.Errorf("%w: files: %w", ErrManifest, err)
		}
		if !validDigest(info.SHA256) {
			return Manifest{}, fmt.Errorf("%w: files: %q: sha256 %q is not 64 lower-case hex digits", ErrManifest, rel, info.SHA256)
		}
		if info.Size < 0 {
			return Manifest{}, fmt.Errorf("%w: files: %q: negative size %d", ErrManifest, rel, info.Size)
		}
	}
	for key, raw := range m.Config {
		if key == "" {
			return Manifest{}, fmt.Errorf("%w: config: empty key", ErrManifest)
		}
		// Saved manifests are indented; keep configs compact in memory.
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return Manifest{}, fmt.Errorf("%w: config %q: %w", ErrManifest, key, err)
		}
		m.Config[key] = buf.Bytes()
	}
	return m, nil
}

// encode returns the manifest as indented JSON.
func (m *Manifest) encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("store: encode manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// clone returns a deep copy.
func (m *Manifest) clone() Manifest {
	c := *m
	c.Config = make(map[string]json.RawMessage, len(m.Config))
	for k, v := range m.Config {
		c.Config[k] = bytes.Clone(v)
	}
	c.Files = make(map[string]FileInfo, len(m.Files))
	for k, v := range m.Files {
		c.Files[k] = v
	}
	return c
}

// checkRel accepts clean, local, slash-separated paths naming something
// inside the bundle other than the manifest itself.
func checkRel(rel string) error {
	if !fs.ValidPath(rel) || rel == "." || strings.Contains(rel, `\`) || rel == ManifestName {
		return fmt.Errorf("%w: %q", ErrPath, rel)
	}
	return nil
}

func validDigest(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
