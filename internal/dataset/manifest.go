package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// manifestRow is one row of a CSV manifest.
type manifestRow struct {
	path, label, split string
	line               int
}

// Manifest split values. "trainval" rows go to both Train and Gallery; a
// manifest without gallery (or trainval) rows has its train rows as the
// gallery.
const (
	splitTrain    = "train"
	splitGallery  = "gallery"
	splitQuery    = "query"
	splitTrainval = "trainval"
)

// parseManifest reads "path,label,split" rows. A first row "path,label,split"
// is a header; lines starting with # are comments. name is used in errors.
func parseManifest(r io.Reader, name string) ([]manifestRow, error) {
	var rows []manifestRow
	err := readRows(r, name, func(rec []string, line int, first bool) error {
		if len(rec) != 3 {
			return lineErr(name, line, "%d fields, want 3 (path,label,split)", len(rec))
		}
		p := strings.TrimSpace(rec[0])
		label := strings.TrimSpace(rec[1])
		split := strings.ToLower(strings.TrimSpace(rec[2]))
		if first && strings.EqualFold(p, "path") && strings.EqualFold(label, "label") && split == "split" {
			return nil
		}
		if p == "" {
			return lineErr(name, line, "empty path")
		}
		if label == "" {
			return lineErr(name, line, "empty label")
		}
		switch split {
		case splitTrain, splitGallery, splitQuery, splitTrainval:
		default:
			return lineErr(name, line, "split %q, want train, gallery, query or trainval", rec[2])
		}
		rows = append(rows, manifestRow{path: p, label: label, split: split, line: line})
		return nil
	})
	return someRows(name, rows, err)
}

// openManifest opens a CSV manifest; relative paths are relative to its
// directory. Labels are class names, sorted (numerically if all integers).
func openManifest(file string, opt Options) (*Dataset, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	rows, err := parseManifest(f, file)
	if err != nil {
		return nil, err
	}
	b := newBuilder(filepath.Dir(file), opt)
	for _, r := range rows {
		p := r.path
		if filepath.IsAbs(p) {
			p = filepath.ToSlash(filepath.Clean(p))
		} else {
			p = path.Clean(filepath.ToSlash(p))
		}
		switch r.split {
		case splitTrainval:
			b.add(splitTrain, p, r.label)
			b.add(splitGallery, p, r.label)
		default:
			b.add(r.split, p, r.label)
		}
	}
	classes, s := b.build(splitTrain, splitGallery, splitQuery)
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	ds := &Dataset{Name: name, Classes: classes, Train: s[0], Gallery: s[1], Query: s[2]}
	if ds.Gallery.Len() == 0 {
		// No gallery rows: the training images are the gallery, the
		// usual retrieval setting.
		ds.Gallery = ds.Train
	}
	return ds, nil
}

// readRows reads the CSV rows of r, a file named name in errors: fields
// may vary in number, leading spaces are trimmed and lines starting with #
// are comments. It calls row for each with its line number and whether it
// is the first row (a possible header).
func readRows(r io.Reader, name string, row func(rec []string, line int, first bool) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return lineErr(name, pe.StartLine, "%v", pe.Err)
			}
			return fmt.Errorf("dataset: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if err := row(rec, line, first); err != nil {
			return err
		}
	}
}
