package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Bundle is a model directory and its manifest. Changes to the manifest
// (WriteFile, Record, SetConfig, SetDataset) are kept in memory until Save.
// A Bundle is safe for concurrent use.
type Bundle struct {
	dir string

	mu sync.Mutex
	m  Manifest
}

// Create starts a new bundle in dir, creating the directory if needed. It
// refuses a directory that already holds a manifest (the error wraps
// fs.ErrExist). Nothing is written until WriteFile or Save.
func Create(dir string) (*Bundle, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create bundle: %w", err)
	}
	switch _, err := os.Lstat(filepath.Join(dir, ManifestName)); {
	case err == nil:
		return nil, fmt.Errorf("store: create bundle %q: %w", dir, fs.ErrExist)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: create bundle %q: %w", dir, err)
	}
	return &Bundle{dir: dir, m: Manifest{
		Format:  FormatName,
		Version: Version,
		Created: time.Now().UTC().Truncate(time.Second),
		Config:  make(map[string]json.RawMessage),
		Files:   make(map[string]FileInfo),
	}}, nil
}

// Open reads the manifest of the bundle in dir, checking its format and
// version. A missing manifest is an error wrapping fs.ErrNotExist. Files
// are not checked; use VerifyAll for that.
func Open(dir string) (*Bundle, error) {
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("store: open bundle: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("store: open bundle %q: %w", dir, err)
	}
	if len(data) > maxManifestSize {
		return nil, fmt.Errorf("store: open bundle %q: %w: larger than %d bytes", dir, ErrManifest, maxManifestSize)
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("store: open bundle %q: %w", dir, err)
	}
	return &Bundle{dir: dir, m: m}, nil
}

// Dir returns the bundle directory.
func (b *Bundle) Dir() string { return b.dir }

// Path returns the file-system path of rel, a slash-separated path relative
// to the bundle. It does not validate rel; the methods that take rel do.
func (b *Bundle) Path(rel string) string {
	return filepath.Join(b.dir, filepath.FromSlash(rel))
}

// Manifest returns a copy of the in-memory manifest.
func (b *Bundle) Manifest() Manifest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m.clone()
}

// Files returns the recorded paths in sorted order.
func (b *Bundle) Files() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, 0, len(b.m.Files))
	for rel := range b.m.Files {
		names = append(names, rel)
	}
	slices.Sort(names)
	return names
}

// WriteFile atomically writes the bundle file rel (creating parent
// directories) with what write produces, and records its size and SHA-256.
func (b *Bundle) WriteFile(rel string, write func(w io.Writer) error) error {
	if err := checkRel(rel); err != nil {
		return fmt.Errorf("store: write file: %w", err)
	}
	path := b.Path(rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("store: write %q: %w", rel, err)
	}
	var info FileInfo
	err := WriteFileAtomic(path, func(w io.Writer) error {
		h := sha256.New()
		cw := &CountWriter{W: io.MultiWriter(w, h)}
		if err := write(cw); err != nil {
			return err
		}
		info = FileInfo{SHA256: hex.EncodeToString(h.Sum(nil)), Size: cw.N}
		return nil
	})
	if err != nil {
		return err
	}
	b.setFile(rel, info)
	return nil
}

// setFile records info as bundle file rel's.
func (b *Bundle) setFile(rel string, info FileInfo) {
	b.mu.Lock()
	b.m.Files[rel] = info
	b.mu.Unlock()
}

// Record hashes the existing bundle file rel and records it. When rel is a
// directory (a GoMLX checkpoint, say), every regular file below it is
// recorded and entries for files below it that no longer exist are
// dropped. Symbolic links and other non-regular files are refused.
func (b *Bundle) Record(rel string) error {
	if err := checkRel(rel); err != nil {
		return fmt.Errorf("store: record: %w", err)
	}
	fi, err := os.Lstat(b.Path(rel))
	if err != nil {
		return fmt.Errorf("store: record: %w", err)
	}
	if fi.Mode().IsRegular() {
		info, err := hashFile(b.Path(rel))
		if err != nil {
			return fmt.Errorf("store: record %q: %w", rel, err)
		}
		b.setFile(rel, info)
		return nil
	}
	if !fi.IsDir() {
		return fmt.Errorf("store: record %q: not a regular file or directory", rel)
	}
	found := make(map[string]FileInfo)
	err = filepath.WalkDir(b.Path(rel), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sub, err := filepath.Rel(b.dir, path)
		if err != nil {
			return err
		}
		sub = filepath.ToSlash(sub)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%q: not a regular file", sub)
		}
		info, err := hashFile(path)
		if err != nil {
			return err
		}
		found[sub] = info
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record %q: %w", rel, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for old := range b.m.Files {
		if strings.HasPrefix(old, rel+"/") {
			delete(b.m.Files, old)
		}
	}
	for sub, info := range found {
		b.m.Files[sub] = info
	}
	return nil
}

// SetConfig stores v, encoded as JSON, as the configuration of component
// key.
func (b *Bundle) SetConfig(key string, v any) error {
	if key == "" {
		return fmt.Errorf("store: set config: empty key")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: set config %q: %w", key, err)
	}
	b.mu.Lock()
	b.m.Config[key] = raw
	b.mu.Unlock()
	return nil
}

// Config decodes the configuration of component key into v. A missing key
// is ErrNoConfig.
func (b *Bundle) Config(key string, v any) error {
	b.mu.Lock()
	raw, ok := b.m.Config[key]
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w %q", ErrNoConfig, key)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("store: config %q: %w", key, err)
	}
	return nil
}

// SetDataset records the dataset the model was built from.
func (b *Bundle) SetDataset(d Dataset) {
	b.mu.Lock()
	b.m.Dataset = d
	b.mu.Unlock()
}

// Dataset returns the recorded dataset.
func (b *Bundle) Dataset() Dataset {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m.Dataset
}

// Save atomically writes manifest.json.
func (b *Bundle) Save() error {
	b.mu.Lock()
	data, err := b.m.encode()
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return WriteFileAtomic(b.Path(ManifestName), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Forget drops files and configuration sections from the manifest, for a
// stage that is retrained: the caller removes the files themselves and
// calls Save.
func (b *Bundle) Forget(files []string, configs ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range files {
		delete(b.m.Files, f)
	}
	for _, c := range configs {
		delete(b.m.Config, c)
	}
}
