package dsi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/irgen/irgen/internal/rq"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// Vocab is the number of token values of an ID: the digits 0–9.
const Vocab = 10

// Scheme names how numeric IDs are given to the gallery images.
type Scheme string

// The ID schemes of seed 002 §2.1. All give dense IDs 0..n-1.
const (
	// Random shuffles the gallery and numbers it consecutively
	// ("dense random IDs").
	Random Scheme = "random"
	// Label numbers the images class by class, in random order within a
	// class ("dense clustered IDs" by label, as the seed does on ImageNet).
	Label Scheme = "label"
	// KMeans numbers the images in the depth-first order of a hierarchical
	// k-means over their tokenizer features, so that similar images get
	// nearby IDs (dense clustered IDs without labels).
	KMeans Scheme = "kmeans"
)

// ParseScheme parses a scheme name.
func ParseScheme(s string) (Scheme, error) {
	switch sc := Scheme(s); sc {
	case Random, Label, KMeans:
		return sc, nil
	}
	return "", fmt.Errorf("dsi: unknown ID scheme %q (have random, label, kmeans)", s)
}

// AssignConfig configures Assign.
type AssignConfig struct {
	Scheme Scheme
	Seed   uint64
	// Branch is the number of clusters per level of the hierarchical
	// k-means (10, one per digit, as in the DSI paper); Leaf the size at
	// which a cluster is not split further (at least Branch).
	Branch, Leaf int
	Workers      int
}

// DefaultAssignConfig returns hierarchical k-means with 10 branches and
// leaves of at most 100 images.
func DefaultAssignConfig() AssignConfig {
	return AssignConfig{Scheme: KMeans, Seed: 1, Branch: 10, Leaf: 100}
}

// IDs holds the numeric ID of every gallery image, written with a fixed
// number of digits (zero-padded), most significant first.
type IDs struct {
	Scheme Scheme
	Digits int
	// Of[i] is the ID of gallery image i; the IDs are a permutation of
	// 0..len(Of)-1.
	Of []int
	// Gallery is the digest of the gallery keys the IDs were given to
	// (store.KeysDigest); a changed gallery needs new IDs.
	Gallery string
}

// Digits returns the number of decimal digits of the largest of n dense
// IDs 0..n-1 (at least 1).
func Digits(n int) int {
	d := 1
	for v := n - 1; v >= 10; v /= 10 {
		d++
	}
	return d
}

// Len is the number of images.
func (ids *IDs) Len() int { return len(ids.Of) }

// Tokens writes the digits of image i's ID into dst (len Digits).
func (ids *IDs) Tokens(i int, dst []int32) {
	putDigits(ids.Of[i], dst[:ids.Digits])
}

func putDigits(v int, dst []int32) {
	for p := len(dst) - 1; p >= 0; p-- {
		dst[p] = int32(v % 10)
		v /= 10
	}
}

// Value returns the number written by the digits of id, or -1 when id is
// not Digits digits in [0, 10).
func (ids *IDs) Value(id semid.ID) int {
	if len(id) != ids.Digits {
		return -1
	}
	v := 0
	for _, t := range id {
		if t < 0 || t >= Vocab {
			return -1
		}
		v = v*10 + int(t)
	}
	return v
}

// Codes returns the digit tokens of every image, Len() × Digits.
func (ids *IDs) Codes() []int32 {
	out := make([]int32, len(ids.Of)*ids.Digits)
	for i := range ids.Of {
		ids.Tokens(i, out[i*ids.Digits:])
	}
	return out
}

// Trie returns the prefix tree of the IDs, with gallery image i under its
// ID.
func (ids *IDs) Trie() (*trie.Trie, error) {
	tr, err := trie.New(ids.Digits, Vocab)
	if err != nil {
		return nil, err
	}
	tok := make(semid.ID, ids.Digits)
	for i := range ids.Of {
		ids.Tokens(i, tok)
		if err := tr.Insert(tok, i); err != nil {
			return nil, fmt.Errorf("dsi: image %d: %w", i, err)
		}
	}
	return tr, nil
}

// Check verifies that the IDs are a permutation of 0..Len()-1 written with
// Digits(Len()) digits.
func (ids *IDs) Check() error {
	n := len(ids.Of)
	if n == 0 {
		return fmt.Errorf("%w: no images", ErrFormat)
	}
	if ids.Digits != Digits(n) {
		return fmt.Errorf("%w: %d digits for %d images, want %d", ErrFormat, ids.Digits, n, Digits(n))
	}
	seen := make([]bool, n)
	for i, v := range ids.Of {
		if v < 0 || v >= n || seen[v] {
			return fmt.Errorf("%w: image %d has ID %d, not a new one in [0,%d)", ErrFormat, i, v, n)
		}
		seen[v] = true
	}
	return nil
}

