package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCUB writes a CUB-200-2011 style fixture: 3 classes, 6 images.
func writeCUB(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, dir, "classes.txt", []byte("1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n3 003.Sooty Albatross\n"))
	writeFile(t, dir, "images.txt", []byte(
		"1 001.Black_footed_Albatross/a.jpg\n"+
			"2 001.Black_footed_Albatross/b.jpg\n"+
			"3 002.Laysan_Albatross/c.jpg\n"+
			"4 002.Laysan_Albatross/d.jpg\n"+
			"5 003.Sooty Albatross/e.png\n"+
			"6 003.Sooty Albatross/f.jpg\n"))
	writeFile(t, dir, "image_class_labels.txt", []byte("1 1\n2 1\n3 2\n4 2\n5 3\n6 3\n"))
	writeFile(t, dir, "train_test_split.txt", []byte("1 1\n2 0\n3 0\n4 1\n5 1\n6 0\n"))
	writeImages(t, filepath.Join(dir, "images"),
		"001.Black_footed_Albatross/a.jpg", "001.Black_footed_Albatross/b.jpg",
		"002.Laysan_Albatross/c.jpg", "002.Laysan_Albatross/d.jpg",
		"003.Sooty Albatross/e.png", "003.Sooty Albatross/f.jpg")
}

func TestOpenCUB(t *testing.T) {
	dir := t.TempDir()
	writeCUB(t, dir)
	ds := mustOpen(t, dir, Options{})
	if ds.Name != "cub200" || len(ds.Classes) != 3 || ds.Classes[2] != "003.Sooty Albatross" {
		t.Errorf("Name, Classes = %q, %q", ds.Name, ds.Classes)
	}
	if ds.Train != ds.Gallery || ds.QueryInGallery {
		t.Error("Train must be Gallery, QueryInGallery false")
	}
	a, s := "001.Black_footed_Albatross", "003.Sooty Albatross"
	checkSplit(t, ds, "train", ds.Train, []item{
		{"images/" + a + "/a.jpg", a},
		{"images/002.Laysan_Albatross/d.jpg", "002.Laysan_Albatross"},
		{"images/" + s + "/e.png", s},
	})
	checkSplit(t, ds, "query", ds.Query, []item{
		{"images/" + a + "/b.jpg", a},
		{"images/002.Laysan_Albatross/c.jpg", "002.Laysan_Albatross"},
		{"images/" + s + "/f.jpg", s},
	})
}

func TestOpenCUBErrors(t *testing.T) {
	tests := []struct {
		file, content, want string
	}{
		{"train_test_split.txt", "1 1\n2 0\n3 0\n4 1\n5 2\n6 0\n", "train_test_split.txt:5: value 2"},
		{"train_test_split.txt", "1 1\n2 0\n3 0\n4 1\n5 1\n", "5 images listed"},
		{"image_class_labels.txt", "1 1\n2 1\n3 2\n4 2\n5 4\n6 3\n", "image_class_labels.txt:5: value 4 not in [1, 3]"},
		{"image_class_labels.txt", "1 1\n2 1\n3 2\n4 2\n5 3\n7 3\n", "image id 7 not in images.txt"},
		{"images.txt", "1 a.jpg\n1 b.jpg\n", "images.txt:2: duplicate image id 1"},
		{"classes.txt", "1 a\n3 c\n", "class ids are not 1..2"},
		{"classes.txt", "x a\n", "classes.txt:1: bad class id"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			dir := t.TempDir()
			writeCUB(t, dir)
			writeFile(t, dir, tt.file, []byte(tt.content))
			_, err := Open(dir, Options{})
			checkFormatErr(t, "Open", err, tt.want)
		})
	}
}

const inshopFixture = `7
image_name item_id evaluation_status
img/WOMEN/Dresses/id_00000002/01_1_front.jpg id_00000002 train
img/WOMEN/Dresses/id_00000002/02_2_side.jpg  id_00000002 train
img/MEN/Denim/id_00000080/01_1_front.jpg id_00000080 query
img/MEN/Denim/id_00000080/02_2_side.jpg id_00000080 gallery
img/MEN/Denim/id_00000080/03_4_full.jpg id_00000080 gallery
img/WOMEN/Tees/id_00000001/01_1_front.jpg id_00000001 query
img/WOMEN/Tees/id_00000001/02_1_front.jpg id_00000001 gallery
`

