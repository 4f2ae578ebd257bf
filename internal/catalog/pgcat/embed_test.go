package pgcat_test

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/irgen/irgen/internal/baseline/bovw"
	"github.com/irgen/irgen/internal/baseline/irt"
	"github.com/irgen/irgen/internal/baseline/mrl"
	"github.com/irgen/irgen/internal/store"
)

// TestEmbedShards embeds the gallery for irt, irt-o and mrl, and counts
// its visual words for bovw, with two split workers into a catalog, one
// of them run again after some of its rows were removed, exports the
// embeddings to the model, and compares them with what train-irt,
// train-mrl and train-bovw wrote on one machine.
func TestEmbedShards(t *testing.T) {
	_, url, dir := modelDB(t, "embed")
	for _, args := range [][]string{
		{"train-irt", "--model", dir, "--max-iter", "2", "--batch", "16"},
		{"train-mrl", "--model", dir, "--epochs", "0.1", "--batch", "32", "--dim", "16"},
		append([]string{"train-bovw", "--model", dir}, bovwFlags...),
	} {
		if code, out := irgen(args...); code != 0 {
			t.Fatalf("%s: exit %d\n%s", args[0], code, out)
		}
	}
	want := map[string][]float32{"irt": readIRT(t, dir, irt.GalleryFile), "irt-o": readIRT(t, dir, irt.OffTheShelfFile),
		"mrl": readMRL(t, dir), "bovw": readBoVW(t, dir)}
	forgetEmbeddings(t, dir) // the exports write them anew
	if code, out := irgen(append([]string{"train-bovw", "--model", dir, "--train-only"}, bovwFlags...)...); code != 0 {
		t.Fatalf("train-bovw --train-only: exit %d\n%s", code, out)
	}
	conn := connect(t, url)
	for _, method := range []string{"irt", "irt-o", "mrl", "bovw"} {
		embed := func(more ...string) (int, string) {
			return irgen(append([]string{"embed", "--model", dir, "--method", method, "--catalog", url}, more...)...)
		}
		if code, out := embed("--shard", "1/2"); code != 0 {
			t.Fatalf("embed %s --shard 1/2: exit %d\n%s", method, code, out)
		}
		if _, err := conn.Exec(context.Background(), `DELETE FROM irgen_vectors WHERE method = $1 AND id IN (256, 300, 511)`, method); err != nil {
			t.Fatal(err)
		}
		if code, out := embed("--export"); code == 0 || !strings.Contains(out, "253 of 512 "+method+" vectors") {
			t.Errorf("export %s with shard 0/2 missing: exit %d; want a failure naming the count\n%s", method, code, out)
		}
		if code, out := embed("--shard", "0/2"); code != 0 {
			t.Fatalf("embed %s --shard 0/2: exit %d\n%s", method, code, out)
		}
		if code, out := embed("--shard", "1/2"); code != 0 || !strings.Contains(out, "3 embedded now, 253 there already") {
			t.Errorf("embed %s --shard 1/2 again: exit %d\n%s", method, code, out)
		}
		if code, out := embed("--export"); code != 0 {
			t.Fatalf("export %s: exit %d\n%s", method, code, out)
		}
		got := map[string]func() []float32{
			"irt":   func() []float32 { return readIRT(t, dir, irt.GalleryFile) },
			"irt-o": func() []float32 { return readIRT(t, dir, irt.OffTheShelfFile) },
			"mrl":   func() []float32 { return readMRL(t, dir) },
			"bovw":  func() []float32 { return readBoVW(t, dir) },
		}[method]()
		closeTo(t, method, got, want[method])
	}
	if code, out := irgen("train-mrl", "--model", dir, "--epochs", "0.1", "--batch", "32", "--dim", "16"); code != 0 ||
		!strings.Contains(out, "HNSW") || strings.Contains(out, "embedded") {
		t.Errorf("train-mrl after the split embedding: exit %d; want the graph built from the exported embeddings\n%s", code, out)
	}
	if code, out := irgen("eval", "--model", dir, "--method", "irt,irt-o,mrl,bovw"); code != 0 {
		t.Errorf("eval of the exported embeddings: exit %d\n%s", code, out)
	}
}

// TestEmbedFlags checks the usage errors of 'irgen embed'.
func TestEmbedFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--method", "dsi", "--catalog", "postgres://u@127.0.0.1:1/x", "--shard", "0/2"},
		{"--method", "hnsw", "--catalog", "postgres://u@127.0.0.1:1/x", "--shard", "0/2"},
		{"--method", "irt", "--shard", "0/2"},
		{"--method", "irt", "--catalog", "postgres://u@127.0.0.1:1/x"},
		{"--method", "irt", "--catalog", "postgres://u@127.0.0.1:1/x", "--shard", "0/2", "--export"},
		{"--method", "irt", "--catalog", "postgres://u@127.0.0.1:1/x", "--shard", "3/2"},
		{"--method", "mrl", "--catalog", "postgres://u@127.0.0.1:1/x", "--export", "--fresh"},
	} {
		if code, out := irgen(append([]string{"embed", "--model", t.TempDir()}, args...)...); code != 2 {
			t.Errorf("embed %v: exit %d; want 2 (usage)\n%s", args, code, out)
		}
	}
}

// forgetEmbeddings removes the gallery embeddings from the model, as
// train-irt and train-mrl with --train-only leave it.
func forgetEmbeddings(t *testing.T, dir string) {
	t.Helper()
	b, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{irt.GalleryFile, irt.OffTheShelfFile, mrl.EmbeddingsFile, bovw.File}
	b.Forget(files)
	if err := b.Save(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		os.Remove(b.Path(f))
	}
}

// readVectors returns the vectors that read finds in file of the model
// in dir, which the model's manifest must record as it is.
func readVectors(t *testing.T, dir, file string, read func(path string) ([]float32, error)) []float32 {
	t.Helper()
	v, err := read(dir + "/" + file)
	if err != nil {
		t.Fatal(err)
	}
	checkRecorded(t, dir, file)
	return v
}

func readIRT(t *testing.T, dir, file string) []float32 {
	return readVectors(t, dir, file, func(path string) ([]float32, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		e, err := irt.ReadEmbeddings(f)
		if err != nil {
			return nil, err
		}
		return e.Data, nil
	})
}

// bovwFlags make train-bovw quick on the test model.
var bovwFlags = []string{"--k", "16", "--train-descriptors", "3000", "--kmeans-iters", "5"}

// readBoVW returns the weighted histograms of the model's BoVW index:
// its counts and its inverse document frequencies.
func readBoVW(t *testing.T, dir string) []float32 {
	return readVectors(t, dir, bovw.File, func(path string) ([]float32, error) {
		ix, err := bovw.Load(path)
		if err != nil {
			return nil, err
		}
		return ix.Vectors(), nil
	})
}

func readMRL(t *testing.T, dir string) []float32 {
	return readVectors(t, dir, mrl.EmbeddingsFile, func(path string) ([]float32, error) {
		e, err := mrl.ReadEmbeddings(path)
		if err != nil {
			return nil, err
		}
		return e.Data, nil
	})
}

// checkRecorded checks that the model's manifest records file as it is.
func checkRecorded(t *testing.T, dir, file string) {
	t.Helper()
	b, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(file); err != nil {
		t.Errorf("%s: %v", file, err)
	}
}

// closeTo checks that got has want's values within 1e-4.
func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values; want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > 1e-4 {
			t.Fatalf("%s: value %d = %v; want %v", what, i, got[i], want[i])
		}
	}
}
