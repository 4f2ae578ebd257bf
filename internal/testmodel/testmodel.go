// Package testmodel trains the tiny irgen model that end-to-end tests of
// the engine, the catalog and the server share. Training costs tens of
// seconds, so the model is built once per machine: in a cache directory
// under os.TempDir, guarded by a file lock so that test binaries running
// in parallel train it once. Each test gets a private copy (Copy) because
// tests add images to it.
//
// The data set is synthetic (WriteIDX): four trivially separable classes
// of 28×28 gray images, so every method retrieves the right class.
package testmodel

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/store"
)

// Version names the cache directory. Bump it when training or the model
// format changes so that stale cached models are not reused.
const Version = "v3"

// Sizes of the synthetic data set.
const (
	NumTrain = 512
	NumTest  = 64
	Classes  = 4
)

// tokenizerArgs and decoderArgs are the training flags of the tiny model,
// the same as internal/cli's TestPipeline.
var (
	tokenizerArgs = []string{"--steps", "96", "--batch", "32", "--lr", "2e-3", "--quantize-after", "2",
		"--m", "2", "--l", "8", "--feature-dim", "16"}
	decoderArgs = []string{"--dec-steps", "48", "--dec-batch", "32", "--dec-dim", "32",
		"--dec-depth", "1", "--dec-heads", "2", "--dec-mlp", "64", "--dec-lr", "3e-3"}
)

// Image returns a synthetic image of class c (0 ≤ c < Classes): a bright
// horizontal band at a class-specific height on a noisy background, drawn
// with rng.
func Image(c int, rng *rand.Rand) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for j := range img.Pix {
		img.Pix[j] = byte(rng.IntN(60))
	}
	y0 := 2 + 6*c
	for y := y0; y < y0+5; y++ {
		for x := 6; x < 22; x++ {
			img.Pix[y*28+x] = byte(200 + rng.IntN(55))
		}
	}
	return img
}

// WriteIDX writes an MNIST-layout data set of nTrain training and nTest
// test images into dir; image i has class i % Classes.
func WriteIDX(dir string, nTrain, nTest int) error {
	rng := rand.New(rand.NewPCG(1, 1))
	write := func(name string, magic uint32, dims []uint32, data []byte) error {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		binary.Write(zw, binary.BigEndian, magic)
		binary.Write(zw, binary.BigEndian, dims)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644)
	}
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		pix := make([]byte, 0, s.n*28*28)
		labels := make([]byte, s.n)
		for i := range s.n {
			labels[i] = byte(i % Classes)
			pix = append(pix, Image(i%Classes, rng).Pix...)
		}
		if err := write(s.prefix+"-images-idx3-ubyte.gz", 0x803, []uint32{uint32(s.n), 28, 28}, pix); err != nil {
			return err
		}
		if err := write(s.prefix+"-labels-idx1-ubyte.gz", 0x801, []uint32{uint32(s.n)}, labels); err != nil {
			return err
		}
	}
	return nil
}

// Build writes the data set into root/data and trains the model into
// root/model with the CLI, logging to log.
func Build(root string, log io.Writer) error {
	data := filepath.Join(root, "data")
	model := filepath.Join(root, "model")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	if err := WriteIDX(data, NumTrain, NumTest); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	steps := [][]string{
		append([]string{"train-tokenizer", "--data", data, "--out", model}, tokenizerArgs...),
		{"assign", "--model", model},
		append([]string{"train-decoder", "--model", model}, decoderArgs...),
	}
	for _, args := range steps {
		if code := cli.MainIO(args, log, log); code != 0 {
			return fmt.Errorf("testmodel: irgen %s: exit %d", strings.Join(args, " "), code)
		}
	}
	return nil
}

// Shared returns the directory of the shared model (with data/ and
// model/), training it first if no complete copy is cached. Callers must
// not modify it; use Copy.
func Shared(tb testing.TB) string {
	tb.Helper()
	root := filepath.Join(os.TempDir(), "irgen-testmodel-"+Version)
	done := filepath.Join(root, "done")
	if usable(root) {
		return root
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		tb.Fatal(err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if usable(root) {
		return root // another test binary trained it while we waited
	}
	os.Remove(done)
	for _, d := range []string{"data", "model"} {
		os.RemoveAll(filepath.Join(root, d))
	}
	var log bytes.Buffer
	if err := Build(root, &log); err != nil {
		tb.Fatalf("%v\n%s", err, log.String())
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return root
}

// usable reports whether root holds a complete model that this build
// can load: a model cached by an older build may not be.
func usable(root string) bool {
	if _, err := os.Stat(filepath.Join(root, "done")); err != nil {
		return false
	}
	dir := filepath.Join(root, "model")
	b, err := store.Open(dir)
	if err != nil || b.VerifyAll() != nil {
		return false
	}
	_, err = Open(dir)
	return err == nil
}

// Copy returns a private copy of the shared model directory in a
// temporary directory. Its data set stays in the shared cache.
func Copy(tb testing.TB) string {
	tb.Helper()
	src := filepath.Join(Shared(tb), "model")
	dst := filepath.Join(tb.TempDir(), "model")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
	return dst
}

// Data returns the directory of the shared synthetic data set.
func Data(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(Shared(tb), "data")
}
