package engine

import (
	"errors"
	"fmt"
	"image"

	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// Errors of live changes to the gallery.
var (
	// ErrNotFound reports an image id that is not in the gallery (never
	// added, or deleted).
	ErrNotFound = errors.New("engine: no such image")
	// ErrLabel reports a label that is not a class index of the gallery.
	ErrLabel = errors.New("engine: label out of range")
	// ErrNoGallery reports a change to a model that has no gallery yet.
	ErrNoGallery = errors.New("engine: the model has no gallery; run 'irgen assign'")
)

// A Journal keeps the gallery's changes durably (the catalog does). The
// engine calls it before it applies a change in memory and while no other
// change runs, so a change is searchable only once it is recorded, and an
// error cancels it.
type Journal interface {
	// Add records a new image. Its ID is the next gallery index.
	Add(r Record) error
	// Delete records that image id is gone.
	Delete(id int) error
}

// Record is one image added to the gallery, as the journal sees it.
type Record struct {
	ID      int
	Key     string
	Label   int32
	Feature []float32 // the tokenizer's feature, FeatureDim values
	Code    []int32   // the semantic ID, M tokens
	Data    []byte    // the encoded file when the caller keeps it, else nil
	Type    string    // Data's media type, e.g. "image/png"
}

// NewImage describes an image to add: its key (a path or name), its label
// (a class index, or -1 for none) and optionally its encoded file, which
// the journal stores.
type NewImage struct {
	Key   string
	Label int32
	Data  []byte
	Type  string
}

// Entry describes a live gallery image.
type Entry struct {
	ID    int
	Key   string
	Label int32  // class index, -1 for none
	Class string // the class name, "" for none
	Code  semid.ID
}

// SetJournal makes j record every later Add and Delete; nil stops
// recording.
func (e *Engine) SetJournal(j Journal) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.journal = j
}

// Add encodes img with the tokenizer, quantizes its feature to a semantic
// ID and adds it to the gallery, the prefix tree and the exact index. It
// is searchable by every built-in method as soon as Add returns; the
// model is not retrained. It returns the image's id (its gallery index).
func (e *Engine) Add(img image.Image, key string, label int32) (int, error) {
	return e.AddImage(img, NewImage{Key: key, Label: label})
}

