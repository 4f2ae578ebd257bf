package engine_test

import (
	"errors"
	"image"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/testmodel"
)

func openTestEngine(t *testing.T) *engine.Engine {
	t.Helper()
	e := testmodel.MustOpen(t, testmodel.Copy(t))
	// Single images encode in a batch of one, as the server does: the
	// default batch of 64 costs ~50 times more per image.
	e.Tokenizer.Batch, e.QueryBatch = 1, 1
	return e
}

// query searches for img alone and returns the hits.
func query(t *testing.T, e *engine.Engine, m engine.Method, img image.Image, k int) []engine.Hit {
	t.Helper()
	x := make([]float32, e.Transform.Len())
	if err := e.Transform.Eval(img, x); err != nil {
		t.Fatal(err)
	}
	hits, _, err := e.Search(m, x, 1, engine.Options{K: k, Beam: 30})
	if err != nil {
		t.Fatalf("%s: %v", m, err)
	}
	return hits[0]
}

func ids(hits []engine.Hit) []int {
	out := make([]int, len(hits))
	for i, h := range hits {
		out[i] = h.Index
	}
	return out
}

// topGroup returns the ids that share the best score: for irgen and rqtree
// the images of the best-ranked semantic ID, which come back in insertion
// order.
func topGroup(hits []engine.Hit) []int {
	var out []int
	for _, h := range hits {
		if len(hits) > 0 && h.Score == hits[0].Score {
			out = append(out, h.Index)
		}
	}
	return out
}

func TestAddDelete(t *testing.T) {
	e := openTestEngine(t)
	before := e.Stats()
	all := before.Images + 10 // k that returns every image a method finds

	rng := rand.New(rand.NewPCG(7, 7))
	img := testmodel.Image(2, rng)
	id, err := e.Add(img, "api/added", 2)
	if err != nil {
		t.Fatal(err)
	}
	if id != before.Slots {
		t.Errorf("Add returned id %d; want the next slot %d", id, before.Slots)
	}
	if got := e.Stats(); got.Images != before.Images+1 || got.Slots != before.Slots+1 {
		t.Errorf("stats after Add: %+v; before %+v", got, before)
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	ent, ok := e.Entry(id)
	if !ok || ent.Key != "api/added" || ent.Label != 2 || ent.Class == "" {
		t.Errorf("Entry(%d) = %+v, %v", id, ent, ok)
	}

	// Searchable at once: knn and irgen rank the image itself first;
	// irgen-gen and rqtree rank its semantic ID first.
	for _, m := range []engine.Method{engine.KNN, engine.IRGen} {
		if got := query(t, e, m, img, 5); len(got) == 0 || got[0].Index != id {
			t.Errorf("%s for the added image: %v; want %d first", m, ids(got), id)
		}
	}
	for _, m := range []engine.Method{engine.IRGenGen, engine.RQTree} {
		hits := query(t, e, m, img, all)
		if !slices.Contains(topGroup(hits), id) {
			t.Errorf("%s for the added image: best ID's images %v (of %d hits); want %d among them", m, topGroup(hits), len(hits), id)
		} else {
			t.Logf("%s: the added image is rank %d of the %d images of the best ID", m, slices.Index(ids(hits), id)+1, len(topGroup(hits)))
		}
	}

	// Deleted images never come back, whether added live (id) or part of
	// the indexed gallery (0), even when queried by themselves.
	orig0 := testmodel.Image(0, rand.New(rand.NewPCG(1, 1))) // the data set's image 0
	for _, del := range []int{id, 0} {
		if err := e.Delete(del); err != nil {
			t.Fatalf("Delete(%d): %v", del, err)
		}
	}
	for _, q := range []image.Image{img, orig0} {
		for _, m := range engine.Methods {
			got := ids(query(t, e, m, q, all))
			if slices.Contains(got, id) || slices.Contains(got, 0) {
				t.Errorf("%s after Delete: %v contains a deleted image (%d or 0)", m, got, id)
			}
		}
	}
	if _, ok := e.Entry(id); ok {
		t.Errorf("Entry(%d) of a deleted image is ok", id)
	}
	if got := e.Stats(); got.Images != before.Images-1 || got.Slots != before.Slots+1 {
		t.Errorf("stats after Delete: %+v; before %+v", got, before)
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}

	// A new image after deletes gets a fresh id: ids are never reused.
	id2, err := e.Add(img, "api/again", -1)
	if err != nil || id2 != id+1 {
		t.Errorf("Add after Delete: id %d, %v; want %d", id2, err, id+1)
	}
}

func TestAddDeleteErrors(t *testing.T) {
	e := openTestEngine(t)
	img := testmodel.Image(1, rand.New(rand.NewPCG(3, 3)))
	n := e.Stats().Slots
	classes := int32(len(e.Gallery().Classes))
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"label too large", func() error { _, err := e.Add(img, "x", classes); return err }, engine.ErrLabel},
		{"label negative", func() error { _, err := e.Add(img, "x", -2); return err }, engine.ErrLabel},
		{"delete negative", func() error { return e.Delete(-1) }, engine.ErrNotFound},
		{"delete past end", func() error { return e.Delete(n + 1) }, engine.ErrNotFound},
		{"delete twice", func() error { e.Delete(3); return e.Delete(3) }, engine.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Errorf("got %v; want %v", err, tt.want)
			}
		})
	}
	if got := e.Stats(); got.Slots != n {
		t.Errorf("failed adds changed the gallery: %d slots; want %d", got.Slots, n)
	}
}

// journal records calls, failing when err is set.
type journal struct {
	adds, dels []int
	err        error
}

func (j *journal) Add(r engine.Record) error {
	if j.err != nil {
		return j.err
	}
	j.adds = append(j.adds, r.ID)
	return nil
}

func (j *journal) Delete(id int) error {
	if j.err != nil {
		return j.err
	}
	j.dels = append(j.dels, id)
	return nil
}

func TestJournal(t *testing.T) {
	e := openTestEngine(t)
	j := &journal{}
	e.SetJournal(j)
	img := testmodel.Image(3, rand.New(rand.NewPCG(5, 5)))
	id, err := e.Add(img, "k", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(id); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(j.adds, []int{id}) || !slices.Equal(j.dels, []int{id}) {
		t.Errorf("journal saw adds %v, deletes %v; want [%d] and [%d]", j.adds, j.dels, id, id)
	}

	// A failing journal cancels the change.
	j.err = errors.New("disk full")
	before := e.Stats()
	if _, err := e.Add(img, "k", 3); !errors.Is(err, j.err) {
		t.Errorf("Add with a failing journal: %v", err)
	}
	if err := e.Delete(1); !errors.Is(err, j.err) {
		t.Errorf("Delete with a failing journal: %v", err)
	}
	if got := e.Stats(); got != before {
		t.Errorf("stats after failed changes %+v; want %+v", got, before)
	}
	if _, ok := e.Entry(1); !ok {
		t.Error("a failed Delete deleted the image")
	}
}
