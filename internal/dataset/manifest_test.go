package dataset

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenManifest(t *testing.T) {
	root := t.TempDir()
	abs := filepath.Join(root, "elsewhere", "z.png")
	writeImages(t, root, "data/a1.jpg", "data/a2.jpg", "data/b1.png", "data/b2.jpg", "data/c1.jpg", "elsewhere/z.png")
	csv := "path,label,split\n" +
		"# a comment\n" +
		"a1.jpg,10,train\n" +
		"a2.jpg, 10 ,Gallery\n" +
		"./b1.png,2,query\n" +
		"sub/../b2.jpg,2,trainval\n" +
		"\"c1.jpg\",9,trainval\n" +
		abs + ",2,query\n"
	file := writeFile(t, root, "data/list.csv", []byte(csv))
	ds := mustOpen(t, file, Options{})
	if ds.Name != "list" {
		t.Errorf("Name = %q; want list", ds.Name)
	}
	if got := strings.Join(ds.Classes, ","); got != "2,9,10" {
		t.Errorf("Classes = %s; want 2,9,10 (numeric order)", got)
	}
	absKey := filepath.ToSlash(abs)
	checkSplit(t, ds, "train", ds.Train, []item{{"a1.jpg", "10"}, {"b2.jpg", "2"}, {"c1.jpg", "9"}})
	checkSplit(t, ds, "gallery", ds.Gallery, []item{{"a2.jpg", "10"}, {"b2.jpg", "2"}, {"c1.jpg", "9"}})
	checkSplit(t, ds, "query", ds.Query, []item{{"b1.png", "2"}, {absKey, "2"}})
}

func TestOpenManifestNoHeaderNames(t *testing.T) {
	root := t.TempDir()
	writeImages(t, root, "x.jpg", "y.jpg")
	file := writeFile(t, root, "m.CSV", []byte("x.jpg,zebra,gallery\ny.jpg,ant,query\n"))
	ds := mustOpen(t, file, Options{})
	if got := strings.Join(ds.Classes, ","); got != "ant,zebra" {
		t.Errorf("Classes = %s; want ant,zebra", got)
	}
	if ds.Train.Len() != 0 || ds.Gallery.Len() != 1 || ds.Query.Len() != 1 {
		t.Errorf("train/gallery/query = %d/%d/%d; want 0/1/1", ds.Train.Len(), ds.Gallery.Len(), ds.Query.Len())
	}
}

// TestManifestWithoutGallery checks the rule for a manifest of train and
// query rows only: the training images are the gallery.
func TestManifestWithoutGallery(t *testing.T) {
	root := t.TempDir()
	writeImages(t, root, "a.jpg", "b.jpg", "q.jpg")
	file := writeFile(t, root, "m.csv", []byte("a.jpg,x,train\nb.jpg,y,train\nq.jpg,x,query\n"))
	ds := mustOpen(t, file, Options{})
	checkSplit(t, ds, "gallery", ds.Gallery, []item{{"a.jpg", "x"}, {"b.jpg", "y"}})
}

func TestParseManifestErrors(t *testing.T) {
	tests := []struct {
		name, csv, want string
	}{
		{"empty", "", "no rows"},
		{"header only", "path,label,split\n", "no rows"},
		{"two fields", "a.jpg,1,train\nb.jpg,1\n", "m.csv:2: 2 fields"},
		{"four fields", "a.jpg,1,train,x\n", "m.csv:1: 4 fields"},
		{"bad split", "a.jpg,1,train\n\nb.jpg,1,test\n", "m.csv:3: split \"test\""},
		{"empty path", "a.jpg,1,train\n,1,train\n", "m.csv:2: empty path"},
		{"empty label", "a.jpg,,train\n", "m.csv:1: empty label"},
		{"bad quote", "a.jpg,1,train\n\"b.jpg,1,train\n", "m.csv:2:"},
		{"header later", "a.jpg,1,train\npath,label,split\n", "m.csv:2: split \"split\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseManifest(strings.NewReader(tt.csv), "m.csv")
			checkFormatErr(t, "parseManifest", err, tt.want)
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("path,label,split\na.jpg,1,train\nb.jpg,2,query\n")
	f.Add("a.jpg,1,trainval\n\"b,c.jpg\",x,gallery\n")
	f.Add("a.jpg,1\n")
	f.Fuzz(func(t *testing.T, csv string) {
		rows, err := parseManifest(strings.NewReader(csv), "fuzz.csv")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		for _, r := range rows {
			if r.path == "" || r.label == "" || r.line < 1 {
				t.Fatalf("bad row %+v", r)
			}
		}
	})
}
