package irt

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/dataset"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/testutil"
	"github.com/irgen/irgen/internal/tokenizer"
)

var tinyEncoder = testutil.Encoder()

// tinyData returns n random 8×8 gray images in 3 classes, normalized with
// the eval transform, and a loader over them.
func tinyData(t *testing.T, n int) ([]float32, *dataset.Loader) {
	t.Helper()
	src := testutil.Loader(n)
	images := make([]float32, n*src.Transform.Len())
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if err := src.Fill(idx, -1, images, nil); err != nil {
		t.Fatal(err)
	}
	return images, src
}

func tinyTokenizer(t *testing.T, images []float32, n int) *tokenizer.Model {
	t.Helper()
	tok, err := tokenizer.New(testutil.Backend(t), tokenizer.Config{Encoder: tinyEncoder, FeatureDim: 8, Classes: 3, M: 1, L: 2, Scale: 16}, 9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Features(images, n); err != nil { // creates the variables
		t.Fatal(err)
	}
	return tok
}

// TestOffTheShelfIsTokenizerFeature: IRT_O with the head feature embeds
// exactly as the tokenizer does (so irt-o retrieves as knn does), and an
// IRT model before training embeds as IRT_O.
func TestOffTheShelfIsTokenizerFeature(t *testing.T) {
	const n = 10
	images, _ := tinyData(t, n)
	tok := tinyTokenizer(t, images, n)
	want, err := tok.Features(images, n)
	if err != nil {
		t.Fatal(err)
	}
	c := Config{Encoder: tinyEncoder, Feature: Head, FeatureDim: 8}
	// Same batch as the tokenizer's: the same graph, bit for bit; another
	// batch size rounds differently.
	off := &Embedder{Backend: tok.Backend, Vars: tok.Vars, Config: c, Batch: tok.Batch}
	small := &Embedder{Backend: tok.Backend, Vars: tok.Vars, Config: c, Batch: 4}
	got, err := off.Embed(images, n)
	if err != nil {
		t.Fatal(err)
	}
	got4, err := small.Embed(images, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] || math.Abs(float64(got4[i]-want[i])) > 1e-5 {
			t.Fatalf("value %d: IRT_O %g (batch 4: %g); tokenizer feature %g", i, got[i], got4[i], want[i])
		}
	}
	for _, feat := range []Feature{Head, ClassToken} {
		c.Feature = feat
		m, err := New(tok.Backend, c, tok.Vars, 1)
		if err != nil {
			t.Fatal(err)
		}
		a, err := m.NewEmbedder().Embed(images, n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := (&Embedder{Backend: tok.Backend, Vars: tok.Vars, Config: c, Batch: 64}).Embed(images, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != n*c.Dim() {
			t.Fatalf("%s: %d values; want %d", feat, len(a), n*c.Dim())
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: untrained IRT %g, IRT_O %g at %d", feat, a[i], b[i], i)
			}
		}
		for i := range n {
			var s float64
			for _, v := range a[i*c.Dim() : (i+1)*c.Dim()] {
				s += float64(v) * float64(v)
			}
			if math.Abs(s-1) > 1e-5 {
				t.Fatalf("%s: embedding %d has squared norm %g", feat, i, s)
			}
		}
	}
	if _, err := off.Embed(images[1:], n); err == nil {
		t.Error("short image buffer: no error")
	}
	if _, err := New(tok.Backend, Config{Encoder: tinyEncoder, Feature: "pooled"}, nil, 1); err == nil {
		t.Error("unknown feature: no error")
	}
}

// TestTrainMomentum trains one step with the memory and a momentum
// encoder: the key encoder must be m·(start) + (1−m)·(trained), and a
// second run must find the training finished.
func TestTrainMomentum(t *testing.T) {
	const n = 12
	images, src := tinyData(t, n)
	tok := tinyTokenizer(t, images, n)
	m, err := New(tok.Backend, Config{Encoder: tinyEncoder, Feature: ClassToken}, tok.Vars, 1)
	if err != nil {
		t.Fatal(err)
	}
	const path = EncoderScope + "/patch/kernel"
	start := tensors.MustCopyFlatData[float32](m.Vars.GetVariable(path).MustValue())
	tc := DefaultTrainConfig()
	tc.Budget.Steps, tc.Batch, tc.LR, tc.Momentum, tc.Out = 1, 6, 1e-2, 0.9, io.Discard
	dir := t.TempDir()
	if _, err := Train(context.Background(), m, dir, tc, src); err != nil {
		t.Fatal(err)
	}
	trained := tensors.MustCopyFlatData[float32](m.Vars.GetVariable(path).MustValue())
	key := tensors.MustCopyFlatData[float32](m.Vars.GetVariable(KeyPrefix + path).MustValue())
	moved := false
	for i := range key {
		want := 0.9*start[i] + 0.1*trained[i]
		if math.Abs(float64(key[i]-want)) > 1e-6 {
			t.Fatalf("key value %d: %g; want 0.9·%g + 0.1·%g", i, key[i], start[i], trained[i])
		}
		moved = moved || trained[i] != start[i]
	}
	if !moved {
		t.Error("one step at lr 1e-2 left the encoder unchanged")
	}
	if !Trained(dir) {
		t.Fatal("not recorded as trained")
	}
	// A second run finds it finished; another setting is refused.
	if _, err := Train(context.Background(), m, dir, tc, src); err != nil {
		t.Fatal(err)
	}
	tc.Budget.Steps = 3
	if _, err := Train(context.Background(), m, dir, tc, src); err == nil {
		t.Error("resuming with other settings: no error")
	}
	loaded, err := Load(tok.Backend, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.NewEmbedder().Embed(images, n)
	b, _ := loaded.NewEmbedder().Embed(images, n)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("saved model embeds differently at %d: %g vs %g", i, b[i], a[i])
		}
	}
}

