package dataset

import (
	"encoding/binary"
	"testing"
)

type carAnno struct {
	path        string
	class, test float64
}

// carsMAT builds a cars_annos.mat like the official one.
func carsMAT(w *matWriter, classes []string, annos []carAnno) []byte {
	fields := []string{"relative_im_path", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "test"}
	ann := &matVar{name: "annotations", class: mxSTRUCT, dims: []int{1, len(annos)}, fields: fields}
	for _, a := range annos {
		ann.elems = append(ann.elems, []*matVar{
			charVar("", a.path),
			numVar(mxDOUBLE, 1), numVar(mxDOUBLE, 2), numVar(mxDOUBLE, 30), numVar(mxDOUBLE, 40),
			numVar(mxDOUBLE, a.class), numVar(mxUINT8, a.test),
		})
	}
	names := &matVar{name: "class_names", class: mxCELL, dims: []int{1, len(classes)}}
	for _, c := range classes {
		names.cells = append(names.cells, charVar("", c))
	}
	return w.file(ann, names)
}

var (
	carClasses = []string{"AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Acura TL Sedan 2012"}
	carAnnos   = []carAnno{
		{"car_ims/000001.jpg", 1, 0},
		{"car_ims/000002.jpg", 1, 1},
		{"car_ims/000003.jpg", 2, 0},
		{"car_ims/000004.jpg", 3, 1},
		{"car_ims/000005.jpg", 3, 0},
	}
)

func TestOpenCars(t *testing.T) {
	writers := map[string]*matWriter{
		"uncompressed":             {order: binary.LittleEndian},
		"compressed":               {order: binary.LittleEndian, compress: true},
		"compressed uint8 numbers": {order: binary.LittleEndian, compress: true, numType: miUINT8},
		"big endian":               {order: binary.BigEndian},
	}
	for name, w := range writers {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := writeFile(t, dir, carsAnnos, carsMAT(w, carClasses, carAnnos))
			for _, a := range carAnnos {
				writeImages(t, dir, a.path)
			}
			for _, spec := range []string{dir, file} {
				ds := mustOpen(t, spec, Options{})
				if ds.Name != "cars196" || len(ds.Classes) != 3 || ds.Classes[1] != "Acura RL Sedan 2012" {
					t.Errorf("Name, Classes = %q, %q", ds.Name, ds.Classes)
				}
				if ds.Train != ds.Gallery {
					t.Error("Train must be Gallery")
				}
				checkSplit(t, ds, "train", ds.Train, []item{
					{"car_ims/000001.jpg", carClasses[0]},
					{"car_ims/000003.jpg", carClasses[1]},
					{"car_ims/000005.jpg", carClasses[2]},
				})
				checkSplit(t, ds, "query", ds.Query, []item{
					{"car_ims/000002.jpg", carClasses[0]},
					{"car_ims/000004.jpg", carClasses[2]},
				})
			}
		})
	}
}

func TestOpenCarsErrors(t *testing.T) {
	w := &matWriter{order: binary.LittleEndian, compress: true}
	good := carsMAT(w, carClasses, carAnnos)
	bad := func(mod func(a []carAnno)) []byte {
		a := append([]carAnno(nil), carAnnos...)
		mod(a)
		return carsMAT(w, carClasses, a)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "truncated"},
		{"header only", good[:128], "no cell array class_names"},
		{"not mat", []byte("hello"), "truncated mat header"},
		{"class range", bad(func(a []carAnno) { a[2].class = 4 }), "annotations(3).class not in 1..3"},
		{"class fraction", bad(func(a []carAnno) { a[0].class = 1.5 }), "annotations(1).class"},
		{"test flag", bad(func(a []carAnno) { a[4].test = 2 }), "annotations(5).test is not 0 or 1"},
		{"empty path", bad(func(a []carAnno) { a[1].path = "" }), "annotations(2).relative_im_path"},
		{"no annotations", w.file(&matVar{name: "class_names", class: mxCELL, dims: []int{1, 1}, cells: []*matVar{charVar("", "x")}}), "no struct array annotations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := writeFile(t, dir, carsAnnos, tt.data)
			_, err := Open(dir, Options{})
			checkFormatErr(t, "Open", err, tt.want, file)
		})
	}
}
