// Package dataset reads image-retrieval datasets and gives their train,
// gallery and query splits.
//
// Open auto-detects the layout of a directory: Fashion-MNIST/MNIST IDX files,
// CUB-200-2011, Cars196, In-shop Clothes, Stanford Online Products, or a plain
// folder of class sub-folders; a .csv path is read as a manifest.
package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/irgen/irgen/internal/imageproc"
)

// FashionMNIST is the spec that opens the Fashion-MNIST copy installed by the
// Debian package dataset-fashion-mnist.
const FashionMNIST = "fashion-mnist"

// DefaultFashionDir is where dataset-fashion-mnist installs its IDX files.
const DefaultFashionDir = "/usr/share/datasets/fashion-mnist"

// DefaultQueryFraction is the share of each class used as queries in a plain
// class-folder layout.
const DefaultQueryFraction = 0.1

// Sentinel errors.
var (
	// ErrLayout: the path is not a dataset layout this package knows.
	ErrLayout = errors.New("dataset: unrecognized layout")
	// ErrFormat: a dataset file is malformed (bad magic, count, row...).
	ErrFormat = errors.New("dataset: malformed file")
	// ErrIndex: Load was called with an index outside the split.
	ErrIndex = errors.New("dataset: index out of range")
)

// Split is an indexed list of labelled images.
type Split interface {
	Len() int
	// Label returns the class index of item i, an index into Dataset.Classes.
	Label(i int) int
	// Key returns a stable identifier of item i: a path relative to the
	// dataset root, or e.g. "fashion-mnist/train/123".
	Key(i int) string
	// Load decodes item i.
	Load(i int) (image.Image, error)
}

// Dataset is an opened dataset and its splits. Splits may be shared: Train
// and Gallery are often the same Split value.
type Dataset struct {
	Name                  string
	Classes               []string
	Train, Gallery, Query Split
	// QueryInGallery is true when the queries are gallery items (Stanford
	// Online Products leave-one-out): evaluation must skip the self match.
	QueryInGallery bool
	// Digest is the hex sha256 over the class names and the (split, key,
	// label) of every item; it identifies the data a model was trained on.
	Digest string
}

// Options configures Open.
type Options struct {
	// Limits bounds the decoding of each image.
	Limits imageproc.Limits
	// Report, if set, is told about each bad file Scan skips.
	Report func(key string, err error)
	// QueryFraction is the share of each class held out as queries in a plain
	// class-folder layout; 0 means DefaultQueryFraction. Must be in [0, 1).
	QueryFraction float64
	// Seed selects which items of a class-folder layout are queries.
	Seed int64
	// FashionDir is where the FashionMNIST spec looks; "" means
	// DefaultFashionDir.
	FashionDir string
	// Labels, if set, is a file of "path,label" rows that gives the classes
	// of a flat folder of images (the spec); paths are relative to it.
	Labels string
}

// Open opens the dataset named by spec: FashionMNIST, a .csv manifest, a
// Cars196 cars_annos.mat file, or a directory whose layout is detected.
func Open(spec string, opt Options) (*Dataset, error) {
	ds, err := open(spec, opt)
	if err != nil {
		return nil, err
	}
	for _, s := range []*Split{&ds.Train, &ds.Gallery, &ds.Query} {
		if *s == nil {
			*s = &Files{}
		}
	}
	ds.Digest = Digest(ds)
	return ds, nil
}

func open(spec string, opt Options) (*Dataset, error) {
	if spec == "" {
		return nil, fmt.Errorf("dataset: empty spec")
	}
	if opt.QueryFraction < 0 || opt.QueryFraction >= 1 {
		return nil, fmt.Errorf("dataset: query fraction %g not in [0, 1)", opt.QueryFraction)
	}
	if spec == FashionMNIST {
		dir := opt.FashionDir
		if dir == "" {
			dir = DefaultFashionDir
		}
		if findIDX(dir, "train-images", "idx3") == "" {
			return nil, fmt.Errorf("dataset: fashion-mnist not found in %s (apt-get install dataset-fashion-mnist, or set the fashion-mnist directory): %w", dir, os.ErrNotExist)
		}
		return openIDX(dir, FashionMNIST, fashionClasses)
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if opt.Labels != "" && !st.IsDir() {
		return nil, fmt.Errorf("%w: a labels file goes with a folder of images, not %s", ErrLayout, spec)
	}
	if !st.IsDir() {
		switch strings.ToLower(filepath.Ext(spec)) {
		case ".csv":
			return openManifest(spec, opt)
		case ".mat":
			return openCars(filepath.Dir(spec), spec, opt)
		}
		return nil, fmt.Errorf("%w: %s is a file, want a directory, .csv or .mat", ErrLayout, spec)
	}
	dir := spec
	if opt.Labels != "" {
		return openLabeled(dir, opt)
	}
	switch {
	case findIDX(dir, "train-images", "idx3") != "":
		name, classes := "mnist", digitClasses
		abs, _ := filepath.Abs(dir)
		if strings.Contains(strings.ToLower(filepath.Base(abs)), "fashion") {
			name, classes = FashionMNIST, fashionClasses
		}
		return openIDX(dir, name, classes)
	case exists(dir, cubFiles...):
		return openCUB(dir, opt)
	case exists(dir, carsAnnos):
		return openCars(dir, filepath.Join(dir, carsAnnos), opt)
	case exists(dir, inshopList) || exists(dir, filepath.Join("Eval", inshopList)):
		return openInShop(dir, opt)
	case exists(dir, sopTrain, sopTest):
		return openSOP(dir, opt)
	}
	return openFolder(dir, opt)
}

// exists reports whether all the named files exist under dir.
func exists(dir string, names ...string) bool {
	for _, n := range names {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

// Digest returns the hex sha256 over ds.Classes and the split name, key and
// label of every item of Train, Gallery and Query.
func Digest(ds *Dataset) string {
	h := sha256.New()
	buf := make([]byte, 0, 256)
	buf = append(buf, "irgen-dataset/1\n"...)
	buf = strconv.AppendInt(buf, int64(len(ds.Classes)), 10)
	buf = append(buf, '\n')
	h.Write(buf)
	for _, c := range ds.Classes {
		buf = strconv.AppendQuote(buf[:0], c)
		buf = append(buf, '\n')
		h.Write(buf)
	}
	for _, sp := range []struct {
		name string
		s    Split
	}{{"train", ds.Train}, {"gallery", ds.Gallery}, {"query", ds.Query}} {
		if sp.s == nil {
			continue
		}
		for i := range sp.s.Len() {
			buf = append(buf[:0], sp.name...)
			buf = append(buf, '\t')
			buf = strconv.AppendQuote(buf, sp.s.Key(i))
			buf = append(buf, '\t')
			buf = strconv.AppendInt(buf, int64(sp.s.Label(i)), 10)
			buf = append(buf, '\n')
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
