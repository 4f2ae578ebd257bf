package ckpt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/nn"
	"github.com/irgen/irgen/internal/store/storetest"
)

func testStore(t *testing.T) *model.Store {
	t.Helper()
	s := model.NewStore()
	if _, err := s.CreateVariable("/enc/w", tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6}, 2, 3)); err != nil {
		t.Fatal(err)
	}
	v, err := s.CreateVariable("/adamw/step", tensors.FromFlatDataAndDimensions([]float32{7}))
	if err != nil {
		t.Fatal(err)
	}
	v.SetTrainable(false)
	return s
}

// saved returns testStore saved with keep.
func saved(t *testing.T, keep func(string) bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Save(&buf, testStore(t), keep); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	got := model.NewStore()
	if err := Load(bytes.NewReader(saved(t, nil)), got); err != nil {
		t.Fatal(err)
	}
	w := tensors.MustCopyFlatData[float32](got.GetVariable("/enc/w").MustValue())
	if want := []float32{1, 2, 3, 4, 5, 6}; !slices.Equal(w, want) {
		t.Errorf("w = %v; want %v", w, want)
	}
	if got.GetVariable("/adamw/step").Trainable {
		t.Errorf("optimizer step loaded as trainable")
	}
	if !got.GetVariable("/enc/w").Trainable {
		t.Errorf("weight loaded as frozen")
	}
}

func TestKeep(t *testing.T) {
	blob := saved(t, func(p string) bool { return p == "/enc/w" })
	got := model.NewStore()
	if err := Load(bytes.NewReader(blob), got); err != nil {
		t.Fatal(err)
	}
	if got.GetVariable("/adamw/step") != nil {
		t.Errorf("excluded variable was saved")
	}
}

func TestDamaged(t *testing.T) {
	good := saved(t, nil)
	flip := storetest.Edit(good, func(b []byte) { b[len(b)-8] ^= 0xff })
	ver := storetest.Edit(good, func(b []byte) { b[8] = 9 })
	storetest.Rejects(t, []storetest.Bad{
		{"empty", nil, ErrFormat},
		{"magic", append([]byte("NOTACKPT"), good[8:]...), ErrFormat},
		{"version", ver, ErrVersion},
		{"truncated data", good[:len(good)-10], ErrFormat},
		{"truncated crc", good[:len(good)-2], ErrFormat},
		{"flipped byte", flip, ErrFormat},
	}, func(t *testing.T, data []byte) error {
		s := model.NewStore()
		err := Load(bytes.NewReader(data), s)
		if s.NumVariables() != 0 {
			t.Errorf("a damaged checkpoint changed the store")
		}
		return err
	})
}

func TestShapeMismatch(t *testing.T) {
	s := model.NewStore()
	s.CreateVariable("/enc/w", tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2))
	if err := Load(bytes.NewReader(saved(t, nil)), s); err == nil {
		t.Fatal("Load into a model of another shape succeeded")
	}
}

func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	s := model.NewStore()
	s.CreateVariable("/w", tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2))
	Save(&buf, s, nil)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		Load(bytes.NewReader(data), model.NewStore())
	})
}

// TestLoadFile checks that errors of LoadFile name the file.
func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.ckpt")
	if err := os.WriteFile(path, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := LoadFile(path, model.NewStore())
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadFile(garbage) = %v; want ErrFormat naming %s", err, path)
	}
	if err := LoadFile(path+".missing", model.NewStore()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile(missing) = %v; want ErrNotExist", err)
	}
}

func TestCopyVars(t *testing.T) {
	from := model.NewStore()
	for path, v := range map[string]float32{"/enc/a": 1, "/enc/b": 2, "/head/c": 3} {
		if _, err := from.CreateVariable(path, tensors.FromFlatDataAndDimensions([]float32{v}, 1)); err != nil {
			t.Fatal(err)
		}
	}
	to := model.NewStore()
	n, err := CopyVars(from, to, "/enc/", "/key")
	if err != nil || n != 2 {
		t.Fatalf("CopyVars = %d, %v; want 2, nil", n, err)
	}
	for path, want := range map[string]float32{"/key/enc/a": 1, "/key/enc/b": 2} {
		v := to.GetVariable(path)
		if v == nil {
			t.Fatalf("%s not copied", path)
		}
		tv, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		if got := tensors.MustCopyFlatData[float32](tv); got[0] != want {
			t.Errorf("%s = %v; want %v", path, got, want)
		}
	}
	if to.GetVariable("/key/head/c") != nil {
		t.Error("copied a variable outside the prefix")
	}
}

func TestNewStore(t *testing.T) {
	from := testStore(t)
	vars, err := NewStore(7, from, "/enc/")
	if err != nil {
		t.Fatal(err)
	}
	if seed, _ := vars.GetParam(nn.ParamSeed); seed != int64(7) {
		t.Errorf("seed param = %v; want 7", seed)
	}
	if vars.GetVariable("/enc/w") == nil || vars.GetVariable("/adamw/step") != nil {
		t.Errorf("copied %d variables; want /enc/w only", vars.NumVariables())
	}
	if vars, err := NewStore(7, nil, "/enc/"); err != nil || vars.NumVariables() != 0 {
		t.Errorf("NewStore(nil from): %v; want an empty store", err)
	}
	if _, err := NewStore(7, from, "/enc/", "/head/"); err == nil || !strings.Contains(err.Error(), "/head/") {
		t.Errorf("NewStore(missing prefix) = %v; want an error naming /head/", err)
	}
}
