package dataset

import (
	"path/filepath"
	"strconv"
	"strings"
)

// Stanford Online Products list files.
const (
	sopTrain = "Ebay_train.txt"
	sopTest  = "Ebay_test.txt"
)

// openSOP opens Stanford Online Products: Ebay_train is Train; Ebay_test is
// both Gallery and Query (leave-one-out, QueryInGallery). Classes are the
// class ids, in numeric order.
func openSOP(dir string, opt Options) (*Dataset, error) {
	b := newBuilder(dir, opt)
	for _, sp := range [][2]string{{sopTrain, splitTrain}, {sopTest, splitGallery}} {
		file := filepath.Join(dir, sp[0])
		err := readLines(file, func(line int, text string) error {
			if strings.HasPrefix(text, "image_id") {
				return nil // header
			}
			f, ok := fieldsN(text, 4)
			if !ok {
				return lineErr(file, line, "want \"image_id class_id super_class_id path\"")
			}
			for _, s := range f[:3] {
				if _, err := strconv.Atoi(s); err != nil {
					return lineErr(file, line, "bad id %q", s)
				}
			}
			b.add(sp[1], f[3], f[1])
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	classes, s := b.build(splitTrain, splitGallery)
	return &Dataset{Name: "sop", Classes: classes, Train: s[0], Gallery: s[1], Query: s[1], QueryInGallery: true}, nil
}
