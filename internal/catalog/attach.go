package catalog

import (
	"fmt"
	"log/slog"

	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
)

// Attach opens the catalog of e's model (path, usually MODEL/catalog.db)
// and makes it the engine's collection: a new catalog is first filled from
// the model's gallery; then the engine's gallery, prefix tree and exact
// index are rebuilt from the catalog, and the catalog becomes the
// engine's journal, so every later Add and Delete is committed to it
// before it is searchable.
//
// A catalog filled from another tokenizer or gallery is refused with
// ErrStale: its features and IDs would not match the model. Move it away
// to rebuild it from the gallery (images added through the API are then
// lost).
//
// One process at a time serves a catalog: Attach takes an exclusive lock
// (path + ".lock") until Close, and a second Attach, in this process or
// another, fails with ErrLocked naming the holder.
func Attach(e *engine.Engine, path string) (*Catalog, error) {
	model, err := ModelDigest(e.Bundle)
	if err != nil {
		return nil, err
	}
	lk, err := lock(path)
	if err != nil {
		return nil, err
	}
	c, err := Open(path)
	if err != nil {
		lk.Close()
		return nil, err
	}
	c.lock = lk
	if err := c.attach(e, model); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Catalog) attach(e *engine.Engine, model string) error {
	m, filled, err := c.Meta()
	if err != nil {
		return err
	}
	switch {
	case !filled:
		g := e.Gallery()
		if g == nil {
			return engine.ErrNoGallery
		}
		if err := c.Fill(g, model); err != nil {
			return err
		}
		slog.Info("catalog: filled from the gallery", "path", c.path, "images", g.Len())
	case m.Model != model:
		return fmt.Errorf("%w: %s was filled for model %.24s…, the model is %.24s…; move it away to rebuild it from the gallery",
			ErrStale, c.path, m.Model, model)
	}
	g, live, err := c.Load()
	if err != nil {
		return err
	}
	if err := e.Restore(g, live); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	e.SetJournal(c)
	return nil
}

// ModelDigest identifies the tokenizer weights and the gallery of the
// model in b by their recorded SHA-256 digests.
func ModelDigest(b *store.Bundle) (string, error) {
	files := b.Manifest().Files
	tok, ok := files[tokenizer.WeightsFile]
	gal, ok2 := files[gallery.File]
	if !ok || !ok2 {
		return "", fmt.Errorf("catalog: the model in %s has no recorded %s and %s; run 'irgen index'", b.Dir(), tokenizer.WeightsFile, gallery.File)
	}
	return "tokenizer:" + tok.SHA256 + " gallery:" + gal.SHA256, nil
}
