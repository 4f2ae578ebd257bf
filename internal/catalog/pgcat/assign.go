package pgcat

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/store"
	"github.com/irgen/irgen/internal/tokenizer"
)

// Split assignment ('irgen assign --catalog URL --shard i/N'): N workers
// encode the gallery's images, each a contiguous range of ids, straight
// into one catalog that has no images yet. A worker writes a chunk of
// rows per transaction and skips the ids that are there already, so it
// can be stopped and run again. The last worker to finish, finding every
// id below the total present, marks the catalog filled; until then the
// replicas refuse to serve it.

// ErrUnfinished reports a catalog whose split assignment is not complete.
var ErrUnfinished = errors.New("pgcat: the split assignment is not finished")

// AssignedModel identifies the tokenizer of b for a catalog whose gallery
// was assigned by split workers (no gallery file in the model).
func AssignedModel(b *store.Bundle) (string, error) {
	tok, ok := b.Manifest().Files[tokenizer.WeightsFile]
	if !ok {
		return "", fmt.Errorf("pgcat: the model in %s has no recorded %s; train the tokenizer first", b.Dir(), tokenizer.WeightsFile)
	}
	return "tokenizer:" + tok.SHA256 + " gallery:assigned in the catalog", nil
}

// Shard is the range [Lo, Hi) of the ids of a gallery of Total images
// that worker I of N assigns.
type Shard struct {
	I, N, Total, Lo, Hi int
}

// NewShard returns shard i of n over total images; bad arguments are an
// error.
func NewShard(i, n, total int) (Shard, error) {
	if n < 1 || i < 0 || i >= n || total < 0 {
		return Shard{}, fmt.Errorf("pgcat: shard %d/%d of %d images: want 0 ≤ i < N", i, n, total)
	}
	return Shard{I: i, N: n, Total: total, Lo: i * total / n, Hi: (i + 1) * total / n}, nil
}

// BeginAssign records the gallery's description (g's dimensions and
// classes; no images) and the total for split assignment, or checks that
// they were recorded alike by another worker.
func (c *Catalog) BeginAssign(ctx context.Context, g *gallery.Gallery, model string, total int) error {
	meta, err := catalog.MetaPairs(g, model)
	if err != nil {
		return fmt.Errorf("pgcat: assign: %w", err)
	}
	delete(meta, "next_id")
	meta["assign_total"] = strconv.Itoa(total)
	err = pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSchema); err != nil {
			return err
		}
		for k, v := range meta {
			var have string
			err := tx.QueryRow(ctx, `INSERT INTO irgen_meta (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET value = irgen_meta.value RETURNING value`, k, v).Scan(&have)
			if err != nil {
				return err
			}
			if have != v {
				return fmt.Errorf("%w: %s is %.40q in the catalog, %.40q here", catalog.ErrStale, k, have, v)
			}
		}
		return nil
	})
	if err != nil {
		return c.errorf("assign", err)
	}
	return nil
}

// Missing returns the ids of shard s that the catalog does not hold yet.
func (c *Catalog) Missing(ctx context.Context, s Shard) ([]int, error) {
	return c.queryIDs(ctx, "assign: missing ids", `SELECT s.id FROM generate_series($1::bigint, $2::bigint - 1) AS s(id)
		WHERE NOT EXISTS (SELECT 1 FROM irgen_images i WHERE i.id = s.id) ORDER BY s.id`, s.Lo, s.Hi)
}

// queryIDs returns the ids that query, run with args, selects; action
// names what failed in its error.
func (c *Catalog) queryIDs(ctx context.Context, action, query string, args ...any) ([]int, error) {
	rows, _ := c.pool.Query(ctx, query, args...)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, c.errorf(action, err)
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out, nil
}

// PutAssigned writes images ids[k] = image k of g (keys, labels,
// features and IDs) in one transaction, skipping ids already present.
func (c *Catalog) PutAssigned(ctx context.Context, ids []int, g *gallery.Gallery) error {
	if len(ids) != g.Len() {
		return fmt.Errorf("pgcat: assign: %d ids for %d images", len(ids), g.Len())
	}
	buf := make([]byte, 4*g.Dim)
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE irgen_assign (LIKE irgen_images INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
			return err
		}
		src := pgx.CopyFromSlice(len(ids), func(k int) ([]any, error) {
			return []any{int64(ids[k]), g.Keys[k], g.Labels[k], semid.ID(g.Code(k)).String(), catalog.PutFeature(buf, g.Feature(k))}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"irgen_assign"}, []string{"id", "key", "label", "semid", "feature"}, src); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO irgen_images SELECT * FROM irgen_assign ON CONFLICT (id) DO NOTHING`)
		return err
	})
	if err != nil {
		return c.errorf("assign: write images", err)
	}
	return nil
}

// FinishAssign marks the catalog filled once it holds every id below
// total, and returns how many it holds.
func (c *Catalog) FinishAssign(ctx context.Context, total int) (int, error) {
	var have int
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSchema); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM irgen_images WHERE id < $1`, total).Scan(&have); err != nil {
			return err
		}
		if have < total {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO irgen_state (seq, next_id, stored_bytes) VALUES (0, $1, 0)
			ON CONFLICT DO NOTHING`, total)
		return err
	})
	if err != nil {
		return 0, c.errorf("assign: finish", err)
	}
	return have, nil
}

// AssignedGallery reads the gallery that split workers assigned for
// model (AssignedModel): images 0 to the assignment's total, with their
// keys, labels, features and IDs, as 'irgen assign' on one machine
// writes it. A catalog not assigned for model, not finished, or missing
// one of those images (deleted since) is an error.
func (c *Catalog) AssignedGallery(ctx context.Context, model string) (*gallery.Gallery, error) {
	var v string
	err := c.pool.QueryRow(ctx, `SELECT value FROM irgen_meta WHERE key = 'assign_total'`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s was not filled by 'irgen assign --shard' workers", catalog.ErrStale, c.where)
	}
	if err != nil {
		return nil, c.errorf("assigned gallery", err)
	}
	total, err := strconv.Atoi(v)
	if err != nil {
		return nil, fmt.Errorf("%w: assign_total %q", catalog.ErrFormat, v)
	}
	g, live, _, err := c.Load(ctx)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, fmt.Errorf("%w: %s has no gallery", ErrUnfinished, c.where)
	}
	if g.Model != model {
		return nil, fmt.Errorf("%w: %s was assigned for model %.24s…, this model is %.24s…", catalog.ErrStale, c.where, g.Model, model)
	}
	if g.Len() < total {
		return nil, fmt.Errorf("%w: %s holds %d slots, the assignment %d", catalog.ErrFormat, c.where, g.Len(), total)
	}
	for i := range total {
		if !live[i] {
			return nil, fmt.Errorf("pgcat: image %d of the assigned gallery was deleted from %s since; assign again into an empty database", i, c.where)
		}
	}
	out := g.Gallery
	out.Keys, out.Labels = out.Keys[:total], out.Labels[:total]
	out.Features, out.Codes = out.Features[:total*out.Dim], out.Codes[:total*out.M]
	return out, nil
}
