package ckpt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/irgen/irgen/internal/store"
)

// Files is a model on disk: its configuration, as JSON, and its weights,
// a checkpoint of every variable, in one folder of a model bundle. A model
// in training saves into and resumes from the folder; a trained model,
// once its files are recorded in the bundle's manifest, loads through the
// bundle, which checks them against the manifest.
type Files struct {
	// Dir is the folder inside the bundle, slash-separated; "" for the
	// bundle's root.
	Dir string
	// Config and Weights are the file names inside Dir.
	Config, Weights string
	// Name is the model's, prefixing the errors of Save,
	// LoadWeightsFile, LoadDir, LoadBundle, ConfigDir and ConfigBundle
	// ("irt: ..."); "" prefixes nothing.
	Name string
}

// wrap prefixes err with the model's name.
func (f Files) wrap(err error) error {
	if f.Name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", f.Name, err)
}

// ConfigPath is the bundle-relative path of the configuration.
func (f Files) ConfigPath() string { return path.Join(f.Dir, f.Config) }

// WeightsPath is the bundle-relative path of the weights.
func (f Files) WeightsPath() string { return path.Join(f.Dir, f.Weights) }

// Save writes config and the variables of vars (optimizer state included,
// for resuming) into dir, the model's folder on disk, creating it. Each
// file is written atomically; the configuration first, so that weights
// are never newer than a configuration that cannot read them.
func (f Files) Save(dir string, config any, vars *model.Store) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f.wrap(fmt.Errorf("ckpt: save: %w", err))
	}
	if err := store.WriteJSON(filepath.Join(dir, f.Config), config); err != nil {
		return f.wrap(err)
	}
	err := store.WriteFileAtomic(filepath.Join(dir, f.Weights), func(w io.Writer) error {
		return Save(w, vars, nil)
	})
	if err != nil {
		return f.wrap(err)
	}
	return nil
}

// ReadConfigDir decodes the configuration saved in dir, the model's folder
// on disk, into config. A missing file is an error wrapping
// fs.ErrNotExist.
func (f Files) ReadConfigDir(dir string, config any) error {
	return store.ReadJSON(filepath.Join(dir, f.Config), config)
}

// LoadWeightsDir loads the weights saved in dir, the model's folder on
// disk, into vars.
func (f Files) LoadWeightsDir(dir string, vars *model.Store) error {
	return LoadFile(filepath.Join(dir, f.Weights), vars)
}

// LoadWeightsFile loads the checkpoint at path (one that training wrote,
// to resume from) into vars; its errors are prefixed with f.Name.
func (f Files) LoadWeightsFile(path string, vars *model.Store) error {
	if err := LoadFile(path, vars); err != nil {
		return f.wrap(err)
	}
	return nil
}

// ReadConfig decodes the configuration recorded in bundle b into config,
// after checking the file against b's manifest.
func (f Files) ReadConfig(b *store.Bundle, config any) error {
	rel := f.ConfigPath()
	data, err := b.ReadFile(rel)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, config); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}

// LoadWeights loads the weights recorded in bundle b into vars, after
// checking the file against b's manifest.
func (f Files) LoadWeights(b *store.Bundle, vars *model.Store) error {
	rel := f.WeightsPath()
	data, err := b.ReadFile(rel)
	if err != nil {
		return err
	}
	if err := Load(bytes.NewReader(data), vars); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}

// LoadDir reads the model saved in dir, its folder on disk: the
// configuration into a C, which build turns into a model M with fresh
// variables vars, then the weights into vars. Errors reading either file
// are prefixed with f.Name; build's are returned as they are.
func LoadDir[C, M any](f Files, dir string, build func(C) (m M, vars *model.Store, err error)) (M, error) {
	var c C
	if err := f.ReadConfigDir(dir, &c); err != nil {
		var zero M
		return zero, f.wrap(err)
	}
	return loadInto(f, c, build, func(vars *model.Store) error { return f.LoadWeightsDir(dir, vars) })
}

// LoadBundle is LoadDir from bundle b, checking the files against b's
// manifest.
func LoadBundle[C, M any](f Files, b *store.Bundle, build func(C) (m M, vars *model.Store, err error)) (M, error) {
	var c C
	if err := f.ReadConfig(b, &c); err != nil {
		var zero M
		return zero, f.wrap(err)
	}
	return loadInto(f, c, build, func(vars *model.Store) error { return f.LoadWeights(b, vars) })
}

// Build returns the build function of LoadDir and LoadBundle for models
// that newModel makes, with fresh variables, from their configuration;
// vars returns a model's variables. newModel's errors are returned as
// they are.
func Build[C, M any](newModel func(C) (M, error), vars func(M) *model.Store) func(C) (M, *model.Store, error) {
	return func(c C) (M, *model.Store, error) {
		m, err := newModel(c)
		if err != nil {
			var zero M
			return zero, nil, err
		}
		return m, vars(m), nil
	}
}

func loadInto[C, M any](f Files, c C, build func(C) (M, *model.Store, error), load func(*model.Store) error) (M, error) {
	var zero M
	m, vars, err := build(c)
	if err != nil {
		return zero, err
	}
	if err := load(vars); err != nil {
		return zero, f.wrap(err)
	}
	return m, nil
}

// Validator is a configuration that checks itself.
type Validator interface{ Validate() error }

// ConfigDir reads the configuration saved in dir, the model's folder on
// disk, and validates it. A missing file is an error wrapping
// fs.ErrNotExist; errors reading it are prefixed with f.Name.
func ConfigDir[C Validator](f Files, dir string) (C, error) {
	var c C
	if err := f.ReadConfigDir(dir, &c); err != nil {
		return c, f.wrap(err)
	}
	return c, c.Validate()
}

// ConfigBundle is ConfigDir from bundle b, checking the file against b's
// manifest.
func ConfigBundle[C Validator](f Files, b *store.Bundle) (C, error) {
	var c C
	if err := f.ReadConfig(b, &c); err != nil {
		return c, f.wrap(err)
	}
	return c, c.Validate()
}

// SaveFile writes every variable of vars to the file at path, atomically.
func SaveFile(path string, vars *model.Store) error {
	return store.WriteFileAtomic(path, func(w io.Writer) error {
		return Save(w, vars, nil)
	})
}
