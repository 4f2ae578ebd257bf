package pgcat

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/semid"
)

// Attach connects to the catalog at url and makes it the collection of
// e, as catalog.Attach does for SQLite: an empty catalog is first filled
// from the model's gallery (by the first replica to get there); then e's
// gallery, prefix tree and exact index are rebuilt from a snapshot of the
// catalog, e's Add and Delete go through the catalog, and the changes of
// every replica are applied to e as they commit, until Close.
//
// A catalog filled for another tokenizer or gallery is refused with
// catalog.ErrStale.
func Attach(ctx context.Context, e *engine.Engine, rawURL string) (*Catalog, error) {
	model, err := catalog.ModelDigest(e.Bundle)
	if err != nil { // no gallery file: assigned by split workers
		if model, err = AssignedModel(e.Bundle); err != nil {
			return nil, err
		}
	}
	c, err := Open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if err := c.attach(ctx, e, model); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Catalog) attach(ctx context.Context, e *engine.Engine, model string) error {
	if g := e.Gallery(); g != nil {
		if err := c.Fill(ctx, g, model); err != nil {
			return err
		}
	}
	g, live, seq, err := c.Load(ctx)
	if err != nil {
		return err
	}
	if g == nil {
		return engine.ErrNoGallery
	}
	if m := g.Model; m != model && !c.assignedFor(e, m) {
		return fmt.Errorf("%w: %s was filled for model %.24s…, the model is %.24s…; give this model its own database",
			catalog.ErrStale, c.where, m, model)
	}
	if err := e.Restore(g.Gallery, live); err != nil {
		return fmt.Errorf("pgcat: %w", err)
	}
	c.e, c.model, c.applied, c.name = e, g.Model, seq, replicaName()
	if err := c.heartbeat(ctx); err != nil {
		slog.Warn("pgcat: heartbeat failed; compaction may pass this replica, which then rebuilds", "err", err)
	}
	c.lastBeat, c.lastCompact = time.Now(), time.Now() // the first compaction a minute from now
	e.SetSharedJournal(c)
	fctx, stop := context.WithCancel(context.Background())
	c.stop, c.done = stop, make(chan struct{})
	go c.follow(fctx)
	return nil
}

// assignedFor reports whether model (a catalog's) names the split
// assignment of e's tokenizer.
func (c *Catalog) assignedFor(e *engine.Engine, model string) bool {
	m, err := AssignedModel(e.Bundle)
	return err == nil && m == model
}

// Fill writes every image of g and the catalog's meta data, unless the
// catalog was filled already (by this or another replica).
func (c *Catalog) Fill(ctx context.Context, g *gallery.Gallery, model string) error {
	if err := g.Check(); err != nil {
		return fmt.Errorf("pgcat: fill: %w", err)
	}
	meta, err := catalog.MetaPairs(g, model)
	if err != nil {
		return fmt.Errorf("pgcat: fill: %w", err)
	}
	delete(meta, "next_id") // kept in irgen_state
	filled := false
	start := time.Now()
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSchema); err != nil {
			return err
		}
		var n int
		// A catalog with meta data is filled, or being filled by split
		// assignment.
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM irgen_meta`).Scan(&n); err != nil || n > 0 {
			filled = n > 0
			return err
		}
		for k, v := range meta {
			if _, err := tx.Exec(ctx, `INSERT INTO irgen_meta (key, value) VALUES ($1, $2)`, k, v); err != nil {
				return err
			}
		}
		if err := copyGallery(ctx, tx, g); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO irgen_state (seq, next_id, stored_bytes) VALUES (0, $1, 0)`, g.Len())
		return err
	})
	if err != nil {
		return c.errorf("fill", err)
	}
	if !filled {
		slog.Info("pgcat: filled from the gallery", "catalog", c.where, "images", g.Len(), "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// copyGallery copies g's images into irgen_images.
func copyGallery(ctx context.Context, tx pgx.Tx, g *gallery.Gallery) error {
	buf := make([]byte, 4*g.Dim)
	src := pgx.CopyFromSlice(g.Len(), func(i int) ([]any, error) {
		return []any{int64(i), g.Keys[i], g.Labels[i], semid.ID(g.Code(i)).String(), catalog.PutFeature(buf, g.Feature(i))}, nil
	})
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"irgen_images"}, []string{"id", "key", "label", "semid", "feature"}, src)
	return err
}

