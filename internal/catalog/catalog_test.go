package catalog

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
)

// testGallery returns a random gallery of n images of dimension 4, M 2,
// L 8 and 3 classes.
func testGallery(n int) *gallery.Gallery {
	rng := rand.New(rand.NewPCG(1, 2))
	g := &gallery.Gallery{Dim: 4, M: 2, L: 8, Classes: []string{"a", "b", "c"}}
	for i := range n {
		f := []float32{rng.Float32(), rng.Float32(), rng.Float32(), rng.Float32()}
		code := []int32{rng.Int32N(8), rng.Int32N(8)}
		if _, err := g.Append("data/"+string(rune('a'+i%26)), int32(i%3), f, code); err != nil {
			panic(err)
		}
	}
	return g
}

func openFilled(t *testing.T, g *gallery.Gallery) (*Catalog, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), File)
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Fill(g, "model-1"); err != nil {
		t.Fatal(err)
	}
	return c, path
}

func TestSettings(t *testing.T) {
	c, _ := openFilled(t, testGallery(3))
	for _, p := range []struct{ name, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
	} {
		if got, err := c.Pragma(p.name); err != nil || got != p.want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", p.name, got, err, p.want)
		}
	}
	if _, err := c.Pragma("x; DROP TABLE images"); err == nil {
		t.Error("Pragma accepted a statement")
	}
}

func TestFillLoad(t *testing.T) {
	g := testGallery(10)
	c, _ := openFilled(t, g)
	got, live, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(g, got); diff != "" {
		t.Errorf("Load after Fill (-want +got):\n%s", diff)
	}
	for i, ok := range live {
		if !ok {
			t.Errorf("image %d not live", i)
		}
	}
	m, ok, err := c.Meta()
	if err != nil || !ok || m.Model != "model-1" || m.Next != 10 {
		t.Errorf("Meta = %+v, %v, %v", m, ok, err)
	}
	if err := c.Fill(g, "model-1"); err == nil {
		t.Error("a second Fill succeeded")
	}
}

func TestChangesSurviveReopen(t *testing.T) {
	g := testGallery(5)
	c, path := openFilled(t, g)
	png := []byte("\x89PNG fake")
	add := engine.Record{ID: 5, Key: "api/x", Label: 1, Feature: []float32{1, 2, 3, 4}, Code: []int32{7, 0}, Data: png, Type: "image/png"}
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{2, 5} {
		if err := c.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	add.ID, add.Data, add.Type = 6, nil, ""
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	c.Close()

	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, live, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	wantLive := []bool{true, true, false, true, true, false, true}
	if diff := cmp.Diff(wantLive, live); diff != "" {
		t.Errorf("live after reopen (-want +got):\n%s", diff)
	}
	if got.Len() != 7 || got.Keys[6] != "api/x" || got.Labels[2] != -1 || got.Labels[6] != 1 {
		t.Errorf("gallery after reopen: keys %q labels %v", got.Keys, got.Labels)
	}
	if diff := cmp.Diff([]float32{1, 2, 3, 4}, got.Feature(6)); diff != "" {
		t.Errorf("feature of image 6 (-want +got):\n%s", diff)
	}
	if n, err := c.Count(); err != nil || n != 5 {
		t.Errorf("Count = %d, %v; want 5", n, err)
	}
	ctx := context.Background()
	im, err := c.Image(ctx, 6)
	if err != nil || im.Data != nil || im.Key != "api/x" || im.Code.String() != "7-0" || im.Created.IsZero() {
		t.Errorf("Image(6) = %+v, %v", im, err)
	}
	if _, err := c.Image(ctx, 5); !errors.Is(err, ErrNotFound) {
		t.Errorf("Image of a deleted image: %v; want ErrNotFound", err)
	}
	if err := c.Delete(5); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete twice: %v; want ErrNotFound", err)
	}
	// Ids are never reused: an add below the next id fails.
	add.ID = 3
	if err := c.Add(add); err == nil {
		t.Error("Add of a used id succeeded")
	}
}

func TestBadCatalog(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want error
	}{
		{"newer version", `UPDATE meta SET value = '99' WHERE key = 'version'`, ErrVersion},
		{"unknown version", `UPDATE meta SET value = 'x' WHERE key = 'version'`, ErrFormat},
		{"bad dim", `UPDATE meta SET value = '-1' WHERE key = 'dim'`, ErrFormat},
		{"bad classes", `UPDATE meta SET value = '{' WHERE key = 'classes'`, ErrFormat},
		{"short feature", `UPDATE images SET feature = x'00' WHERE id = 1`, ErrFormat},
		{"bad ID", `UPDATE images SET semid = '1-2-3' WHERE id = 1`, ErrFormat},
		{"token out of range", `UPDATE images SET semid = '9-0' WHERE id = 1`, gallery.ErrFormat},
		{"id past next", `UPDATE images SET id = 50 WHERE id = 1`, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := openFilled(t, testGallery(3))
			if _, err := c.db.Exec(tt.sql); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.Load(); !errors.Is(err, tt.want) {
				t.Errorf("Load: %v; want %v", err, tt.want)
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "a?b.db")); err == nil {
		t.Error("Open accepted a path with '?'")
	}
}
