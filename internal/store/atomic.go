package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// WriteFileAtomic replaces the file at path with what write produces. It
// writes a temporary file in the same directory, fsyncs it, renames it over
// path and fsyncs the directory, so readers see either the old content or
// the new, never a mix, even after a crash. If write or any step before
// the rename fails (or write panics), the temporary file is removed and an
// existing file at path is left untouched. The new file keeps the
// permissions of the one it replaces, or gets 0644.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	mode := fs.FileMode(0o644)
	switch fi, err := os.Stat(path); {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("store: write %q: not a regular file", path)
	case err == nil:
		mode = fi.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("store: write %q: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("store: write %q: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err != nil {
		return fmt.Errorf("store: write %q: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("store: write %q: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("store: write %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: write %q: fsync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: write %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: write %q: %w", path, err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: write %q: renamed, but fsync of the directory failed: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot fsync directories,
// and some file systems refuse with EINVAL; both are treated as done.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
