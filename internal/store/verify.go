package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Verify checks the size and SHA-256 of the bundle file rel against the
// manifest. A missing, truncated or altered file is an error wrapping
// ErrCorrupt that names the file; an unlisted one wraps ErrNotRecorded.
func (b *Bundle) Verify(rel string) error {
	want, err := b.recorded(rel)
	if err != nil {
		return err
	}
	fi, err := os.Stat(b.Path(rel))
	if err != nil {
		return b.missing(rel, err)
	}
	if fi.Size() != want.Size {
		return sizeError(rel, fi.Size(), want.Size)
	}
	got, err := hashFile(b.Path(rel))
	if err != nil {
		return b.missing(rel, err)
	}
	return compare(rel, got, want)
}

// VerifyAll verifies every recorded file and joins the failures, in path
// order.
func (b *Bundle) VerifyAll() error {
	var errs []error
	for _, rel := range b.Files() {
		errs = append(errs, b.Verify(rel))
	}
	return errors.Join(errs...)
}

// ReadFile returns the content of the bundle file rel after checking it
// against the manifest, as Verify does.
func (b *Bundle) ReadFile(rel string) ([]byte, error) {
	want, err := b.recorded(rel)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(b.Path(rel))
	if err != nil {
		return nil, b.missing(rel, err)
	}
	got := FileInfo{SHA256: digest(data), Size: int64(len(data))}
	if err := compare(rel, got, want); err != nil {
		return nil, err
	}
	return data, nil
}

// recorded returns the manifest entry for rel.
func (b *Bundle) recorded(rel string) (FileInfo, error) {
	if err := checkRel(rel); err != nil {
		return FileInfo{}, err
	}
	b.mu.Lock()
	info, ok := b.m.Files[rel]
	b.mu.Unlock()
	if !ok {
		return FileInfo{}, fmt.Errorf("%w: %q in bundle %q", ErrNotRecorded, rel, b.dir)
	}
	return info, nil
}

// missing wraps a failure to read a recorded file; a file that does not
// exist makes the bundle corrupt.
func (b *Bundle) missing(rel string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q is missing from bundle %q: %w", ErrCorrupt, rel, b.dir, err)
	}
	return fmt.Errorf("store: read %q: %w", rel, err)
}

func compare(rel string, got, want FileInfo) error {
	if got.Size != want.Size {
		return sizeError(rel, got.Size, want.Size)
	}
	if got.SHA256 != want.SHA256 {
		return fmt.Errorf("%w: %q has sha256 %s, manifest records %s", ErrCorrupt, rel, got.SHA256, want.SHA256)
	}
	return nil
}

func sizeError(rel string, got, want int64) error {
	hint := ""
	if got < want {
		hint = " (truncated?)"
	}
	return fmt.Errorf("%w: %q is %d bytes, manifest records %d%s", ErrCorrupt, rel, got, want, hint)
}

// hashFile returns the size and SHA-256 of the file at path.
func hashFile(path string) (FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// digest returns the lower-case hex SHA-256 of data.
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
