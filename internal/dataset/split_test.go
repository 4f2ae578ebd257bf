package dataset

import (
	"errors"
	"image"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testGray() *Gray {
	g := &Gray{W: 2, H: 1, Prefix: "g/train"}
	for i := range 5 {
		g.Pix = append(g.Pix, uint8(10*i), uint8(10*i+1))
		g.Labels = append(g.Labels, i%3)
	}
	return g
}

func testFiles() *Files {
	return &Files{Root: "/r", Paths: []string{"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"}, Labels: []int{0, 1, 2, 0, 1}}
}

// keysLabels lists a split's keys and labels.
func keysLabels(s Split) ([]string, []int) {
	keys := make([]string, s.Len())
	labels := make([]int, s.Len())
	for i := range keys {
		keys[i], labels[i] = s.Key(i), s.Label(i)
	}
	return keys, labels
}

func TestSubLimit(t *testing.T) {
	splits := []struct {
		name string
		s    Split
	}{
		{"gray", testGray()},
		{"files", testFiles()},
		{"generic", &wrapped{testFiles()}},
	}
	for _, sp := range splits {
		t.Run(sp.name, func(t *testing.T) {
			keys, labels := keysLabels(sp.s)
			sub := Sub(sp.s, []int{4, 1, 1})
			gotK, gotL := keysLabels(sub)
			if diff := cmp.Diff([]string{keys[4], keys[1], keys[1]}, gotK); diff != "" {
				t.Errorf("Sub keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int{labels[4], labels[1], labels[1]}, gotL); diff != "" {
				t.Errorf("Sub labels (-want +got):\n%s", diff)
			}
			// Sub of Sub composes and keeps the original keys.
			subsub := Sub(sub, []int{2, 0})
			gotK, _ = keysLabels(subsub)
			if diff := cmp.Diff([]string{keys[1], keys[4]}, gotK); diff != "" {
				t.Errorf("Sub of Sub keys (-want +got):\n%s", diff)
			}
			lim := Limit(sp.s, 2)
			gotK, gotL = keysLabels(lim)
			if diff := cmp.Diff(keys[:2], gotK); diff != "" {
				t.Errorf("Limit keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(labels[:2], gotL); diff != "" {
				t.Errorf("Limit labels (-want +got):\n%s", diff)
			}
			if Limit(sp.s, 99) != sp.s || Limit(sp.s, 5) != sp.s {
				t.Error("Limit(n >= Len) must return the split itself")
			}
			if Limit(sp.s, -1).Len() != 0 || Limit(sub, 1).Len() != 1 {
				t.Error("Limit(-1) must be empty, Limit(sub, 1) one item")
			}
			if _, err := sub.Load(3); !errors.Is(err, ErrIndex) {
				t.Errorf("Load(3) error = %v; want ErrIndex", err)
			}
		})
	}
}

func TestSubGrayKeepsType(t *testing.T) {
	g := testGray()
	sub, ok := Sub(g, []int{3, 0}).(*Gray)
	if !ok {
		t.Fatal("Sub of *Gray is not *Gray")
	}
	if diff := cmp.Diff([]uint8{30, 31, 0, 1}, sub.Pix); diff != "" {
		t.Errorf("Pix (-want +got):\n%s", diff)
	}
	if k := sub.Key(0); k != "g/train/3" {
		t.Errorf("Key = %q; want g/train/3", k)
	}
	img, err := sub.Load(0)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.(*image.Gray).GrayAt(1, 0).Y; got != 31 {
		t.Errorf("pixel = %d; want 31", got)
	}
	lim, ok := Limit(sub, 1).(*Gray)
	if !ok || lim.Len() != 1 || lim.Key(0) != "g/train/3" || len(lim.Pix) != 2 {
		t.Errorf("Limit of Sub = %+v", lim)
	}
	if _, ok := Limit(g, 2).(*Gray); !ok {
		t.Error("Limit of *Gray is not *Gray")
	}
	if _, ok := Sub(testFiles(), []int{1}).(*Files); !ok {
		t.Error("Sub of *Files is not *Files")
	}
}

func TestSubPanicsOutOfRange(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Sub with index 5 of 5 did not panic")
		}
	}()
	Sub(testFiles(), []int{5})
}

func TestFilesPath(t *testing.T) {
	f := &Files{Root: "/data", Paths: []string{"a/b.jpg", "/abs/c.png"}}
	if got := f.Path(0); got != "/data/a/b.jpg" {
		t.Errorf("Path(0) = %q", got)
	}
	if got := f.Path(1); got != "/abs/c.png" {
		t.Errorf("Path(1) = %q", got)
	}
	if _, err := f.Load(2); !errors.Is(err, ErrIndex) {
		t.Errorf("Load(2) error = %v; want ErrIndex", err)
	}
	if _, err := f.Config(-1); !errors.Is(err, ErrIndex) {
		t.Errorf("Config(-1) error = %v; want ErrIndex", err)
	}
}

func TestDigest(t *testing.T) {
	base := func() *Dataset {
		f := testFiles()
		return &Dataset{Classes: []string{"x", "y", "z"}, Train: f, Gallery: f, Query: Limit(testFiles(), 1)}
	}
	d0 := Digest(base())
	if d0 != Digest(base()) {
		t.Fatal("Digest is not deterministic")
	}
	changes := map[string]func(ds *Dataset){
		"class name": func(ds *Dataset) { ds.Classes[2] = "w" },
		"label":      func(ds *Dataset) { ds.Train = &Files{Paths: testFiles().Paths, Labels: []int{0, 1, 2, 0, 0}} },
		"key":        func(ds *Dataset) { ds.Query = Sub(testFiles(), []int{1}) },
		"split":      func(ds *Dataset) { ds.Gallery = Limit(testFiles(), 4) },
		"swap":       func(ds *Dataset) { ds.Train, ds.Query = ds.Query, ds.Train },
	}
	for name, change := range changes {
		ds := base()
		change(ds)
		if Digest(ds) == d0 {
			t.Errorf("changing the %s kept the digest", name)
		}
	}
	// The file system root is not part of the digest: moving data keeps it.
	ds := base()
	ds.Train = &Files{Root: "/elsewhere", Paths: testFiles().Paths, Labels: testFiles().Labels}
	ds.Gallery = ds.Train
	if Digest(ds) != d0 {
		t.Error("moving the root changed the digest")
	}
}

func TestLabels(t *testing.T) {
	if diff := cmp.Diff([]int32{0, 1, 2, 0, 1}, Labels(testGray())); diff != "" {
		t.Errorf("Labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int32{0, 0}, Labels(Sub(testGray(), []int{3, 0}))); diff != "" {
		t.Errorf("Labels of Sub (-want +got):\n%s", diff)
	}
}
