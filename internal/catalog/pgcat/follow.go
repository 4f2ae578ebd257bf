package pgcat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/semid"
)

// pollEvery is how often a follower catches up without a notification:
// a safety net for a notification lost with its connection.
const pollEvery = time.Second

// maxBackoff is the longest a follower waits between reconnects: once
// PostgreSQL is back, a replica sees the changes within it (plus the
// catch-up).
const maxBackoff = 500 * time.Millisecond

// catchUpBatch is the most changes one catch-up query reads.
const catchUpBatch = 5000

// Applied returns the seq of the last change applied to the engine.
func (c *Catalog) Applied() int64 {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.applied
}

// syncTo applies changes to the engine until change seq is applied,
// rebuilding from a snapshot if this replica fell behind the horizon.
func (c *Catalog) syncTo(ctx context.Context, seq int64) error {
	for {
		c.syncMu.Lock()
		done := c.applied >= seq
		c.syncMu.Unlock()
		if done {
			return nil
		}
		if err := c.catchUpOrRebuild(ctx); err != nil {
			return err
		}
	}
}

// catchUpOrRebuild catches up within Timeout; when the changes this
// replica needs were compacted away, it rebuilds the engine from a
// snapshot read within ctx, then catches up again.
func (c *Catalog) catchUpOrRebuild(ctx context.Context) error {
	err := c.catchUpWithin(ctx)
	if !errors.Is(err, errBehind) {
		return err
	}
	if err := c.rebuild(ctx); err != nil {
		return err
	}
	return c.catchUpWithin(ctx)
}

// catchUp applies the changes committed after the last one applied, in
// seq order. It fails with errBehind, applying nothing, when some of
// them were compacted away.
func (c *Catalog) catchUp(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	for {
		n, err := c.applyBatch(ctx)
		if err != nil {
			return err
		}
		if n < catchUpBatch {
			return nil
		}
	}
}

// change is one row of irgen_changes with the added image's row, if it
// still exists.
type change struct {
	seq, id int64
	op      string
	key     *string
	label   *int32
	code    *string
	feat    []byte
}

// batchQuery reads the horizon with the next changes, in one statement
// and so from one snapshot: a compaction commits its deletions and the
// horizon together, so a replica sees either the rows it needs or a
// horizon past its last change, never a silent gap.
const batchQuery = `SELECT s.horizon, c.seq, c.op, c.image_id, i.key, i.label, i.semid, i.feature
	FROM irgen_state s
	LEFT JOIN LATERAL (SELECT seq, op, image_id FROM irgen_changes WHERE seq > $1 ORDER BY seq LIMIT $2) c ON true
	LEFT JOIN irgen_images i ON c.op = 'add' AND i.id = c.image_id
	ORDER BY c.seq`

// applyBatch applies up to catchUpBatch changes. The caller holds syncMu.
func (c *Catalog) applyBatch(ctx context.Context) (int, error) {
	rows, _ := c.pool.Query(ctx, batchQuery, c.applied, catchUpBatch)
	var (
		horizon int64
		seq, id *int64
		op      *string
		ch      change
	)
	n := 0
	_, err := pgx.ForEachRow(rows, []any{&horizon, &seq, &op, &id, &ch.key, &ch.label, &ch.code, &ch.feat}, func() error {
		if horizon > c.applied {
			return fmt.Errorf("%w: changes up to %d were compacted, this replica applied up to %d", errBehind, horizon, c.applied)
		}
		if seq == nil { // no new change
			return nil
		}
		ch.seq, ch.op, ch.id = *seq, *op, *id
		if ch.seq != c.applied+1 {
			return fmt.Errorf("%w: change %d follows change %d", catalog.ErrFormat, ch.seq, c.applied)
		}
		if err := c.apply(ch); err != nil {
			return err
		}
		c.applied, n = ch.seq, n+1
		return nil
	})
	if errors.Is(err, errBehind) {
		return n, err
	}
	if err != nil {
		return n, c.errorf("follow changes", err)
	}
	return n, nil
}

// apply applies one change to the engine. An add whose image was deleted
// since is skipped: its delete follows.
func (c *Catalog) apply(ch change) error {
	if ch.op == "delete" {
		return c.e.ApplyDelete(int(ch.id))
	}
	if ch.key == nil {
		return nil
	}
	g := c.e.Gallery()
	code, err := semid.Parse(*ch.code)
	if err != nil || len(ch.feat) != 4*g.Dim {
		return fmt.Errorf("%w: image %d: ID %q, feature of %d bytes", catalog.ErrFormat, ch.id, *ch.code, len(ch.feat))
	}
	feat := make([]float32, g.Dim)
	catalog.GetFeature(feat, ch.feat)
	return c.e.Apply(engine.Record{ID: int(ch.id), Key: *ch.key, Label: *ch.label, Feature: feat, Code: code})
}

// follow applies every replica's changes as they commit until ctx ends:
// it listens for notifications on its own connection, catches up at each
// one and every pollEvery, and reconnects after a failure.
func (c *Catalog) follow(ctx context.Context) {
	defer close(c.done)
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.listen(ctx, func() { wait = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		slog.Warn("pgcat: following changes failed; reconnecting", "catalog", c.where, "in", wait, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// listen follows changes on one connection until it fails; connected is
// called once it listens and has caught up.
func (c *Catalog) listen(ctx context.Context, connected func()) error {
	conn, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: it holds a LISTEN.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	if err := c.catchUpOrRebuild(ctx); err != nil {
		return err
	}
	connected()
	for {
		wctx, cancel := context.WithTimeout(ctx, pollEvery)
		_, err := pc.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err := c.catchUpOrRebuild(ctx); err != nil {
			return err
		}
		c.housekeep(ctx)
	}
}

// catchUpWithin is catchUp bounded by Timeout, so that a connection that
// hangs does not hold syncMu (and the writers waiting on it) for longer.
func (c *Catalog) catchUpWithin(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return c.catchUp(ctx)
}
