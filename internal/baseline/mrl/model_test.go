package mrl

import (
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/testutil"
)

// TestLoadBundle saves a model at the root of its bundle and loads it back
// through the bundle, which refuses it before the files are recorded and
// after they change.
func TestLoadBundle(t *testing.T) {
	be := testutil.Backend(t)
	enc := testutil.Encoder()
	c := Config{Encoder: enc, Dim: 16, Classes: 3, Nesting: NestingDims(16)}
	m, err := New(be, c, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	rng := rand.New(rand.NewPCG(1, 2))
	images := make([]float32, n*8*8)
	for i := range images {
		images[i] = rng.Float32()*2 - 1
	}
	want, err := m.Embed(images, n) // creates the variables
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(b.Dir()); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(be, b); !errors.Is(err, store.ErrNotRecorded) {
		t.Errorf("LoadBundle before recording = %v; want ErrNotRecorded", err)
	}
	for _, f := range []string{ConfigFile, WeightsFile} {
		if err := b.Record(f); err != nil {
			t.Fatal(err)
		}
	}
	loaded, err := LoadBundle(be, b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.Config, loaded.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	got, err := loaded.Embed(images, n)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("loaded model embeds %v, %v; want %v", got, err, want)
	}
	if err := os.WriteFile(b.Path(WeightsFile), []byte("IRGENCKP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(be, b); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("LoadBundle of altered weights = %v; want ErrCorrupt", err)
	}
}
