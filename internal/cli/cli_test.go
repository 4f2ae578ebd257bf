package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeIDX writes a small MNIST-layout data set: class c is a bright
// horizontal band at a class-specific height on a noisy background (the
// classes survive the horizontal flips of training augmentation).
func writeIDX(t *testing.T, dir string, nTrain, nTest int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	writeSynthetic(t, dir, nTrain, nTest, 4, func(c int, img []byte) {
		for j := range img {
			img[j] = byte(rng.IntN(60))
		}
		y0 := 2 + 6*c
		for y := y0; y < y0+5; y++ {
			for x := 6; x < 22; x++ {
				img[y*28+x] = byte(200 + rng.IntN(55))
			}
		}
	})
}

// idxData writes the data set of writeIDX into a new temporary folder
// and returns its path.
func idxData(t *testing.T, nTrain, nTest int) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "mnist")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	writeIDX(t, data, nTrain, nTest)
	return data
}

// writeSynthetic writes an MNIST-layout data set of nTrain training and
// nTest test 28×28 images; image i has class i % classes and is drawn
// by draw.
func writeSynthetic(t *testing.T, dir string, nTrain, nTest, classes int, draw func(c int, img []byte)) {
	t.Helper()
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		pix := make([]byte, s.n*28*28)
		labels := make([]byte, s.n)
		for i := range s.n {
			labels[i] = byte(i % classes)
			draw(i%classes, pix[i*784:(i+1)*784])
		}
		writeIDXFiles(t, dir, s.prefix, pix, labels)
	}
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	stdout, stderr = &out, &errb
	defer func() { stdout, stderr = os.Stdout, os.Stderr }()
	code := Main(args)
	return out.String(), errb.String(), code
}

// writeIDXFiles writes n 28×28 images pix and their labels as the gzipped
// IDX files prefix-images-idx3-ubyte.gz and prefix-labels-idx1-ubyte.gz.
func writeIDXFiles(t *testing.T, dir, prefix string, pix, labels []byte) {
	t.Helper()
	write := func(name string, magic uint32, dims []uint32, data []byte) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		binary.Write(zw, binary.BigEndian, magic)
		binary.Write(zw, binary.BigEndian, dims)
		zw.Write(data)
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := uint32(len(labels))
	write(prefix+"-images-idx3-ubyte.gz", 0x803, []uint32{n, 28, 28}, pix)
	write(prefix+"-labels-idx1-ubyte.gz", 0x801, []uint32{n}, labels)
}

