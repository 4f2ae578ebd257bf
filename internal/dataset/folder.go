package dataset

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// imageExts are the file extensions (lower case) read as images; other files
// in a class folder are ignored.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true, ".webp": true,
}

// IsImageName reports whether name has an image file extension.
func IsImageName(name string) bool {
	return imageExts[strings.ToLower(filepath.Ext(name))]
}

// openFolder reads root/<class>/**/*.jpg: classes are the sub-folder names,
// sorted; per class a deterministic QueryFraction of the images are queries
// and the rest are the gallery, which is also the training set.
func openFolder(dir string, opt Options) (*Dataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	frac := opt.QueryFraction
	if frac == 0 {
		frac = DefaultQueryFraction
	}
	gallery := &Files{Root: dir, Limits: opt.Limits}
	query := &Files{Root: dir, Limits: opt.Limits}
	var classes []string
	for _, e := range entries { // sorted by name
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		classDir := filepath.Join(dir, name)
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(classDir)
			isDir = err == nil && st.IsDir()
		}
		if !isDir {
			continue
		}
		files, err := listImages(classDir, name)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			continue
		}
		label := len(classes)
		classes = append(classes, name)
		isQuery := pickQueries(files, frac, opt.Seed)
		for i, f := range files {
			s := gallery
			if isQuery[i] {
				s = query
			}
			s.Paths = append(s.Paths, f)
			s.Labels = append(s.Labels, label)
		}
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("%w: %s: no known dataset files and no class sub-folders with images", ErrLayout, dir)
	}
	name := filepath.Base(dir)
	if abs, err := filepath.Abs(dir); err == nil {
		name = filepath.Base(abs)
	}
	return &Dataset{Name: name, Classes: classes, Train: gallery, Gallery: gallery, Query: query}, nil
}

// listImages returns the image files under root, recursively, as sorted
// slash paths prefixed by prefix. Hidden files and folders are skipped.
func listImages(root, prefix string) ([]string, error) {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var out []string
	err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != real && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !IsImageName(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(real, p)
		if err != nil {
			return err
		}
		out = append(out, path.Join(prefix, filepath.ToSlash(rel)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: list %s: %w", root, err)
	}
	slices.Sort(out)
	return out, nil
}

// pickQueries marks round(frac*n) of the files as queries, chosen by a hash
// of the seed and the path so the choice does not depend on listing order.
// A class with at least two files gets at least one query and keeps at
// least one gallery item.
func pickQueries(files []string, frac float64, seed int64) []bool {
	n := len(files)
	isQuery := make([]bool, n)
	nq := int(math.Round(frac * float64(n)))
	if frac > 0 && n >= 2 {
		nq = max(nq, 1)
	}
	nq = min(nq, n-1)
	if nq <= 0 {
		return isQuery
	}
	type keyed struct {
		h uint64
		i int
	}
	order := make([]keyed, n)
	var sb [8]byte
	binary.LittleEndian.PutUint64(sb[:], uint64(seed))
	for i, f := range files {
		h := fnv.New64a()
		h.Write(sb[:])
		h.Write([]byte(f))
		order[i] = keyed{h.Sum64(), i}
	}
	slices.SortFunc(order, func(a, b keyed) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return strings.Compare(files[a.i], files[b.i])
	})
	for _, k := range order[:nq] {
		isQuery[k.i] = true
	}
	return isQuery
}