// Assign gives dense IDs 0..n-1 to the n images with labels and features
// (n × dim, row-major; used by KMeans only, may be nil otherwise).
func Assign(cfg AssignConfig, labels []int32, features []float32, dim int) (*IDs, error) {
	n := len(labels)
	if n == 0 {
		return nil, errors.New("dsi: no images to give IDs to")
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xd51))
	var order []int // order[r] is the image that gets ID r
	switch cfg.Scheme {
	case Random:
		order = rng.Perm(n)
	case Label:
		order = rng.Perm(n)
		slices.SortStableFunc(order, func(a, b int) int { return int(labels[a]) - int(labels[b]) })
	case KMeans:
		if dim <= 0 || len(features) != n*dim {
			return nil, fmt.Errorf("dsi: %d feature values for %d images of dim %d", len(features), n, dim)
		}
		if cfg.Branch < 2 || cfg.Leaf < cfg.Branch {
			return nil, fmt.Errorf("dsi: hierarchical k-means with %d branches and leaves of %d, want ≥ 2 and leaf ≥ branches", cfg.Branch, cfg.Leaf)
		}
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		var err error
		if order, err = hkmOrder(cfg, all, features, dim, 0); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("dsi: unknown ID scheme %q", cfg.Scheme)
	}
	ids := &IDs{Scheme: cfg.Scheme, Digits: Digits(n), Of: make([]int, n)}
	for r, i := range order {
		ids.Of[i] = r
	}
	return ids, ids.Check()
}

// hkmOrder returns items in the depth-first order of a hierarchical
// k-means: clusters of more than Leaf items are split into Branch by
// k-means and visited in centroid order.
func hkmOrder(cfg AssignConfig, items []int, features []float32, dim, depth int) ([]int, error) {
	if len(items) <= cfg.Leaf {
		return items, nil
	}
	data := make([]float32, 0, len(items)*dim)
	for _, i := range items {
		data = append(data, features[i*dim:(i+1)*dim]...)
	}
	cents, err := rq.KMeans(data, dim, rq.KMeansConfig{K: cfg.Branch, Seed: cfg.Seed + uint64(depth), Workers: cfg.Workers})
	if err != nil {
		return nil, fmt.Errorf("dsi: hierarchical k-means: %w", err)
	}
	groups := make([][]int, cfg.Branch)
	for j, i := range items {
		x := data[j*dim : (j+1)*dim]
		best, bestD := 0, math.Inf(1)
		for c := range cfg.Branch {
			var d float64
			for k, v := range cents[c*dim : (c+1)*dim] {
				e := float64(x[k] - v)
				d += e * e
			}
			if d < bestD {
				best, bestD = c, d
			}
		}
		groups[best] = append(groups[best], i)
	}
	out := make([]int, 0, len(items))
	for _, grp := range groups {
		if len(grp) == len(items) { // no split (duplicates): stop here
			return items, nil
		}
		sub, err := hkmOrder(cfg, grp, features, dim, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// File format of the IDs: JSON with a format name and version.
const (
	idsFormat  = "irgen-dsi-ids"
	idsVersion = 1
)

// ErrFormat reports a damaged or foreign IDs file.
var ErrFormat = errors.New("dsi: not a valid IDs file")

type idsFile struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Scheme  Scheme `json:"scheme"`
	Digits  int    `json:"digits"`
	Gallery string `json:"gallery_keys_sha256"`
	IDs     []int  `json:"ids"`
}

// WriteTo writes the IDs as JSON.
func (ids *IDs) WriteTo(w io.Writer) (int64, error) {
	data, err := json.Marshal(idsFile{Format: idsFormat, Version: idsVersion, Scheme: ids.Scheme,
		Digits: ids.Digits, Gallery: ids.Gallery, IDs: ids.Of})
	if err != nil {
		return 0, err
	}
	n, err := w.Write(append(data, '\n'))
	return int64(n), err
}

// ReadIDs reads IDs written by WriteTo, rejecting unknown versions and
// IDs that are not a permutation.
func ReadIDs(r io.Reader) (*IDs, error) {
	var f idsFile
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if f.Format != idsFormat {
		return nil, fmt.Errorf("%w: format %q", ErrFormat, f.Format)
	}
	if f.Version != idsVersion {
		return nil, fmt.Errorf("%w: version %d, this irgen reads %d", ErrFormat, f.Version, idsVersion)
	}
	if _, err := ParseScheme(string(f.Scheme)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	ids := &IDs{Scheme: f.Scheme, Digits: f.Digits, Of: f.IDs, Gallery: f.Gallery}
	if err := ids.Check(); err != nil {
		return nil, err
	}
	return ids, nil
}