func TestOpenInShop(t *testing.T) {
	for _, listDir := range []string{"", "Eval"} {
		t.Run("list in "+listDir+"/", func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, filepath.Join(listDir, inshopList), []byte(inshopFixture))
			var paths []string
			for _, l := range strings.Split(inshopFixture, "\n")[2:] {
				if f := strings.Fields(l); len(f) == 3 {
					paths = append(paths, f[0])
				}
			}
			writeImages(t, dir, paths...)
			ds := mustOpen(t, dir, Options{})
			if got := strings.Join(ds.Classes, ","); ds.Name != "inshop" || got != "id_00000001,id_00000002,id_00000080" {
				t.Errorf("Name, Classes = %q, %s", ds.Name, got)
			}
			checkSplit(t, ds, "train", ds.Train, []item{
				{paths[0], "id_00000002"}, {paths[1], "id_00000002"},
				{paths[3], "id_00000080"}, {paths[4], "id_00000080"}, {paths[6], "id_00000001"},
			})
			checkSplit(t, ds, "gallery", ds.Gallery, []item{
				{paths[3], "id_00000080"}, {paths[4], "id_00000080"}, {paths[6], "id_00000001"},
			})
			checkSplit(t, ds, "query", ds.Query, []item{{paths[2], "id_00000080"}, {paths[5], "id_00000001"}})
		})
	}
}

func TestOpenInShopErrors(t *testing.T) {
	tests := []struct{ content, want string }{
		{strings.Replace(inshopFixture, "7\n", "8\n", 1), "header says 8 images, found 7"},
		{strings.Replace(inshopFixture, "7\n", "seven\n", 1), ":1: want the image count"},
		{strings.Replace(inshopFixture, "id_00000001 gallery", "id_00000001 test", 1), ":9: status \"test\""},
		{strings.Replace(inshopFixture, " id_00000001 gallery", "", 1), ":9: want \"image_name item_id evaluation_status\""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, inshopList, []byte(tt.content))
			_, err := Open(dir, Options{})
			checkFormatErr(t, "Open", err, tt.want)
		})
	}
}

func TestOpenSOP(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, sopTrain, []byte("image_id class_id super_class_id path\n"+
		"1 1 1 bicycle_final/111_0.JPG\n2 1 1 bicycle_final/111_1.JPG\n3 10 2 cabinet_final/222_0.JPG\n"))
	writeFile(t, dir, sopTest, []byte("image_id class_id super_class_id path\n"+
		"1 2 1 bicycle_final/333_0.JPG\n2 2 1 bicycle_final/333_1.JPG\n3 11 2 cabinet_final/444_0.JPG\n4 11 2 cabinet_final/444_1.JPG\n"))
	writeImages(t, dir, "bicycle_final/111_0.JPG", "bicycle_final/111_1.JPG", "cabinet_final/222_0.JPG",
		"bicycle_final/333_0.JPG", "bicycle_final/333_1.JPG", "cabinet_final/444_0.JPG", "cabinet_final/444_1.JPG")
	ds := mustOpen(t, dir, Options{})
	if got := strings.Join(ds.Classes, ","); ds.Name != "sop" || got != "1,2,10,11" {
		t.Errorf("Name, Classes = %q, %s; want sop, 1,2,10,11", ds.Name, got)
	}
	if !ds.QueryInGallery || ds.Query != ds.Gallery {
		t.Error("SOP queries must be the gallery, QueryInGallery true")
	}
	checkSplit(t, ds, "train", ds.Train, []item{
		{"bicycle_final/111_0.JPG", "1"}, {"bicycle_final/111_1.JPG", "1"}, {"cabinet_final/222_0.JPG", "10"},
	})
	checkSplit(t, ds, "gallery", ds.Gallery, []item{
		{"bicycle_final/333_0.JPG", "2"}, {"bicycle_final/333_1.JPG", "2"},
		{"cabinet_final/444_0.JPG", "11"}, {"cabinet_final/444_1.JPG", "11"},
	})

	writeFile(t, dir, sopTest, []byte("image_id class_id super_class_id path\n1 x 1 a.jpg\n"))
	_, err := Open(dir, Options{})
	checkFormatErr(t, "Open", err, "Ebay_test.txt:2: bad id \"x\"")
	os.Remove(filepath.Join(dir, sopTest))
	if ds, err := Open(dir, Options{}); err == nil && ds.Name == "sop" {
		t.Error("SOP detected without Ebay_test.txt")
	}
}
