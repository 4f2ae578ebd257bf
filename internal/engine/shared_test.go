package engine_test

import (
	"errors"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/testmodel"
)

func blank() image.Image { return testmodel.Image(2, rand.New(rand.NewPCG(5, 5))) }

// TestApply applies changes committed elsewhere: an add past a gap (ids
// added and deleted before this engine saw them), the same add again, a
// delete twice, and a bad record.
func TestApply(t *testing.T) {
	e := openTestEngine(t)
	g := e.Gallery()
	n, dim, m := g.Len(), g.Dim, g.M
	feat := append([]float32(nil), g.Feature(0)...)
	code := append([]int32(nil), g.Code(0)...)
	r := engine.Record{ID: n + 2, Key: "elsewhere", Label: 1, Feature: feat, Code: code}
	if err := e.Apply(r); err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(r); err != nil { // applied already: skipped
		t.Fatal(err)
	}
	st := e.Stats()
	if st.Slots != n+3 || st.Images != n+1 {
		t.Errorf("after an add past a gap of 2: %d slots, %d images; want %d, %d", st.Slots, st.Images, n+3, n+1)
	}
	for _, id := range []int{n, n + 1} {
		if _, ok := e.Entry(id); ok {
			t.Errorf("gap slot %d is live", id)
		}
	}
	if ent, ok := e.Entry(n + 2); !ok || ent.Key != "elsewhere" {
		t.Errorf("applied image: %+v, %v", ent, ok)
	}
	for range 2 {
		if err := e.ApplyDelete(n + 2); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := e.Entry(n + 2); ok {
		t.Error("image still live after ApplyDelete")
	}
	if err := e.Check(); err != nil {
		t.Error(err)
	}
	bad := engine.Record{ID: n + 3, Label: 99, Feature: make([]float32, dim), Code: make([]int32, m)}
	if err := e.Apply(bad); err == nil {
		t.Error("Apply of a record with label 99 succeeded")
	}
	if st := e.Stats(); st.Slots != n+3 {
		t.Errorf("a refused record left %d slots; want %d", st.Slots, n+3)
	}
}

// fakeShared records what the engine hands a shared journal.
type fakeShared struct {
	added   []engine.Record
	deleted []int
}

func (f *fakeShared) Add(r engine.Record) (int, error) {
	f.added = append(f.added, r)
	return 1000, nil
}

func (f *fakeShared) Delete(id int) error {
	f.deleted = append(f.deleted, id)
	return engine.ErrNotFound
}

// TestSharedJournal checks that with a shared journal, Add and Delete
// hand the change over instead of applying it.
func TestSharedJournal(t *testing.T) {
	e := openTestEngine(t)
	before := e.Stats()
	f := &fakeShared{}
	e.SetSharedJournal(f)
	id, err := e.Add(blank(), "k", 2)
	if err != nil || id != 1000 || len(f.added) != 1 || f.added[0].Key != "k" || f.added[0].Label != 2 {
		t.Errorf("Add = %d, %v; journal got %+v", id, err, f.added)
	}
	if err := e.Delete(3); !errors.Is(err, engine.ErrNotFound) || len(f.deleted) != 1 {
		t.Errorf("Delete = %v; journal got %v", err, f.deleted)
	}
	if _, err := e.Add(blank(), "k", 99); !errors.Is(err, engine.ErrLabel) || len(f.added) != 1 {
		t.Errorf("Add with label 99 = %v; want ErrLabel before the journal", err)
	}
	if st := e.Stats(); st != before {
		t.Errorf("stats %+v after changes handed over; want %+v", st, before)
	}
}
