package engine

import (
	"fmt"

	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// A SharedJournal is a catalog that several engines write at once
// (replicas serving one PostgreSQL catalog). Unlike a Journal it assigns
// the ids itself, and an engine never applies its own changes directly:
// every change, its own included, reaches it through Apply and
// ApplyDelete in the order the catalog committed them. Add and Delete
// return once the change is committed and applied to this engine.
type SharedJournal interface {
	// Add records a new image (r.ID is ignored) and returns its id.
	Add(r Record) (int, error)
	// Delete records that image id is gone; an id the catalog does not
	// hold is an error wrapping ErrNotFound.
	Delete(id int) error
}

// SetSharedJournal makes j take every later Add and Delete; nil stops it.
// An engine has either a Journal or a SharedJournal.
func (e *Engine) SetSharedJournal(j SharedJournal) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.shared = j
}

// sharedJournal returns the shared journal, nil when there is none.
func (e *Engine) sharedJournal() SharedJournal {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	return e.shared
}

// Apply adds image r.ID, committed to a shared catalog, to the gallery,
// the prefix tree and the exact index. Ids below the gallery's length were
// applied already and are skipped; slots between the gallery's length and
// r.ID (images added and deleted before this engine saw them) are made
// deleted slots. The journal is not called.
func (e *Engine) Apply(r Record) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	g := e.gallery
	if g == nil {
		return ErrNoGallery
	}
	if r.ID < g.Len() {
		return nil
	}
	if r.ID > trie.MaxItem {
		return fmt.Errorf("engine: apply image %d: gallery full", r.ID)
	}
	if err := semid.ID(r.Code).Validate(g.M, g.L); err != nil {
		return fmt.Errorf("engine: apply image %d: %w", r.ID, err)
	}
	if len(r.Feature) != g.Dim || r.Label < -1 || int(r.Label) >= len(g.Classes) {
		return fmt.Errorf("engine: apply image %d: feature of %d values, label %d", r.ID, len(r.Feature), r.Label)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for g.Len() < r.ID {
		if err := e.appendDeleted(); err != nil {
			return fmt.Errorf("engine: apply image %d: %w", r.ID, err)
		}
	}
	if err := e.insert(r.ID, r.Key, r.Label, r.Feature, r.Code); err != nil {
		return fmt.Errorf("engine: apply image %d: %w", r.ID, err)
	}
	return nil
}

// ApplyDelete removes image id, deleted in a shared catalog, if it is
// live; otherwise it does nothing. The journal is not called.
func (e *Engine) ApplyDelete(id int) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if !e.live(id) {
		return nil
	}
	return e.remove(id)
}

// appendDeleted appends a deleted slot (zero feature and ID, no label).
// The caller holds wmu and mu.
func (e *Engine) appendDeleted() error {
	g := e.gallery
	id, err := g.Append("", -1, make([]float32, g.Dim), make([]int32, g.M))
	if err != nil {
		return err
	}
	if err := e.index.Attach(g.Features); err != nil {
		g.Truncate(id)
		return err
	}
	if err := e.index.Delete(id); err != nil {
		return err
	}
	e.dead = e.dead.with(id)
	return nil
}

// insert adds image id = the gallery's length, with a validated ID, to
// the prefix tree, the gallery and the index, or to none of them. The
// index shares the gallery's features: it takes the grown slice. The
// caller holds wmu and mu.
func (e *Engine) insert(id int, key string, label int32, feat []float32, code []int32) error {
	if err := e.trie.Insert(semid.ID(code), id); err != nil {
		return err
	}
	if _, err := e.gallery.Append(key, label, feat, code); err != nil {
		e.trie.Delete(id)
		return err
	}
	if err := e.index.Attach(e.gallery.Features); err != nil {
		e.gallery.Truncate(id)
		e.trie.Delete(id)
		return err
	}
	return nil
}
