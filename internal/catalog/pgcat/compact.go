package pgcat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// Compaction. Every change is logged in irgen_changes, and its effect is
// in irgen_images as soon as it commits; the log is only there for the
// replicas that have not applied it yet. Each replica records the last
// change it applied in irgen_replicas (a heartbeat, every HeartbeatEvery),
// and once every CompactEvery one replica removes the changes up to the
// horizon: the oldest change applied by the replicas heard from within
// ReplicaTimeout (all changes when none was). The deletions and the new
// horizon, kept in irgen_state, commit together. A replica that reads
// the log sees the horizon in the same snapshot as the changes: one
// behind the horizon (stopped, or cut off for longer than
// ReplicaTimeout) rebuilds from a snapshot of irgen_images, as at start,
// instead of catching up across the gap.

// Intervals of compaction; see above.
const (
	HeartbeatEvery = 10 * time.Second
	CompactEvery   = time.Minute
	ReplicaTimeout = 10 * time.Minute
)

// compactBatch is the most changes one compaction removes (about 0.7 s
// a million on a loaded 2-vCPU machine); a longer log takes several.
const compactBatch = 1_000_000

// lockCompact is the advisory lock key that keeps compactions one at a
// time.
const lockCompact = 0x69726763 // "irgc"

// errBehind reports a replica whose next changes were compacted away.
var errBehind = errors.New("pgcat: behind the compacted change log")

// replicaName returns a name for this replica's row in irgen_replicas:
// the host, the process and a random part.
func replicaName() string {
	host, _ := os.Hostname()
	var r [4]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// rebuild replaces the engine's gallery, prefix tree and exact index with
// a snapshot of the catalog, unless the engine has applied the snapshot's
// changes already, and records this replica's progress. The snapshot is
// read without syncMu: this replica's writers wait for the indexes to be
// rebuilt from it, not for PostgreSQL.
func (c *Catalog) rebuild(ctx context.Context) error {
	start := time.Now()
	g, live, seq, err := c.Load(ctx)
	if err != nil {
		return err
	}
	if g == nil || g.Model != c.model {
		return fmt.Errorf("pgcat: rebuild %s: the catalog no longer holds the gallery this replica serves", c.where)
	}
	c.syncMu.Lock()
	from := c.applied
	if seq <= from { // applied already (another rebuild)
		c.syncMu.Unlock()
		return nil
	}
	if err = c.e.Restore(g.Gallery, live); err == nil {
		c.applied = seq
		c.rebuilds.Add(1)
	}
	c.syncMu.Unlock()
	if err != nil {
		return fmt.Errorf("pgcat: rebuild: %w", err)
	}
	slog.Warn("pgcat: this replica fell behind the compacted change log; rebuilt from a snapshot",
		"catalog", c.where, "from_seq", from, "to_seq", seq, "images", g.Len(), "took", time.Since(start).Round(time.Millisecond))
	return c.heartbeat(ctx)
}

// heartbeat records the last change this replica applied.
func (c *Catalog) heartbeat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	_, err := c.pool.Exec(ctx, `INSERT INTO irgen_replicas (name, applied, seen) VALUES ($1, $2, now())
		ON CONFLICT (name) DO UPDATE SET applied = EXCLUDED.applied, seen = EXCLUDED.seen`, c.name, c.Applied())
	if err != nil {
		return c.errorf("heartbeat", err)
	}
	return nil
}

// housekeep sends the heartbeat and compacts, each when it is due. Their
// failures are logged: following goes on.
func (c *Catalog) housekeep(ctx context.Context) {
	now := time.Now()
	if now.Sub(c.lastBeat) >= HeartbeatEvery {
		c.lastBeat = now
		if err := c.heartbeat(ctx); err != nil {
			slog.Warn("pgcat: heartbeat failed", "err", err)
		}
	}
	if now.Sub(c.lastCompact) >= CompactEvery {
		c.lastCompact = now
		if _, err := c.Compact(ctx, ReplicaTimeout); err != nil {
			slog.Warn("pgcat: compaction failed", "err", err)
		}
	}
}

// Compacted is what one compaction did.
type Compacted struct {
	Horizon int64 // changes up to it are gone
	Removed int64 // rows of irgen_changes removed now
}

// Compact removes the changes up to the oldest change applied by the
// replicas heard from within live (all changes when none was), and
// forgets the replicas not heard from within live. It does nothing while
// another compaction runs.
func (c *Catalog) Compact(ctx context.Context, live time.Duration) (Compacted, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var out Compacted
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, lockCompact).Scan(&locked); err != nil || !locked {
			return err
		}
		// LEAST ignores NULL: with no live replica, every change goes.
		// At most compactBatch rows go at once, well within Timeout.
		var seq int64
		err := tx.QueryRow(ctx, `SELECT s.horizon, LEAST(s.seq, s.horizon + $2, (SELECT min(applied) FROM irgen_replicas
			WHERE seen > now() - make_interval(secs => $1))) FROM irgen_state s`, live.Seconds(), compactBatch).Scan(&out.Horizon, &seq)
		if err != nil || seq <= out.Horizon {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM irgen_changes WHERE seq <= $1`, seq)
		if err != nil {
			return err
		}
		out.Horizon, out.Removed = seq, tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM irgen_replicas WHERE seen <= now() - make_interval(secs => $1)`, live.Seconds()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE irgen_state SET horizon = GREATEST(horizon, $1)`, seq)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) { // not filled yet: nothing to compact
		return out, nil
	}
	if err != nil {
		return out, c.errorf("compact", err)
	}
	return out, nil
}

// forget removes this replica's row from irgen_replicas, so that a
// replica stopped for good does not hold compaction back.
func (c *Catalog) forget() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.pool.Exec(ctx, `DELETE FROM irgen_replicas WHERE name = $1`, c.name); err != nil {
		slog.Debug("pgcat: forget replica", "err", err)
	}
}
