package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"

	"github.com/irgen/irgen/internal/backend"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/imageproc"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
)

// Keys of the model bundle's configuration sections.
const (
	cfgData      = "data"
	cfgTransform = "transform"
)

// dataInfo records which data a model was built from, so later stages
// reopen the same splits.
type dataInfo struct {
	Spec   string `json:"spec"`
	Labels string `json:"labels,omitempty"` // labels file of a flat folder
	Limit  int    `json:"limit,omitempty"`  // first N training images; 0 = all
}

// openBundle opens the model directory, creating it when create is set and
// it holds no model yet.
func openBundle(dir string, create bool) (*store.Bundle, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: --model (or --out) is required", errUsage)
	}
	b, err := store.Open(dir)
	if errors.Is(err, fs.ErrNotExist) && create {
		return store.Create(dir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(dir, tokenizer.WeightsFile)); serr == nil {
			return nil, fmt.Errorf("%s holds model files but no %s (copied in part, or written by an old irgen): "+
				"copy the whole folder, or retrain with 'irgen index SOURCE --out %s --fresh'", dir, store.ManifestName, dir)
		}
		return nil, fmt.Errorf("no model in %s: run 'irgen train-tokenizer --out %s' or 'irgen index' first", dir, dir)
	}
	return b, err
}

// loadBundle opens an existing model and verifies every recorded file, so
// a truncated or corrupted model is refused before use.
func loadBundle(dir string) (*store.Bundle, error) {
	b, err := openBundle(dir, false)
	if err != nil {
		return nil, err
	}
	if err := b.VerifyAll(); err != nil {
		return nil, err
	}
	return b, nil
}

// record hashes the files a stage wrote and saves the manifest.
func record(b *store.Bundle, files ...string) error {
	for _, f := range files {
		if err := b.Record(f); err != nil {
			return err
		}
	}
	return b.Save()
}

func newBackend() (compute.Backend, error) {
	return backend.New(config.Backend())
}

// openData opens the data set spec; labels names the labels file of a
// flat folder ("" for none). Unreadable images are skipped: the first few
// are named, then counted once per split.
func openData(spec, labels string) (*dataset.Dataset, error) {
	opt := dataOptions()
	opt.Labels = labels
	ds, err := dataset.Open(spec, opt)
	if err != nil {
		return nil, err
	}
	named := 0
	opt.Report = func(key string, err error) {
		if named++; named <= maxNamedSkips {
			fmt.Fprintf(stderr, "irgen: skipping %s: %v\n", key, err)
		}
	}
	scanned := map[dataset.Split]dataset.Split{}
	for _, s := range []struct {
		name  string
		split *dataset.Split
	}{{"training", &ds.Train}, {"gallery", &ds.Gallery}, {"query", &ds.Query}} {
		if _, ok := (*s.split).(*dataset.Gray); ok {
			continue
		}
		if good, ok := scanned[*s.split]; ok { // the same split as another
			*s.split = good
			continue
		}
		good, bad := dataset.Scan(*s.split, opt)
		if len(bad) > 0 {
			fmt.Fprintf(stderr, "irgen: skipped %d unreadable of %d %s images\n", len(bad), (*s.split).Len(), s.name)
		}
		scanned[*s.split] = good
		*s.split = good
	}
	return ds, nil
}

// maxNamedSkips is how many unreadable images openData names.
const maxNamedSkips = 5

func dataOptions() dataset.Options {
	return dataset.Options{
		Limits:     imageproc.DefaultLimits(),
		FashionDir: config.FashionDir(),
	}
}

// reopenData opens the data a model was built from, with its limit.
func reopenData(b *store.Bundle) (*dataset.Dataset, dataInfo, error) {
	var di dataInfo
	if err := b.Config(cfgData, &di); err != nil {
		return nil, di, err
	}
	ds, err := openData(di.Spec, di.Labels)
	if err != nil {
		return nil, di, err
	}
	if di.Limit > 0 {
		ds.Train = dataset.Limit(ds.Train, di.Limit)
	}
	return ds, di, nil
}

// backendName is the backend configuration in use, for reports.
func backendName() string { return config.Backend() }

// recordOwn records files a stage wrote in the model's manifest as it is
// on disk now: another command may have saved it since this one loaded
// it, and its entries are kept.
func recordOwn(dir string, files ...string) error {
	b, err := store.Open(dir)
	if err != nil {
		return err
	}
	return record(b, files...)
}

func fmtSecs(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Second)
}

// reportTrained tells stderr that model name is trained, in secs seconds
// over all runs, this run started at start.
func reportTrained(name string, secs float64, start time.Time) {
	fmt.Fprintf(stderr, "irgen: %s trained in %s (this run %s)\n", name, fmtSecs(secs), time.Since(start).Round(time.Second))
}
