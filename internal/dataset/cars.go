package dataset

import (
	"fmt"
	"math"
	"os"
	"path"
	"strconv"
)

// carsAnnos is the Cars196 annotation file (MAT v5).
const carsAnnos = "cars_annos.mat"

// maxMATBytes bounds the size of a .mat file and of each of its decompressed
// variables.
const maxMATBytes = 256 << 20

// openCars opens Cars196 from cars_annos.mat: struct array annotations
// (relative_im_path, class, test, bbox_*) and cell class_names. Images with
// test == 0 are Train and Gallery, the others Query. Paths are relative to
// dir.
func openCars(dir, file string, opt Options) (*Dataset, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	vars, err := readMAT(f, maxMATBytes)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", file, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrFormat, file, fmt.Sprintf(format, args...))
	}
	names := vars["class_names"]
	if names == nil || names.class != mxCELL {
		return nil, bad("no cell array class_names")
	}
	classes := make([]string, len(names.cells))
	for i, c := range names.cells {
		if c == nil || c.class != mxCHAR {
			return nil, bad("class_names{%d} is not a string", i+1)
		}
		classes[i] = c.str
	}
	ann := vars["annotations"]
	if ann == nil || ann.class != mxSTRUCT {
		return nil, bad("no struct array annotations")
	}
	train := &Files{Root: dir, Limits: opt.Limits}
	query := &Files{Root: dir, Limits: opt.Limits}
	for i := range ann.elems {
		p := ann.field(i, "relative_im_path")
		if p == nil || p.class != mxCHAR || p.str == "" {
			return nil, bad("annotations(%d).relative_im_path is not a string", i+1)
		}
		class, ok1 := ann.field(i, "class").scalar()
		test, ok2 := ann.field(i, "test").scalar()
		if !ok1 || class != math.Trunc(class) || class < 1 || class > float64(len(classes)) {
			return nil, bad("annotations(%d).class not in 1..%d", i+1, len(classes))
		}
		if !ok2 || (test != 0 && test != 1) {
			return nil, bad("annotations(%d).test is not 0 or 1", i+1)
		}
		s := train
		if test == 1 {
			s = query
		}
		s.Paths = append(s.Paths, path.Clean(p.str))
		s.Labels = append(s.Labels, int(class)-1)
	}
	if len(ann.elems) == 0 {
		return nil, bad("no annotations")
	}
	for i, c := range classes {
		if c == "" {
			classes[i] = strconv.Itoa(i + 1)
		}
	}
	return &Dataset{Name: "cars196", Classes: classes, Train: train, Gallery: train, Query: query}, nil
}
