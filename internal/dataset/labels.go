package dataset

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// openLabeled opens a flat folder of images whose classes come from the
// file opt.Labels: CSV rows "path,label" (a first row "path,label" is a
// header, # starts a comment), paths relative to dir. Like a class-folder
// layout, a deterministic QueryFraction of each class are queries and the
// rest are the gallery, which is also the training set. Images in dir that
// the file does not name are left out and counted in an error only when
// none is named at all.
func openLabeled(dir string, opt Options) (*Dataset, error) {
	f, err := os.Open(opt.Labels)
	if err != nil {
		return nil, fmt.Errorf("dataset: labels: %w", err)
	}
	defer f.Close()
	rows, err := parseLabels(f, opt.Labels)
	if err != nil {
		return nil, err
	}
	frac := opt.QueryFraction
	if frac == 0 {
		frac = DefaultQueryFraction
	}
	byClass := map[string][]string{}
	for _, r := range rows {
		byClass[r.label] = append(byClass[r.label], r.path)
	}
	classes := make([]string, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	b := newBuilder(dir, opt)
	for _, c := range classes {
		files := byClass[c]
		slices.Sort(files)
		isQuery := pickQueries(files, frac, opt.Seed)
		for i, p := range files {
			if isQuery[i] {
				b.add(splitQuery, p, c)
				continue
			}
			b.add(splitGallery, p, c)
		}
	}
	names, s := b.build(splitGallery, splitQuery)
	name := filepath.Base(dir)
	if abs, err := filepath.Abs(dir); err == nil {
		name = filepath.Base(abs)
	}
	return &Dataset{Name: name, Classes: names, Train: s[0], Gallery: s[0], Query: s[1]}, nil
}

// labelRow is one row of a labels file.
type labelRow struct{ path, label string }

// parseLabels reads the "path,label" rows of a labels file named name.
// Paths must stay inside the folder and each may appear once.
func parseLabels(r io.Reader, name string) ([]labelRow, error) {
	seen := map[string]int{}
	var rows []labelRow
	err := readRows(r, name, func(rec []string, line int, first bool) error {
		if len(rec) != 2 {
			return lineErr(name, line, "%d fields, want 2 (path,label)", len(rec))
		}
		p, label := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if first && strings.EqualFold(p, "path") && strings.EqualFold(label, "label") {
			return nil
		}
		if p == "" || label == "" {
			return lineErr(name, line, "empty path or label")
		}
		p = path.Clean(filepath.ToSlash(p))
		if filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
			return lineErr(name, line, "path %q is not inside the folder", rec[0])
		}
		if prev, ok := seen[p]; ok {
			return lineErr(name, line, "%s listed again (first on line %d)", p, prev)
		}
		seen[p] = line
		rows = append(rows, labelRow{p, label})
		return nil
	})
	return someRows(name, rows, err)
}
