package ann_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/irgen/irgen/internal/baseline/ann"
	"github.com/irgen/irgen/internal/baseline/hnsw"
	"github.com/irgen/irgen/internal/cli"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/testmodel"
)

// recall returns the mean fraction of want's results that got has.
func recall(got, want [][]engine.Hit) float64 {
	var hit, total int
	for q := range want {
		ids := map[int]bool{}
		for _, h := range got[q] {
			ids[h.Index] = true
		}
		for _, h := range want[q] {
			total++
			if ids[h.Index] {
				hit++
			}
		}
	}
	return float64(hit) / float64(max(total, 1))
}

// TestRecallAgainstKNN checks the hnsw method against the exact knn
// method on the tiny model's queries, through the engine.
func TestRecallAgainstKNN(t *testing.T) {
	e := testmodel.MustOpen(t, testmodel.Copy(t))
	if !e.Available(ann.Method) {
		t.Fatal("hnsw is not available on a model with a gallery")
	}
	qs, labels := testmodel.Queries(t, e)
	n := len(labels)
	for _, k := range []int{1, 10, 50} {
		want, _, err := e.Search(engine.KNN, qs, n, engine.Options{K: k})
		if err != nil {
			t.Fatal(err)
		}
		got, tm, err := e.Search(ann.Method, qs, n, engine.Options{K: k})
		if err != nil {
			t.Fatal(err)
		}
		r := recall(got, want)
		t.Logf("k=%d: recall %.4f against knn (encode %v, search %v)", k, r, tm.Encode, tm.Search)
		if r < 0.95 {
			t.Errorf("k=%d: recall@%d %.4f against knn, want ≥ 0.95", k, k, r)
		}
		for q := range got {
			if len(got[q]) != k {
				t.Fatalf("k=%d: query %d has %d hits", k, q, len(got[q]))
			}
			for i := 1; i < k; i++ {
				if got[q][i].Score > got[q][i-1].Score {
					t.Fatalf("query %d: hits not sorted by score", q)
				}
			}
		}
	}
	// Exclude and Delete are honoured.
	got, _, err := e.Search(ann.Method, qs, n, engine.Options{K: 5, Exclude: func(q, id int) bool { return id%2 == q%2 }})
	if err != nil {
		t.Fatal(err)
	}
	for q, hs := range got {
		for _, h := range hs {
			if h.Index%2 == q%2 {
				t.Fatalf("query %d: excluded image %d returned", q, h.Index)
			}
		}
	}
	top, _, _ := e.Search(ann.Method, qs[:e.Transform.Len()], 1, engine.Options{K: 1})
	if err := e.Delete(top[0][0].Index); err != nil {
		t.Fatal(err)
	}
	again, _, err := e.Search(ann.Method, qs[:e.Transform.Len()], 1, engine.Options{K: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range again[0] {
		if h.Index == top[0][0].Index {
			t.Fatalf("deleted image %d returned", h.Index)
		}
	}
	if _, _, err := e.Search(ann.Method, qs, n, engine.Options{K: 0}); err == nil {
		t.Error("k = 0 accepted")
	}
}

// TestBuildCommand saves a graph with the CLI and checks that the engine
// uses it, and that a graph of other features is not used.
func TestBuildCommand(t *testing.T) {
	dir := testmodel.Copy(t)
	var log bytes.Buffer
	if code := cli.MainIO([]string{"build-hnsw", "--model", dir, "--m", "8", "--ef-search", "77"}, &log, &log); code != 0 {
		t.Fatalf("build-hnsw: exit %d\n%s", code, log.String())
	}
	t.Log(log.String())
	b, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(ann.File); err != nil {
		t.Fatalf("graph not recorded in the manifest: %v", err)
	}
	e := testmodel.MustOpen(t, dir)
	qs, labels := testmodel.Queries(t, e)
	n := len(labels)
	want, _, _ := e.Search(engine.KNN, qs, n, engine.Options{K: 10})
	got, _, err := e.Search(ann.Method, qs, n, engine.Options{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r := recall(got, want); r < 0.95 {
		t.Errorf("recall %.4f against knn with the saved graph", r)
	}
	r, err := ann.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.(*ann.Retriever).Index().Config(); c.M != 8 || c.EfSearch != 77 {
		t.Errorf("opened graph has M %d, efSearch %d; want the saved 8, 77", c.M, c.EfSearch)
	}

	// A graph whose digest does not match the gallery is rebuilt.
	f, err := os.Open(b.Path(ann.File))
	if err != nil {
		t.Fatal(err)
	}
	ix, _, err := ann.Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ann.Save(&buf, ix, [32]byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.Path(ann.File), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = ann.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.(*ann.Retriever).Index().Config(); c.EfSearch != hnsw.DefaultConfig().EfSearch {
		t.Errorf("stale graph used (efSearch %d)", c.EfSearch)
	}
	if code := cli.MainIO([]string{"build-hnsw", "--model", dir, "--m", "1"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("build-hnsw --m 1: exit %d, want 2", code)
	}
}

// TestOldLayout loads a graph file laid out by hand as ann saved it before
// store.Format (the graph itself in hnsw's format, which hnsw tests), and
// checks that Save writes the same bytes.
func TestOldLayout(t *testing.T) {
	feats := []float32{1, 0, 0, 1, -1, 0}
	ix, err := hnsw.Build(context.Background(), feats, 2, hnsw.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var graph bytes.Buffer
	if err := ix.Save(&graph); err != nil {
		t.Fatal(err)
	}
	var d [32]byte
	for i := range d {
		d[i] = byte(i)
	}
	var b bytes.Buffer
	b.WriteString("IRGNANNG")
	binary.Write(&b, binary.LittleEndian, uint32(1))
	b.Write(d[:])
	b.Write(graph.Bytes())
	old := b.Bytes()

	got, gd, err := ann.Load(bytes.NewReader(old))
	if err != nil {
		t.Fatalf("Load(old layout): %v", err)
	}
	if gd != d || got.Len() != 3 {
		t.Errorf("Load(old layout) = digest %x, Len %d; want %x, 3", gd, got.Len(), d)
	}
	var out bytes.Buffer
	if err := ann.Save(&out, got, gd); err != nil || !bytes.Equal(out.Bytes(), old) {
		t.Errorf("Save = %x, %v; want the old layout %x", out.Bytes(), err, old)
	}
}

func TestFileErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	feats := make([]float32, 200*8)
	for i := range feats {
		feats[i] = rng.Float32() - 0.5
	}
	ix, err := hnsw.Build(context.Background(), feats, 8, hnsw.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := ann.FeaturesDigest(feats)
	var buf bytes.Buffer
	if err := ann.Save(&buf, ix, d); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	got, gd, err := ann.Load(bytes.NewReader(data))
	if err != nil || gd != d || got.Len() != 200 {
		t.Fatalf("Load: %v, digest match %v", err, gd == d)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ann.ErrFormat},
		{"magic", append([]byte("XXXXXXXX"), data[8:]...), ann.ErrFormat},
		{"version", append(append(append([]byte(nil), data[:8]...), 2, 0, 0, 0), data[12:]...), ann.ErrVersion},
		{"truncated", data[:len(data)/2], hnsw.ErrFormat},
	} {
		if _, _, err := ann.Load(bytes.NewReader(tc.data)); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := hnsw.Build(context.Background(), feats[:13], 8, hnsw.DefaultConfig(), nil); err == nil {
		t.Error("Build accepted 13 values of dim 8")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := hnsw.Build(ctx, feats, 8, hnsw.DefaultConfig(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Build: %v", err)
	}
	if d2 := ann.FeaturesDigest(feats[:8*199]); d2 == d {
		t.Error("digest ignores a row")
	}
}