// TestTrainLoss trains a few steps with and without memory and checks
// the loss stays finite and the settings are validated.
func TestTrainLoss(t *testing.T) {
	const n = 12
	images, src := tinyData(t, n)
	tok := tinyTokenizer(t, images, n)
	for _, ratio := range []float64{0, 1} {
		m, err := New(tok.Backend, Config{Encoder: tinyEncoder, Feature: Head, FeatureDim: 8}, tok.Vars, 1)
		if err != nil {
			t.Fatal(err)
		}
		tc := DefaultTrainConfig()
		tc.Budget.Steps, tc.Batch, tc.LR, tc.MemoryRatio, tc.Out = 4, 4, 1e-3, ratio, io.Discard
		if _, err := Train(context.Background(), m, t.TempDir(), tc, src); err != nil {
			t.Fatalf("memory ratio %g: %v", ratio, err)
		}
		emb, err := m.NewEmbedder().Embed(images, n)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range emb {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("memory ratio %g: embedding value %d is %g", ratio, i, v)
			}
		}
	}
	tc := DefaultTrainConfig()
	tc.Momentum = 1
	if _, err := Train(context.Background(), nil, t.TempDir(), tc, src); err == nil {
		t.Error("momentum 1: no error")
	}
	tc = DefaultTrainConfig()
	if _, err := Train(context.Background(), &Model{Config: Config{Encoder: tinyEncoder, Feature: ClassToken}}, t.TempDir(), tc, src); err == nil {
		t.Error("fewer images than a batch: no error")
	}
}

// TestLoadBundle saves a model into its bundle folder and loads it back
// through the bundle, which refuses it before the files are recorded and
// after they change.
func TestLoadBundle(t *testing.T) {
	const n = 6
	images, _ := tinyData(t, n)
	tok := tinyTokenizer(t, images, n)
	m, err := New(tok.Backend, Config{Encoder: tinyEncoder, Feature: Head, FeatureDim: 8}, tok.Vars, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(b.Path(Dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(tok.Backend, b); !errors.Is(err, store.ErrNotRecorded) {
		t.Errorf("LoadBundle before recording = %v; want ErrNotRecorded", err)
	}
	if err := b.Record(Dir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadBundle(tok.Backend, b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.Config, loaded.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if c, err := LoadBundleConfig(b); err != nil || !cmp.Equal(c, m.Config) {
		t.Errorf("LoadBundleConfig = %+v, %v; want %+v", c, err, m.Config)
	}
	want, _ := m.NewEmbedder().Embed(images, n)
	got, err := loaded.NewEmbedder().Embed(images, n)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("loaded model embeds %v, %v; want %v", got, err, want)
	}
	// The folder loads the same way without the bundle (resuming training).
	if c, err := LoadConfig(b.Path(Dir)); err != nil || !cmp.Equal(c, m.Config) {
		t.Errorf("LoadConfig = %+v, %v; want %+v", c, err, m.Config)
	}
	if err := os.WriteFile(filepath.Join(b.Path(Dir), WeightsFile), []byte("IRGENCKP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(tok.Backend, b); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("LoadBundle of altered weights = %v; want ErrCorrupt", err)
	}
}
