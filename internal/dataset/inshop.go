package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// inshopList is the In-shop Clothes partition file, found in the dataset
// directory or its Eval/ sub-folder.
const inshopList = "list_eval_partition.txt"

// openInShop opens In-shop Clothes Retrieval. Classes are item ids. As in
// IRGen, Train is the training and gallery images together; Gallery and
// Query are the gallery and query images. Image paths (img/...) are relative
// to dir.
func openInShop(dir string, opt Options) (*Dataset, error) {
	file := filepath.Join(dir, inshopList)
	if _, err := os.Stat(file); err != nil {
		file = filepath.Join(dir, "Eval", inshopList)
	}
	b := newBuilder(dir, opt)
	declared, rows, n := -1, 0, 0
	err := readLines(file, func(line int, text string) error {
		n++
		switch n {
		case 1:
			c, err := strconv.Atoi(text)
			if err != nil || c < 0 {
				return lineErr(file, line, "want the image count, got %q", text)
			}
			declared = c
			return nil
		case 2:
			return nil // "image_name item_id evaluation_status"
		}
		f, ok := fieldsN(text, 3)
		if !ok {
			return lineErr(file, line, "want \"image_name item_id evaluation_status\"")
		}
		switch f[2] {
		case "train":
			b.add(splitTrain, f[0], f[1])
		case "gallery":
			b.add(splitTrain, f[0], f[1])
			b.add(splitGallery, f[0], f[1])
		case "query":
			b.add(splitQuery, f[0], f[1])
		default:
			return lineErr(file, line, "status %q, want train, query or gallery", f[2])
		}
		rows++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if declared < 0 {
		return nil, fmt.Errorf("%w: %s: empty", ErrFormat, file)
	}
	if rows != declared {
		return nil, fmt.Errorf("%w: %s: header says %d images, found %d", ErrFormat, file, declared, rows)
	}
	classes, s := b.build(splitTrain, splitGallery, splitQuery)
	return &Dataset{Name: "inshop", Classes: classes, Train: s[0], Gallery: s[1], Query: s[2]}, nil
}
