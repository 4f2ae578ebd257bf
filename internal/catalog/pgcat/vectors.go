package pgcat

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/catalog"
)

// Split gallery embedding ('irgen embed --catalog URL --shard i/N'): as
// for split assignment, N workers embed contiguous ranges of the gallery
// for a method (irt, irt-o, mrl), writing a chunk of rows per
// transaction into irgen_vectors and skipping the rows there already.
// The set of a method is described in irgen_meta (the weights that
// computed it, its width and the gallery it covers), so that workers of
// another model cannot mix their rows into it.

const vectorsSchema = `
CREATE TABLE IF NOT EXISTS irgen_vectors (
	method text NOT NULL,
	id     bigint NOT NULL, -- the gallery index
	vec    bytea NOT NULL,  -- little-endian float32
	PRIMARY KEY (method, id)
);`

// VectorSet describes the gallery embeddings of a method: Total vectors
// of Dim values, computed by Model (a digest of the weights) for Gallery
// (a digest of the gallery keys).
type VectorSet struct {
	Method, Model, Gallery string
	Dim, Total             int
}

func (v VectorSet) key() string { return "vectors/" + v.Method }

func (v VectorSet) value() string {
	return fmt.Sprintf("model=%s gallery=%s dim=%d total=%d", v.Model, v.Gallery, v.Dim, v.Total)
}

// BeginVectors records v, or checks that it was recorded alike by
// another worker. fresh first discards the method's vectors and record.
func (c *Catalog) BeginVectors(ctx context.Context, v VectorSet, fresh bool) error {
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockSchema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, vectorsSchema); err != nil {
			return err
		}
		if fresh {
			if _, err := tx.Exec(ctx, `DELETE FROM irgen_vectors WHERE method = $1`, v.Method); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM irgen_meta WHERE key = $1`, v.key()); err != nil {
				return err
			}
		}
		var have string
		err := tx.QueryRow(ctx, `INSERT INTO irgen_meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = irgen_meta.value RETURNING value`, v.key(), v.value()).Scan(&have)
		if err == nil && have != v.value() {
			return fmt.Errorf("%w: the %s vectors in the catalog are %q, here %q; pass --fresh to discard them",
				catalog.ErrStale, v.Method, have, v.value())
		}
		return err
	})
	if err != nil {
		return c.errorf("embed: begin "+v.Method, err)
	}
	return nil
}

// MissingVectors returns the ids of shard s that have no vector of
// method yet.
func (c *Catalog) MissingVectors(ctx context.Context, method string, s Shard) ([]int, error) {
	return c.queryIDs(ctx, "embed: missing vectors", `SELECT s.id FROM generate_series($1::bigint, $2::bigint - 1) AS s(id)
		WHERE NOT EXISTS (SELECT 1 FROM irgen_vectors v WHERE v.method = $3 AND v.id = s.id) ORDER BY s.id`, s.Lo, s.Hi, method)
}

// PutVectors writes vector k of data (rows of v.Dim values) as gallery
// image ids[k] of v's method in one transaction, skipping ids present.
func (c *Catalog) PutVectors(ctx context.Context, v VectorSet, ids []int, data []float32) error {
	if v.Dim <= 0 || len(data) != len(ids)*v.Dim {
		return fmt.Errorf("pgcat: embed: %d values for %d vectors of %d", len(data), len(ids), v.Dim)
	}
	buf := make([]byte, 4*v.Dim)
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE irgen_put (LIKE irgen_vectors) ON COMMIT DROP`); err != nil {
			return err
		}
		src := pgx.CopyFromSlice(len(ids), func(k int) ([]any, error) {
			return []any{v.Method, int64(ids[k]), catalog.PutFeature(buf, data[k*v.Dim:(k+1)*v.Dim])}, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"irgen_put"}, []string{"method", "id", "vec"}, src); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO irgen_vectors SELECT * FROM irgen_put ON CONFLICT DO NOTHING`)
		return err
	})
	if err != nil {
		return c.errorf("embed: write vectors", err)
	}
	return nil
}

// Vectors returns the vectors of v's method, id by id, once the catalog
// holds all of them for v (as recorded by BeginVectors).
func (c *Catalog) Vectors(ctx context.Context, v VectorSet) ([]float32, error) {
	out := make([]float32, v.Total*v.Dim)
	n := 0
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	err := pgx.BeginTxFunc(ctx, c.pool, opts, func(tx pgx.Tx) error {
		var have string
		err := tx.QueryRow(ctx, `SELECT value FROM irgen_meta WHERE key = $1`, v.key()).Scan(&have)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && have != v.value()) {
			return fmt.Errorf("%w: %s holds no %s vectors for this model (%q; want %q); run the 'irgen embed --shard' workers",
				catalog.ErrStale, c.where, v.Method, have, v.value())
		}
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id, vec FROM irgen_vectors WHERE method = $1 ORDER BY id`, v.Method)
		var (
			id  int64
			vec []byte
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &vec}, func() error {
			if id < 0 || id >= int64(v.Total) || len(vec) != 4*v.Dim {
				return fmt.Errorf("%w: %s vector %d of %d bytes", catalog.ErrFormat, v.Method, id, len(vec))
			}
			catalog.GetFeature(out[int(id)*v.Dim:(int(id)+1)*v.Dim], vec)
			n++
			return nil
		})
		return err
	})
	if err != nil {
		return nil, c.errorf("embed: read vectors", err)
	}
	if n < v.Total {
		return nil, fmt.Errorf("pgcat: %d of %d %s vectors in %s; run the remaining 'irgen embed --shard' workers", n, v.Total, v.Method, c.where)
	}
	return out, nil
}
