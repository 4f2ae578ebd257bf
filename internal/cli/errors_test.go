package cli

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestErrorsBeforeWork checks that bad input is refused at once, with a
// message naming the problem and the fix, and that nothing is left
// behind.
func TestErrorsBeforeWork(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	data := idxData(t, 64, 8)
	root := t.TempDir()
	writeImages := func(names ...string) {
		for _, n := range names {
			src := filepath.Join(root, n)
			os.MkdirAll(filepath.Dir(src), 0o755)
			if err := os.WriteFile(src, tinyPNG(t), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeImages("a.png", "b.png", "q.png")
	noTrain := filepath.Join(root, "no-train.csv")
	os.WriteFile(noTrain, []byte("a.png,x,gallery\nb.png,y,gallery\nq.png,x,query\n"), 0o644)
	partial := filepath.Join(t.TempDir(), "partial")
	os.MkdirAll(partial, 0o755)
	os.WriteFile(filepath.Join(partial, "tokenizer.ckpt"), []byte("x"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want []string // in the message
	}{
		{"model without manifest", []string{"eval", "--model", partial}, []string{"manifest.json", "--fresh"}},
		{"manifest without training rows", []string{"train-tokenizer", "--data", noTrain}, []string{"no training images", "train or trainval"}},
		{"codebooks never made", []string{"train-tokenizer", "--data", data, "--steps", "2", "--batch", "32", "--val", "0"}, []string{"codebooks", "--quantize-after"}},
		{"validation share", []string{"train-tokenizer", "--data", data, "--val", "0.7"}, []string{"validation share"}},
		{"flip mode", []string{"train-tokenizer", "--data", data, "--flip", "yes"}, []string{"--flip \"yes\"", "auto, on or off"}},
		{"no such data", []string{"train-tokenizer", "--data", filepath.Join(root, "missing")}, []string{"missing"}},
		{"dsi target", []string{"train-dsi", "--model", partial, "--index-target", "2"}, []string{"--index-target 2"}},
		{"dsi validation share", []string{"train-dsi", "--model", partial, "--retrieval-val", "1"}, []string{"--retrieval-val 1"}},
		{"batch window", []string{"serve", "--model", partial, "--batch-window", "-1ms"}, []string{"--batch-window -1ms"}},
		{"max batch", []string{"serve", "--model", partial, "--max-batch", "1000"}, []string{"--max-batch 1000"}},
	} {
		out := filepath.Join(t.TempDir(), "model")
		start := time.Now()
		args := tc.args
		if args[0] == "train-tokenizer" {
			args = append(args, "--out", out)
		}
		_, errOut, code := run(t, args...)
		if code == 0 {
			t.Errorf("%s: exit 0", tc.name)
			continue
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: answered in %v", tc.name, d)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: message %q lacks %q", tc.name, errOut, w)
			}
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: left %s behind", tc.name, out)
		}
	}
}

// TestSmallCollectionBatch trains on fewer images than a batch: the batch
// shrinks to the collection instead of failing.
func TestSmallCollectionBatch(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	data := idxData(t, 40, 8)
	out := filepath.Join(t.TempDir(), "model")
	_, errOut, code := run(t, "train-tokenizer", "--data", data, "--out", out, "--steps", "4", "--quantize-after", "0",
		"--val", "0", "--m", "2", "--l", "4", "--feature-dim", "8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "batches of 40") {
		t.Errorf("no note of the smaller batch: %s", errOut)
	}
}

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSkippedReportedOnce opens a folder with 20 unreadable images: a few
// are named, the rest counted, once for the gallery that is also the
// training split.
func TestSkippedReportedOnce(t *testing.T) {
	root := t.TempDir()
	for c, class := range []string{"cat", "dog"} {
		os.MkdirAll(filepath.Join(root, class), 0o755)
		for i := range 15 {
			data := tinyPNG(t)
			if i < 10 {
				data = []byte("not an image")
			}
			os.WriteFile(filepath.Join(root, class, fmt.Sprintf("%d-%d.png", c, i)), data, 0o644)
		}
	}
	var errb bytes.Buffer
	stderr = &errb
	defer func() { stderr = os.Stderr }()
	ds, err := openData(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.Len()+ds.Query.Len() != 10 {
		t.Errorf("%d readable images; want 10", ds.Train.Len()+ds.Query.Len())
	}
	out := errb.String()
	if n := strings.Count(out, "skipping"); n != maxNamedSkips {
		t.Errorf("%d images named; want %d:\n%s", n, maxNamedSkips, out)
	}
	if n := strings.Count(out, "unreadable"); n < 1 || n > 2 {
		t.Errorf("%d count lines; want one per distinct split with bad images:\n%s", n, out)
	}
}

// TestEvalHelpNamesMethods checks that 'eval --help' lists the registered
// seed systems, not only the built-in methods.
func TestEvalHelpNamesMethods(t *testing.T) {
	_, errOut, _ := run(t, "eval", "--help")
	for _, m := range []string{"irgen", "irgen-gen", "knn", "rqtree", "hnsw", "bovw", "dsi", "irt", "mrl"} {
		if !strings.Contains(errOut, m) {
			t.Errorf("eval --help does not name %s:\n%s", m, errOut)
		}
	}
}

// TestNoToolOutputTracked fails when files that tools write (compute-onnx's
// failed_model.onnx, CPU profiles, bench stderr) are tracked by git.
func TestNoToolOutputTracked(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files").Output()
	if err != nil {
		t.Skipf("no git checkout: %v", err)
	}
	for _, f := range strings.Split(string(out), "\n") {
		base := filepath.Base(f)
		if base == "failed_model.onnx" || strings.HasSuffix(f, ".pprof") || f == "bench/results/stderr.log" {
			t.Errorf("tracked tool output: %s", f)
		}
	}
}
