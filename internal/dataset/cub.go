package dataset

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
)

// CUB-200-2011 metadata files.
var cubFiles = []string{"images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt"}

// openCUB opens CUB-200-2011 as IRGen uses it: the training images
// (is_training_image == 1) are Train and Gallery, the others are Query.
// Images live under dir/images/.
func openCUB(dir string, opt Options) (*Dataset, error) {
	classFile := filepath.Join(dir, "classes.txt")
	classNames := map[int]string{}
	err := readLines(classFile, func(line int, text string) error {
		f, ok := fieldsN(text, 2)
		if !ok {
			return lineErr(classFile, line, "want \"class_id name\"")
		}
		id, err := strconv.Atoi(f[0])
		if err != nil || id < 1 {
			return lineErr(classFile, line, "bad class id %q", f[0])
		}
		if _, dup := classNames[id]; dup {
			return lineErr(classFile, line, "duplicate class id %d", id)
		}
		classNames[id] = f[1]
		return nil
	})
	if err != nil {
		return nil, err
	}
	classes := make([]string, len(classNames))
	for id, name := range classNames {
		if id > len(classes) {
			return nil, fmt.Errorf("%w: %s: class ids are not 1..%d", ErrFormat, classFile, len(classes))
		}
		classes[id-1] = name
	}

	var ids []int
	paths := map[int]string{}
	imagesFile := filepath.Join(dir, "images.txt")
	err = readLines(imagesFile, func(line int, text string) error {
		f, ok := fieldsN(text, 2)
		if !ok {
			return lineErr(imagesFile, line, "want \"image_id path\"")
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return lineErr(imagesFile, line, "bad image id %q", f[0])
		}
		if _, dup := paths[id]; dup {
			return lineErr(imagesFile, line, "duplicate image id %d", id)
		}
		paths[id] = path.Join("images", f[1])
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	labels, err := readIDInts(filepath.Join(dir, "image_class_labels.txt"), paths, 1, len(classes))
	if err != nil {
		return nil, err
	}
	isTrain, err := readIDInts(filepath.Join(dir, "train_test_split.txt"), paths, 0, 1)
	if err != nil {
		return nil, err
	}
	train := &Files{Root: dir, Limits: opt.Limits}
	query := &Files{Root: dir, Limits: opt.Limits}
	for _, id := range ids {
		s := query
		if isTrain[id] == 1 {
			s = train
		}
		s.Paths = append(s.Paths, paths[id])
		s.Labels = append(s.Labels, labels[id]-1)
	}
	return &Dataset{Name: "cub200", Classes: classes, Train: train, Gallery: train, Query: query}, nil
}

// readIDInts reads "image_id value" lines, with value in [lo, hi], for
// exactly the image ids of known.
func readIDInts(file string, known map[int]string, lo, hi int) (map[int]int, error) {
	out := make(map[int]int, len(known))
	err := readLines(file, func(line int, text string) error {
		f, ok := fieldsN(text, 2)
		if !ok {
			return lineErr(file, line, "want \"image_id value\"")
		}
		id, err1 := strconv.Atoi(f[0])
		v, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return lineErr(file, line, "want two integers, got %q", text)
		}
		if _, ok := known[id]; !ok {
			return lineErr(file, line, "image id %d not in images.txt", id)
		}
		if _, dup := out[id]; dup {
			return lineErr(file, line, "duplicate image id %d", id)
		}
		if v < lo || v > hi {
			return lineErr(file, line, "value %d not in [%d, %d]", v, lo, hi)
		}
		out[id] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) != len(known) {
		return nil, fmt.Errorf("%w: %s: %d images listed, images.txt has %d", ErrFormat, file, len(out), len(known))
	}
	return out, nil
}