// AddImage is Add that also hands the encoded file in n to the journal.
func (e *Engine) AddImage(img image.Image, n NewImage) (int, error) {
	x := make([]float32, e.Transform.Len())
	if err := e.Transform.Eval(img, x); err != nil {
		return 0, fmt.Errorf("engine: add %q: %w", n.Key, err)
	}
	feat, err := e.Tokenizer.Features(x, 1)
	if err != nil {
		return 0, fmt.Errorf("engine: add %q: %w", n.Key, err)
	}
	code, err := e.Codes(feat)
	if err != nil {
		return 0, fmt.Errorf("engine: add %q: %w", n.Key, err)
	}
	if sj := e.sharedJournal(); sj != nil {
		if err := e.checkNew(n, code); err != nil {
			return 0, err
		}
		id, err := sj.Add(Record{Key: n.Key, Label: n.Label, Feature: feat, Code: code, Data: n.Data, Type: n.Type})
		if err != nil {
			return 0, fmt.Errorf("engine: add %q: %w", n.Key, err)
		}
		return id, nil
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	// Writers are serialized by wmu, so e.gallery can be read without mu.
	if err := e.checkNew(n, code); err != nil {
		return 0, err
	}
	id := e.gallery.Len()
	if e.journal != nil {
		r := Record{ID: id, Key: n.Key, Label: n.Label, Feature: feat, Code: code, Data: n.Data, Type: n.Type}
		if err := e.journal.Add(r); err != nil {
			return 0, fmt.Errorf("engine: add %q: %w", n.Key, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// The ID was validated and id is new, so no step can fail; they run
	// before the gallery grows so that a failure leaves no trace.
	if err := e.insert(id, n.Key, n.Label, feat, code); err != nil {
		return 0, fmt.Errorf("engine: add %q: %w", n.Key, err)
	}
	return id, nil
}

// checkNew validates the label and semantic ID of an image to add.
func (e *Engine) checkNew(n NewImage, code []int32) error {
	g := e.Gallery()
	if g == nil {
		return ErrNoGallery
	}
	if n.Label < -1 || int(n.Label) >= len(g.Classes) {
		return fmt.Errorf("%w: %d, want -1 or a class index below %d", ErrLabel, n.Label, len(g.Classes))
	}
	if err := semid.ID(code).Validate(g.M, g.L); err != nil {
		return fmt.Errorf("engine: add %q: %w", n.Key, err)
	}
	if g.Len() > trie.MaxItem {
		return fmt.Errorf("engine: add %q: gallery full (%d images)", n.Key, g.Len())
	}
	return nil
}

// Delete removes image id from the prefix tree and the exact index and
// marks it deleted, so that Search drops it from the results of the
// methods with their own index: no method returns it again. Its gallery
// slot stays (ids are never reused). It returns ErrNotFound when id is
// not a live image.
func (e *Engine) Delete(id int) error {
	if sj := e.sharedJournal(); sj != nil {
		if err := sj.Delete(id); err != nil {
			return fmt.Errorf("engine: delete %d: %w", id, err)
		}
		return nil
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if !e.live(id) {
		return fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if e.journal != nil {
		if err := e.journal.Delete(id); err != nil {
			return fmt.Errorf("engine: delete %d: %w", id, err)
		}
	}
	return e.remove(id)
}

// remove takes live image id out of the prefix tree and the index. The
// caller holds wmu.
func (e *Engine) remove(id int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.trie.Delete(id)
	if err := e.index.Delete(id); err != nil {
		return err
	}
	e.dead = e.dead.with(id)
	return nil
}

// deadSet is a set of gallery ids, one bit each; nil is empty.
type deadSet []uint64

// has reports whether id is in the set.
func (d deadSet) has(id int) bool {
	w := id >> 6
	return id >= 0 && w < len(d) && d[w]&(1<<(id&63)) != 0
}

// with returns a new set of d's ids and id (≥ 0); d is not modified.
func (d deadSet) with(id int) deadSet {
	out := make(deadSet, max(len(d), id>>6+1))
	copy(out, d)
	out[id>>6] |= 1 << (id & 63)
	return out
}

// live reports whether id is a gallery image not deleted. The caller holds
// wmu or mu.
func (e *Engine) live(id int) bool {
	return e.gallery != nil && id >= 0 && id < e.gallery.Len() && !e.index.Deleted(id)
}

// Entry returns live image id, or false when it does not exist or was
// deleted. Unlike Gallery, it is safe while images are added.
func (e *Engine) Entry(id int) (Entry, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if !e.live(id) {
		return Entry{}, false
	}
	g := e.gallery
	ent := Entry{ID: id, Key: g.Keys[id], Label: g.Labels[id], Code: semid.ID(g.Code(id)).Clone()}
	if ent.Label >= 0 && int(ent.Label) < len(g.Classes) {
		ent.Class = g.Classes[ent.Label]
	}
	return ent, true
}

// Stats counts the gallery.
type Stats struct {
	Images int // live images
	IDs    int // distinct semantic IDs among them
	Slots  int // gallery slots, deleted images included (the next id)
}

// Stats returns the gallery's counts.
func (e *Engine) Stats() Stats {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.gallery == nil {
		return Stats{}
	}
	return Stats{Images: e.index.Live(), IDs: e.trie.Len(), Slots: e.gallery.Len()}
}

// Check verifies that the gallery, the prefix tree and the exact index
// agree: the same live images, each under its own semantic ID.
func (e *Engine) Check() error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	g := e.gallery
	if g == nil {
		return nil
	}
	if e.index.Len() != g.Len() {
		return fmt.Errorf("engine: index of %d rows, gallery of %d", e.index.Len(), g.Len())
	}
	if e.index.Live() != e.trie.NumItems() {
		return fmt.Errorf("engine: %d live rows in the index, %d items in the prefix tree", e.index.Live(), e.trie.NumItems())
	}
	for i := range g.Len() {
		id, ok := e.trie.ID(i)
		if ok == e.index.Deleted(i) {
			return fmt.Errorf("engine: image %d: in the prefix tree %v, deleted in the index %v", i, ok, e.index.Deleted(i))
		}
		if e.dead.has(i) != e.index.Deleted(i) {
			return fmt.Errorf("engine: image %d: deleted in the index %v, marked deleted %v", i, e.index.Deleted(i), e.dead.has(i))
		}
		if ok && !id.Equal(g.Code(i)) {
			return fmt.Errorf("engine: image %d: ID %v in the prefix tree, %v in the gallery", i, id, semid.ID(g.Code(i)))
		}
	}
	return nil
}

// Restore replaces the gallery like SetGallery, except that image i is
// deleted unless live[i] (live == nil: every image is live). Deleted images
// keep their gallery slot, so ids stay stable across restarts, but are in
// neither the prefix tree nor the index.
func (e *Engine) Restore(g *gallery.Gallery, live []bool) error {
	c := e.Tokenizer.Config
	if g.Dim != c.FeatureDim || g.M != c.M || g.L != c.L {
		return fmt.Errorf("engine: gallery of dim %d, M %d, L %d does not match the tokenizer (%d, %d, %d)",
			g.Dim, g.M, g.L, c.FeatureDim, c.M, c.L)
	}
	if live != nil && len(live) != g.Len() {
		return fmt.Errorf("engine: %d liveness flags for %d images", len(live), g.Len())
	}
	tr, err := trie.New(g.M, g.L)
	if err != nil {
		return err
	}
	var dead deadSet
	// The index shares the gallery's features: one copy of each.
	ix, err := knn.New(g.Dim, knn.Cosine)
	if err != nil {
		return err
	}
	if err := ix.Attach(g.Features); err != nil {
		return err
	}
	for i := range g.Len() {
		if live != nil && !live[i] {
			if err := ix.Delete(i); err != nil {
				return err
			}
			if dead == nil {
				dead = make(deadSet, (g.Len()+63)/64)
			}
			dead[i>>6] |= 1 << (i & 63)
			continue
		}
		if err := tr.Insert(semid.ID(g.Code(i)), i); err != nil {
			return fmt.Errorf("engine: image %d: %w", i, err)
		}
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gallery, e.trie, e.index, e.dead = g, tr, ix, dead
	return nil
}
