package pgcat

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/semid"
)

var _ engine.SharedJournal = (*Catalog)(nil)

// Add commits image r under the next id (r.ID is ignored), then applies
// every change up to it to the engine, and returns the id.
func (c *Catalog) Add(r engine.Record) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	code := semid.ID(r.Code).String()
	feat := catalog.PutFeature(make([]byte, 4*len(r.Feature)), r.Feature)
	var (
		seq, id int64
		data    any // NULL unless the file is kept
	)
	if r.Data != nil {
		data = r.Data
	}
	limit := c.maxStored.Load()
	err := c.change(ctx, func(tx pgx.Tx) error {
		// The row lock serializes the adds of every replica: the bound
		// holds over the whole catalog.
		err := tx.QueryRow(ctx, `UPDATE irgen_state SET seq = seq + 1, next_id = next_id + 1, stored_bytes = stored_bytes + $1
			WHERE $2::bigint <= 0 OR stored_bytes + $1::bigint <= $2::bigint RETURNING seq, next_id - 1`, len(r.Data), limit).Scan(&seq, &id)
		if errors.Is(err, pgx.ErrNoRows) && len(r.Data) > 0 {
			return c.overBound(ctx, tx, limit)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO irgen_images (id, key, label, semid, feature, image, media_type)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, r.Key, r.Label, code, feat, data, r.Type); err != nil {
			return err
		}
		return record(ctx, tx, seq, "add", id)
	})
	if errors.Is(err, catalog.ErrQuota) {
		return 0, err
	}
	if err != nil {
		return 0, c.errorf("add image", err)
	}
	if err := c.syncTo(ctx, seq); err != nil {
		return 0, fmt.Errorf("pgcat: image %d was added but not yet applied here: %w", id, err)
	}
	return int(id), nil
}

// Delete removes image id with its stored file, then applies every change
// up to it to the engine. An id not in the catalog is an error wrapping
// engine.ErrNotFound.
func (c *Catalog) Delete(id int) error {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var seq int64
	err := c.change(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE irgen_state SET seq = seq + 1 RETURNING seq`).Scan(&seq); err != nil {
			return err
		}
		var size int64
		err := tx.QueryRow(ctx, `DELETE FROM irgen_images WHERE id = $1 RETURNING COALESCE(length(image), 0)`, id).Scan(&size)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: %d", engine.ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE irgen_state SET stored_bytes = stored_bytes - $1`, size); err != nil {
			return err
		}
		return record(ctx, tx, seq, "delete", int64(id))
	})
	if errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if err != nil {
		return c.errorf("delete image "+itoa(int64(id)), err)
	}
	if err := c.syncTo(ctx, seq); err != nil {
		return fmt.Errorf("pgcat: image %d was deleted but not yet here: %w", id, err)
	}
	return nil
}

// change runs fn in a transaction and commits it.
func (c *Catalog) change(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, c.pool, fn)
}

// record logs change seq and notifies the replicas, on commit.
func record(ctx context.Context, tx pgx.Tx, seq int64, op string, id int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO irgen_changes (seq, op, image_id) VALUES ($1, $2, $3)`, seq, op, id); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, itoa(seq))
	return err
}

// Image returns image id with its stored file, if any.
func (c *Catalog) Image(ctx context.Context, id int) (catalog.Image, error) {
	var (
		im    catalog.Image
		code  string
		typ   *string
		label int32
	)
	err := c.pool.QueryRow(ctx, `SELECT key, label, semid, image, media_type, created_at FROM irgen_images WHERE id = $1`, id).
		Scan(&im.Key, &label, &code, &im.Data, &typ, &im.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.Image{}, fmt.Errorf("%w: %d", catalog.ErrNotFound, id)
	}
	if err != nil {
		return catalog.Image{}, c.errorf("image "+itoa(int64(id)), err)
	}
	im.ID, im.Label = id, label
	if typ != nil {
		im.Type = *typ
	}
	if im.Code, err = semid.Parse(code); err != nil {
		return catalog.Image{}, fmt.Errorf("%w: image %d: %v", catalog.ErrFormat, id, err)
	}
	return im, nil
}

// BoundStored makes Add refuse, with catalog.ErrQuota, an image whose file
// would take the files the catalog keeps past limit bytes (0: no bound),
// counted over every replica's adds. Give every replica the same bound.
func (c *Catalog) BoundStored(limit int64) { c.maxStored.Store(max(limit, 0)) }

// overBound returns the catalog.ErrQuota of an add past limit.
func (c *Catalog) overBound(ctx context.Context, tx pgx.Tx, limit int64) error {
	var have int64
	if err := tx.QueryRow(ctx, `SELECT stored_bytes FROM irgen_state`).Scan(&have); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s keeps %d bytes of images and may keep %d (serve --max-catalog); delete images first",
		catalog.ErrQuota, c.where, have, limit)
}

// StoredBytes returns the size of the image files the catalog keeps.
func (c *Catalog) StoredBytes() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var n int64
	if err := c.pool.QueryRow(ctx, `SELECT stored_bytes FROM irgen_state`).Scan(&n); err != nil {
		return 0, c.errorf("stored bytes", err)
	}
	return n, nil
}

var errProbe = errors.New("probe")

// Writable checks that the catalog takes writes, by a write that is
// rolled back.
func (c *Catalog) Writable() error {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	err := c.change(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE irgen_meta SET value = value WHERE key = 'version'`); err != nil {
			return err
		}
		return errProbe // roll back
	})
	if errors.Is(err, errProbe) {
		return nil
	}
	return c.errorf("write probe", err)
}
