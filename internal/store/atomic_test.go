package store

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// dirNames lists the entries of dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := WriteFileAtomic(path, writeString("one")); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, writeString("two")); err != nil {
		t.Fatalf("second write: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "two" {
		t.Errorf("got content %q; want %q", got, "two")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v; want the replaced file's 0600", fi.Mode().Perm())
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"f.bin"}) {
		t.Errorf("directory holds %q; want only f.bin", names)
	}
}

func TestWriteFileAtomicFailure(t *testing.T) {
	errWrite := errors.New("disk on fire")
	for _, tc := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"error-after-partial-write", func(w io.Writer) error {
			// More than the internal buffer, so some bytes reach the temp file.
			if _, err := w.Write(make([]byte, 1<<20)); err != nil {
				return err
			}
			return errWrite
		}},
		{"error-before-write", func(io.Writer) error { return errWrite }},
		{"panic", func(w io.Writer) error {
			io.WriteString(w, "partial")
			panic(errWrite)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.bin")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() {
					if r := recover(); r != nil && r != errWrite {
						panic(r)
					}
				}()
				if err := WriteFileAtomic(path, tc.write); !errors.Is(err, errWrite) {
					t.Errorf("WriteFileAtomic = %v; want %v", err, errWrite)
				}
			}()
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "old" {
				t.Errorf("got content %q; want the previous %q", got, "old")
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"f.bin"}) {
				t.Errorf("directory holds %q; want only f.bin (no temp files)", names)
			}
		})
	}
}

func TestWriteFileAtomicBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		path    string
		wantErr error
	}{
		{"missing-dir", filepath.Join(dir, "nope", "f.bin"), fs.ErrNotExist},
		{"is-dir", dir, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteFileAtomic(tc.path, writeString("x"))
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("WriteFileAtomic(%q) = %v; want an error (%v)", tc.path, err, tc.wantErr)
			}
		})
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q; want nothing", names)
	}
}
