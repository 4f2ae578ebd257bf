package dataset

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenLabeled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	var files []string
	var rows strings.Builder
	rows.WriteString("path,label\n# a comment\n")
	for i := range 12 {
		f := fmt.Sprintf("img%02d.png", i)
		if i >= 8 {
			f = "sub/" + f
		}
		files = append(files, f)
		if i == 11 {
			continue // not labelled: left out
		}
		fmt.Fprintf(&rows, "%s,%s\n", f, []string{"shoe", "bag"}[i%2])
	}
	writeImages(t, dir, files...)
	labels := writeFile(t, t.TempDir(), "labels.csv", []byte(rows.String()))

	ds := mustOpen(t, dir, Options{Labels: labels})
	if ds.Name != "shop" || strings.Join(ds.Classes, ",") != "bag,shoe" {
		t.Errorf("name %q classes %v; want shop, [bag shoe]", ds.Name, ds.Classes)
	}
	if ds.Train != ds.Gallery {
		t.Error("Train must be Gallery")
	}
	if g, q := ds.Gallery.Len(), ds.Query.Len(); g+q != 11 || q != 2 {
		t.Errorf("gallery, query = %d, %d; want 9, 2 (one query per class)", g, q)
	}
	for _, s := range []Split{ds.Gallery, ds.Query} {
		for _, it := range items(ds, s) {
			var i int
			fmt.Sscanf(strings.TrimPrefix(it.Key, "sub/"), "img%02d.png", &i)
			if want := []string{"shoe", "bag"}[i%2]; it.Label != want {
				t.Errorf("%s labelled %s; want %s", it.Key, it.Label, want)
			}
		}
	}
	checkSplit(t, ds, "gallery", ds.Gallery, items(ds, ds.Gallery))

	for _, tc := range []struct{ rows, want string }{
		{"a.png\n", "want 2"},
		{"a.png,shoe\na.png,bag\n", "listed again"},
		{"../x.png,shoe\n", "not inside"},
		{"/etc/x.png,shoe\n", "not inside"},
		{"a.png,\n", "empty"},
		{"path,label\n", "no rows"},
	} {
		bad := writeFile(t, t.TempDir(), "bad.csv", []byte(tc.rows))
		if _, err := Open(dir, Options{Labels: bad}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("labels %q: error %v; want one containing %q", tc.rows, err, tc.want)
		}
	}
	if _, err := Open(labels, Options{Labels: labels}); err == nil {
		t.Error("a labels file with a file as the data set: no error")
	}
}
