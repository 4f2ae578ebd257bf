package dataset

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/imageproc"
)

func TestOpenFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pets")
	var files []string
	for _, c := range []string{"dog", "cat", "bird"} {
		for i := range 10 {
			ext := ".jpg"
			if i%2 == 1 {
				ext = ".PNG"
			}
			files = append(files, fmt.Sprintf("%s/%02d%s", c, i, ext))
		}
	}
	writeImages(t, dir, files...)
	writeImages(t, dir, "cat/nested/deep.png")
	writeFile(t, dir, "cat/notes.txt", []byte("not an image"))
	writeFile(t, dir, "cat/.hidden.jpg", []byte("hidden"))
	writeFile(t, dir, ".git/x.jpg", []byte("hidden"))
	writeFile(t, dir, "README.md", []byte("root files are ignored"))
	writeFile(t, dir, "empty/readme.txt", []byte("a class folder without images"))

	ds := mustOpen(t, dir, Options{})
	if ds.Name != "pets" {
		t.Errorf("Name = %q; want pets", ds.Name)
	}
	if got := strings.Join(ds.Classes, ","); got != "bird,cat,dog" {
		t.Errorf("Classes = %s; want bird,cat,dog", got)
	}
	if ds.Train != ds.Gallery {
		t.Error("Train must be Gallery")
	}
	if g, q := ds.Gallery.Len(), ds.Query.Len(); g != 28 || q != 3 {
		t.Errorf("gallery, query = %d, %d; want 28, 3 (one query per class)", g, q)
	}
	perClass := map[string]int{}
	seen := map[string]bool{}
	for _, s := range []Split{ds.Gallery, ds.Query} {
		for _, it := range items(ds, s) {
			if seen[it.Key] {
				t.Errorf("%s in gallery and query", it.Key)
			}
			seen[it.Key] = true
			if !strings.HasPrefix(it.Key, it.Label+"/") {
				t.Errorf("key %s has label %s", it.Key, it.Label)
			}
		}
	}
	for _, it := range items(ds, ds.Query) {
		perClass[it.Label]++
	}
	if perClass["bird"] != 1 || perClass["cat"] != 1 || perClass["dog"] != 1 {
		t.Errorf("queries per class = %v; want one each", perClass)
	}
	if !seen["cat/nested/deep.png"] || seen["cat/notes.txt"] || seen["cat/.hidden.jpg"] {
		t.Errorf("nested images must be found, other files ignored: %v", seen)
	}
	checkSplit(t, ds, "query", ds.Query, items(ds, ds.Query))

	// The choice is deterministic, depends on the seed, and follows
	// QueryFraction.
	again := mustOpen(t, dir, Options{})
	if again.Digest != ds.Digest {
		t.Error("same options gave a different digest")
	}
	other := mustOpen(t, dir, Options{Seed: 99})
	if other.Digest == ds.Digest {
		t.Error("another seed gave the same queries (possible but unlikely)")
	}
	half := mustOpen(t, dir, Options{QueryFraction: 0.5})
	if q := half.Query.Len(); q != 5+6+5 {
		t.Errorf("QueryFraction 0.5: %d queries; want 16", q)
	}
	if _, err := Open(dir, Options{QueryFraction: 1}); err == nil {
		t.Error("QueryFraction 1: no error")
	}
}

func TestOpenFolderEmpty(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a/readme.txt", []byte("x"))
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLayout) {
		t.Errorf("Open error = %v; want ErrLayout", err)
	}
	if _, err := Open(filepath.Join(dir, "a", "readme.txt"), Options{}); !errors.Is(err, ErrLayout) {
		t.Errorf("Open(file) error = %v; want ErrLayout", err)
	}
	if _, err := Open(filepath.Join(dir, "nope"), Options{}); err == nil {
		t.Error("Open(missing): no error")
	}
}

func TestScanSkipsCorrupt(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, dir, "a/1.jpg", "a/2.jpg", "a/3.png", "b/1.jpg", "b/2.jpg")
	writeFile(t, dir, "a/broken.jpg", []byte("\xff\xd8\xff\xe0 this is not a jpeg"))
	writeFile(t, dir, "b/text.png", []byte("plain text with a png name"))
	ds := mustOpen(t, dir, Options{})
	// Scan every file of the folder, gallery and queries, sorted by key.
	files := &Files{Root: dir}
	for _, s := range []Split{ds.Gallery, ds.Query} {
		for i := range s.Len() {
			files.Paths = append(files.Paths, s.Key(i))
			files.Labels = append(files.Labels, s.Label(i))
		}
	}
	sort.Sort(byKey{files})
	if files.Len() != 7 {
		t.Fatalf("folder has %d images; want 7", files.Len())
	}

	var reported []string
	opt := Options{Report: func(key string, err error) {
		reported = append(reported, key)
		if !strings.Contains(err.Error(), key) {
			t.Errorf("report for %s: error %q does not name the file", key, err)
		}
	}}
	for _, s := range []struct {
		name  string
		split Split
	}{
		{"files", files},
		{"generic", &wrapped{files}},
		{"subset", Sub(&wrapped{files}, []int{0, 1, 2, 3, 4, 5, 6})},
	} {
		t.Run(s.name, func(t *testing.T) {
			reported = nil
			good, bad := Scan(s.split, opt)
			if len(bad) != 2 || strings.Join(reported, ",") != "a/broken.jpg,b/text.png" {
				t.Fatalf("bad = %v, reported %v; want a/broken.jpg and b/text.png", bad, reported)
			}
			for _, err := range bad {
				if !errors.Is(err, imageproc.ErrCorrupt) && !errors.Is(err, imageproc.ErrFormat) {
					t.Errorf("error %v wraps no imageproc sentinel", err)
				}
			}
			if good.Len() != s.split.Len()-2 {
				t.Errorf("good has %d items; want %d", good.Len(), s.split.Len()-2)
			}
			for i := range good.Len() {
				if _, err := good.Load(i); err != nil {
					t.Errorf("good item %s: %v", good.Key(i), err)
				}
			}
		})
	}
	// Without bad files the split comes back as is.
	good, _ := Scan(files, Options{})
	clean, bad := Scan(good, Options{})
	if len(bad) != 0 || clean != good {
		t.Errorf("rescan: %d bad, same split %v", len(bad), clean == good)
	}
	// Load reports the bad file too.
	for i := range files.Len() {
		if files.Key(i) == "a/broken.jpg" {
			if _, err := files.Load(i); err == nil || !strings.Contains(err.Error(), "broken.jpg") {
				t.Errorf("Load(broken) error = %v; want one naming the file", err)
			}
		}
	}
}

type byKey struct{ f *Files }

func (b byKey) Len() int           { return b.f.Len() }
func (b byKey) Less(i, j int) bool { return b.f.Paths[i] < b.f.Paths[j] }
func (b byKey) Swap(i, j int) {
	b.f.Paths[i], b.f.Paths[j] = b.f.Paths[j], b.f.Paths[i]
	b.f.Labels[i], b.f.Labels[j] = b.f.Labels[j], b.f.Labels[i]
}

// wrapped hides the concrete type of a split to test the generic paths.
type wrapped struct{ Split }
