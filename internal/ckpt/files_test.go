package ckpt

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/store"
)

type testConfig struct {
	Dim int `json:"dim"`
}

func TestFiles(t *testing.T) {
	root := t.TempDir()
	b, err := store.Create(root)
	if err != nil {
		t.Fatal(err)
	}
	f := Files{Dir: "sub", Config: "m.json", Weights: "m.ckpt"}
	if f.ConfigPath() != "sub/m.json" || f.WeightsPath() != "sub/m.ckpt" {
		t.Fatalf("paths %q, %q; want sub/m.json, sub/m.ckpt", f.ConfigPath(), f.WeightsPath())
	}
	dir := b.Path(f.Dir)
	if err := f.Save(dir, testConfig{Dim: 3}, testStore(t)); err != nil {
		t.Fatal(err)
	}

	// In training: the folder on disk.
	var c testConfig
	if err := f.ReadConfigDir(dir, &c); err != nil || c.Dim != 3 {
		t.Errorf("ReadConfigDir = %+v, %v; want dim 3", c, err)
	}
	vars := model.NewStore()
	if err := f.LoadWeightsDir(dir, vars); err != nil || vars.NumVariables() != 2 {
		t.Errorf("LoadWeightsDir: %d variables, %v; want 2", vars.NumVariables(), err)
	}
	if err := f.ReadConfigDir(t.TempDir(), &c); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadConfigDir(empty dir) = %v; want ErrNotExist", err)
	}

	// Trained: through the bundle, only once recorded.
	if err := f.ReadConfig(b, &c); !errors.Is(err, store.ErrNotRecorded) {
		t.Errorf("ReadConfig before Record = %v; want ErrNotRecorded", err)
	}
	if err := b.Record(f.Dir); err != nil {
		t.Fatal(err)
	}
	c = testConfig{}
	if err := f.ReadConfig(b, &c); err != nil || c.Dim != 3 {
		t.Errorf("ReadConfig = %+v, %v; want dim 3", c, err)
	}
	vars = model.NewStore()
	if err := f.LoadWeights(b, vars); err != nil {
		t.Fatal(err)
	}
	if w := tensors.MustCopyFlatData[float32](vars.GetVariable("/enc/w").MustValue()); !slices.Equal(w, []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("w = %v; want 1..6", w)
	}

	// A file changed since it was recorded is refused.
	path := filepath.Join(dir, f.Weights)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.LoadWeights(b, model.NewStore()); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("LoadWeights(altered file) = %v; want ErrCorrupt", err)
	}
}

func TestBuild(t *testing.T) {
	type testModel struct {
		c    testConfig
		vars *model.Store
	}
	build := Build(func(c testConfig) (*testModel, error) {
		if c.Dim <= 0 {
			return nil, errors.New("bad dim")
		}
		return &testModel{c: c, vars: model.NewStore()}, nil
	}, func(m *testModel) *model.Store { return m.vars })

	f := Files{Config: "m.json", Weights: "m.ckpt", Name: "test"}
	dir := t.TempDir()
	if err := f.Save(dir, testConfig{Dim: 3}, testStore(t)); err != nil {
		t.Fatal(err)
	}
	m, err := LoadDir(f, dir, build)
	if err != nil {
		t.Fatal(err)
	}
	if m.c.Dim != 3 || m.vars.NumVariables() != 2 {
		t.Errorf("LoadDir = dim %d, %d variables; want 3, 2", m.c.Dim, m.vars.NumVariables())
	}
	if m, vars, err := build(testConfig{}); m != nil || vars != nil || err == nil {
		t.Errorf("build(bad config) = %v, %v, %v; want nil, nil, an error", m, vars, err)
	}
}
