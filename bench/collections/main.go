// Command collections builds the small image collections that irgen's
// defaults are checked on, from data that Debian packages ship:
//
//	fm5k      5,000 Fashion-MNIST training images (500 a class) as class
//	          folders of PNGs (dataset-fashion-mnist)
//	digits5k  the 5,000 handwritten digits of OpenCV's digits.png (500 a
//	          class, 20×20) as class folders of PNGs (opencv-doc)
//	mix2k     2,000 images of 20 classes, 100 a class: 10 Fashion-MNIST
//	          classes from its test images and the 10 digits, 28×28 and
//	          20×20 mixed, as a CSV manifest (80% trainval, 20% query)
//	fm10k     10,000 Fashion-MNIST training images (1,000 a class, the
//	          last 1,000 of each class: none of fm5k's) as class folders,
//	          for the time 'irgen index' takes on a 10,000-image folder
//
// Usage: go run ./bench/collections -out DIR
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/store"
)

const digitsPNG = "/usr/share/doc/opencv-doc/examples/data/digits.png"

func main() {
	out := flag.String("out", "collections", "folder to write the collections into")
	flag.Parse()
	fm, err := dataset.Open(dataset.FashionMNIST, dataset.Options{})
	if err != nil {
		log.Fatal(err)
	}
	digits, err := cutDigits(digitsPNG)
	if err != nil {
		log.Fatal(err)
	}
	if err := writeFolders(filepath.Join(*out, "fm5k"), perClass(fm.Train, fm.Classes, 500)); err != nil {
		log.Fatal(err)
	}
	if err := writeFolders(filepath.Join(*out, "digits5k"), digits); err != nil {
		log.Fatal(err)
	}
	mix := perClass(fm.Query, fm.Classes, 100)
	for _, d := range digits {
		mix = append(mix, class{name: "digit-" + d.name, images: d.images[:100]})
	}
	if err := writeManifest(filepath.Join(*out, "mix2k"), mix); err != nil {
		log.Fatal(err)
	}
	if err := writeFolders(filepath.Join(*out, "fm10k"), lastPerClass(fm.Train, fm.Classes, 1000)); err != nil {
		log.Fatal(err)
	}
}

// lastPerClass takes the last n images of each class of s.
func lastPerClass(s dataset.Split, names []string, n int) []class {
	var idx []int
	left := make([]int, len(names))
	for i := range left {
		left[i] = n
	}
	for i := s.Len() - 1; i >= 0; i-- {
		if l := s.Label(i); left[l] > 0 {
			left[l]--
			idx = append(idx, i)
		}
	}
	slices.Reverse(idx)
	return perClass(dataset.Sub(s, idx), names, n)
}

type class struct {
	name   string
	images []image.Image
}

// perClass takes the first n images of each class of s.
func perClass(s dataset.Split, names []string, n int) []class {
	cs := make([]class, len(names))
	for i, name := range names {
		cs[i].name = strings.ReplaceAll(name, "/", "-") // "T-shirt/top"
	}
	for i := range s.Len() {
		c := &cs[s.Label(i)]
		if len(c.images) == n {
			continue
		}
		img, err := s.Load(i)
		if err != nil {
			log.Fatal(err)
		}
		c.images = append(c.images, img)
	}
	return cs
}

// cutDigits cuts digits.png (50 rows × 100 columns of 20×20 digits, five
// rows a digit) into ten classes.
func cutDigits(path string) ([]class, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w (apt-get install opencv-doc)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, err
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok || img.Bounds().Dx() != 2000 || img.Bounds().Dy() != 1000 {
		return nil, fmt.Errorf("%s: want a 2000×1000 image", path)
	}
	cs := make([]class, 10)
	for r := range 50 {
		for c := range 100 {
			d := r / 5
			cs[d].name = fmt.Sprint(d)
			cs[d].images = append(cs[d].images, sub.SubImage(image.Rect(c*20, r*20, c*20+20, r*20+20)))
		}
	}
	return cs, nil
}

func writePNG(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeFolders(dir string, cs []class) error {
	n := 0
	for _, c := range cs {
		for i, img := range c.images {
			if err := writePNG(filepath.Join(dir, c.name, fmt.Sprintf("%04d.png", i)), img); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("%s: %d images in %d class folders\n", dir, n, len(cs))
	return nil
}

// writeManifest writes the images under dir/images and dir/manifest.csv:
// every fifth image of a class is a query, the others trainval.
func writeManifest(dir string, cs []class) error {
	var rows [][]string
	for _, c := range cs {
		for i, img := range c.images {
			rel := filepath.Join("images", c.name, fmt.Sprintf("%04d.png", i))
			if err := writePNG(filepath.Join(dir, rel), img); err != nil {
				return err
			}
			split := "trainval"
			if i%5 == 4 {
				split = "query"
			}
			rows = append(rows, []string{rel, c.name, split})
		}
	}
	err := store.WriteFileAtomic(filepath.Join(dir, "manifest.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"path", "label", "split"})
		cw.WriteAll(rows)
		return cw.Error()
	})
	fmt.Printf("%s: %d images of %d classes in manifest.csv\n", dir, len(rows), len(cs))
	return err
}