func TestPipeline(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	data := idxData(t, 512, 64)
	model := filepath.Join(t.TempDir(), "model")

	small := []string{"--data", data, "--out", model, "--steps", "96", "--batch", "32", "--lr", "2e-3", "--quantize-after", "2",
		"--m", "2", "--l", "8", "--feature-dim", "16"}
	if _, errOut, code := run(t, append([]string{"train-tokenizer"}, small...)...); code != 0 {
		t.Fatalf("train-tokenizer exit %d: %s", code, errOut)
	}
	if _, errOut, code := run(t, "assign", "--model", model); code != 0 {
		t.Fatalf("assign exit %d: %s", code, errOut)
	}
	decoder := []string{"train-decoder", "--model", model, "--dec-steps", "48", "--dec-batch", "32", "--dec-dim", "32",
		"--dec-depth", "1", "--dec-heads", "2", "--dec-mlp", "64", "--dec-lr", "3e-3"}
	if _, errOut, code := run(t, decoder...); code != 0 {
		t.Fatalf("train-decoder exit %d: %s", code, errOut)
	}
	// Other settings over a finished decoder: refused, naming --fresh;
	// with --fresh the decoder is retrained and the model stays whole.
	decoder[4] = "40"
	if _, errOut, code := run(t, decoder...); code == 0 || !strings.Contains(errOut, "--fresh") {
		t.Errorf("train-decoder with other settings: exit %d, %q; want an error naming --fresh", code, errOut)
	}
	if _, errOut, code := run(t, append(decoder, "--fresh")...); code != 0 || !strings.Contains(errOut, "ranking weight") {
		t.Fatalf("train-decoder --fresh: exit %d: %s", code, errOut)
	}
	out, errOut, code := run(t, "eval", "--model", model, "--json", "--k", "1,10", "--beam", "8",
		"--pr-plot", filepath.Join(t.TempDir(), "pr.png"))
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errOut)
	}
	methods := map[string]bool{}
	for _, r := range DecodeEval(t, out) {
		methods[r.Method] = true
		if r.Queries != 64 || r.Ms <= 0 || r.MAP["100"] <= 0 {
			t.Errorf("%s: %+v", r.Method, r)
		}
		// The four classes are trivially separable: every method must
		// retrieve the right class nearly always.
		t.Logf("%s: P@1 %.3f P@10 %.3f MAP@100 %.3f", r.Method, r.Precision["1"], r.Precision["10"], r.MAP["100"])
		if r.Precision["1"] < 0.9 {
			t.Errorf("%s: P@1 = %.3f on separable data", r.Method, r.Precision["1"])
		}
	}
	for _, m := range []string{"irgen", "knn", "rqtree"} {
		if !methods[m] {
			t.Errorf("eval printed no %s result: %s", m, out)
		}
	}

	// search by an image file: a class-3 band.
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := 20; y < 25; y++ {
		for x := 6; x < 22; x++ {
			img.SetGray(x, y, color.Gray{Y: 230})
		}
	}
	q := filepath.Join(t.TempDir(), "q.png")
	f, _ := os.Create(q)
	png.Encode(f, img)
	f.Close()
	out, errOut, code = run(t, "search", "--model", model, "--k", "3", q)
	if code != 0 {
		t.Fatalf("search exit %d: %s", code, errOut)
	}
	if strings.Count(out, "\t3\t")+strings.Count(out, " 3 ") < 1 {
		t.Logf("search output:\n%s", out)
	}
	if !strings.Contains(out, "rank") || strings.Count(out, "train/") != 3 {
		t.Errorf("search output:\n%s", out)
	}
	// A bad file among good ones: the good one is answered, the bad one
	// named, and the exit status says something failed.
	bad := filepath.Join(t.TempDir(), "bad.png")
	os.WriteFile(bad, []byte("not a png"), 0o644)
	out, errOut, code = run(t, "search", "--model", model, "--k", "3", bad, q)
	if code == 0 || !strings.Contains(errOut, "bad.png") || strings.Count(out, "train/") != 3 {
		t.Errorf("search of a bad and a good file: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	// A truncated weights file is refused with a clear error.
	w := filepath.Join(model, "decoder.ckpt")
	st, _ := os.Stat(w)
	os.Truncate(w, st.Size()/2)
	if _, errOut, code := run(t, "eval", "--model", model, "--method", "knn"); code == 0 || !strings.Contains(errOut, "decoder.ckpt") {
		t.Errorf("eval on a truncated model: exit %d, %s", code, errOut)
	}
}

func TestResume(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	data := idxData(t, 256, 16)
	model := filepath.Join(t.TempDir(), "model")
	f := tokenizerFlags{data: data, out: model, size: "mini", epochs: 2, batch: 64, m: 2, l: 8, featureDim: 16,
		lr: 1e-3, encoderLRMult: -1, rqWeight: 1, warmup: 1, quantizeAfter: -1, seed: 1}
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &cancelAfter{w: &bytes.Buffer{}, after: "k-means codebooks", cancel: cancel}
	defer func() { stderr = os.Stderr }()
	if _, err := runTokenizer(ctx, f); err == nil {
		t.Fatal("interrupted training returned no error")
	}
	data1, err := os.ReadFile(filepath.Join(model, "tokenizer.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Done int `json:"done_steps"`
	}
	json.Unmarshal(data1, &st)
	if st.Done == 0 || st.Done >= 8 {
		t.Fatalf("interrupted at step %d of 8", st.Done)
	}
	var log bytes.Buffer
	stderr = &log
	if _, err := runTokenizer(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resuming") {
		t.Errorf("second run did not resume: %s", log.String())
	}
}

// cancelAfter cancels a context once a progress line containing after is
// written (the loop then saves and stops).
type cancelAfter struct {
	w      *bytes.Buffer
	after  string
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.after) {
		c.cancel()
	}
	return c.w.Write(p)
}

func TestUsage(t *testing.T) {
	if _, _, code := run(t, "nope"); code != 2 {
		t.Errorf("unknown command exit %d; want 2", code)
	}
	for name := range commands {
		if _, errOut, code := run(t, name, "--help"); code != 0 || !strings.Contains(errOut, "Usage: irgen "+name) {
			t.Errorf("%s --help: exit %d, %q", name, code, errOut)
		}
	}
	if _, errOut, code := run(t, "eval", "--model", t.TempDir()); code == 0 || !strings.Contains(errOut, "no model") {
		t.Errorf("eval on an empty dir: exit %d, %q", code, errOut)
	}
}