// Loaded is a gallery read from the catalog with the model it was filled
// for.
type Loaded struct {
	*gallery.Gallery
	Model string
}

// Load reads the gallery from one snapshot of the catalog: every slot up
// to the next id, with live[i] false for deleted images, and the seq of
// the last change the snapshot holds. A catalog never filled gives a nil
// gallery.
func (c *Catalog) Load(ctx context.Context) (*Loaded, []bool, int64, error) {
	var (
		out  *Loaded
		live []bool
		seq  int64
	)
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, c.pool, opts, func(tx pgx.Tx) error {
		m, next, ok, err := readMeta(ctx, tx)
		if err != nil || !ok {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT seq FROM irgen_state`).Scan(&seq); err != nil {
			return err
		}
		out = &Loaded{Gallery: newGallery(m, next), Model: m.Model}
		live, err = readImages(ctx, tx, out.Gallery)
		return err
	})
	if err != nil {
		return nil, nil, 0, c.errorf("load", err)
	}
	return out, live, seq, nil
}

// readMeta reads the meta pairs and the next id.
func readMeta(ctx context.Context, tx pgx.Tx) (catalog.Meta, int, bool, error) {
	rows, _ := tx.Query(ctx, `SELECT key, value FROM irgen_meta UNION ALL SELECT 'next_id', next_id::text FROM irgen_state`)
	kv := map[string]string{}
	var k, v string
	_, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error { kv[k] = v; return nil })
	if err != nil {
		return catalog.Meta{}, 0, false, err
	}
	if _, ok := kv["version"]; !ok {
		return catalog.Meta{}, 0, false, nil
	}
	if _, ok := kv["next_id"]; !ok {
		var have int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM irgen_images`).Scan(&have); err != nil {
			return catalog.Meta{}, 0, false, err
		}
		return catalog.Meta{}, 0, false, fmt.Errorf("%w: %d of %s images assigned; run the remaining 'irgen assign --shard' workers",
			ErrUnfinished, have, kv["assign_total"])
	}
	m, ok, err := catalog.ParseMeta(kv)
	return m, m.Next, ok, err
}

// newGallery returns a gallery of next deleted slots for m.
func newGallery(m catalog.Meta, next int) *gallery.Gallery {
	g := &gallery.Gallery{Dim: m.Dim, M: m.M, L: m.L, Classes: m.Classes,
		Keys: make([]string, next), Labels: make([]int32, next), Features: make([]float32, next*m.Dim), Codes: make([]int32, next*m.M)}
	for i := range g.Labels {
		g.Labels[i] = -1
	}
	return g
}

// readImages fills g's slots from irgen_images.
func readImages(ctx context.Context, tx pgx.Tx, g *gallery.Gallery) ([]bool, error) {
	n := g.Len()
	live := make([]bool, n)
	rows, _ := tx.Query(ctx, `SELECT id, key, label, semid, feature FROM irgen_images ORDER BY id`)
	var (
		id    int64
		key   string
		label int32
		code  string
		feat  []byte
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &key, &label, &code, &feat}, func() error {
		if id < 0 || id >= int64(n) {
			return fmt.Errorf("%w: image id %d outside [0, %d)", catalog.ErrFormat, id, n)
		}
		sid, err := semid.Parse(code)
		if err != nil || len(sid) != g.M || len(feat) != 4*g.Dim {
			return fmt.Errorf("%w: image %d: ID %q, feature of %d bytes", catalog.ErrFormat, id, code, len(feat))
		}
		g.Keys[id], g.Labels[id], live[id] = key, label, true
		copy(g.Codes[int(id)*g.M:], sid)
		catalog.GetFeature(g.Features[int(id)*g.Dim:(int(id)+1)*g.Dim], feat)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := g.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", catalog.ErrFormat, err)
	}
	return live, nil
}

// Count returns the number of images.
func (c *Catalog) Count(ctx context.Context) (int, error) {
	var n int
	if err := c.pool.QueryRow(ctx, `SELECT count(*) FROM irgen_images`).Scan(&n); err != nil {
		return 0, c.errorf("count", err)
	}
	return n, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
