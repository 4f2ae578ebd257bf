package pgcat_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/pgtest"
)

// TestCompaction compacts the change log under two replicas, A stalled
// (not following) while B changes the catalog. While A's heartbeat is
// recent, compaction stops at A's last change, and A catches up from the
// log once it resumes, without a rebuild. Once A's heartbeat is stale,
// compaction removes the changes A still lacks; A, resuming behind the
// horizon, rebuilds from a snapshot, and ends with what the catalog and
// B hold.
func TestCompaction(t *testing.T) {
	_, url, dir := modelDB(t, "compact")
	ea, ca, a := attach(t, dir, url)
	eb, cb, b := attach(t, dir, url)
	ctx := context.Background()
	conn := connect(t, url)
	changeOn(t, b, a, 4, 100) // some history before the stall
	seq, _, _ := logState(t, conn)
	waitApplied(t, ca, seq)
	if err := ca.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	stalledAt := ca.Applied()
	resume := ca.Stall()
	ids := changeOn(t, b, nil, 6, 200)
	if err := cb.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := cb.Compact(ctx, time.Minute)
	if err != nil {
		resume()
		t.Fatal(err)
	}
	var horizon, rows int64
	seq, horizon, rows = logState(t, conn)
	if got.Horizon != stalledAt || horizon != stalledAt || rows != seq-stalledAt {
		t.Errorf("compaction with A live at change %d: horizon %d (said %d), %d rows of %d changes; want horizon %d, %d rows",
			stalledAt, horizon, got.Horizon, rows, seq, stalledAt, seq-stalledAt)
	}
	resume()
	waitApplied(t, ca, seq)
	if n := ca.Rebuilds(); n != 0 {
		t.Errorf("A live during the compaction rebuilt %d times; want 0 (the changes it needed were kept)", n)
	}
	sameAsCatalog(t, "A after catching up", ea, ca)

	behind := ca.Applied()
	resume = ca.Stall()
	changeOn(t, b, nil, 6, 300)
	if err := b.Delete(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE irgen_replicas SET seen = now() - interval '1 hour' WHERE name = $1`, ca.Name()); err != nil {
		resume()
		t.Fatal(err)
	}
	if err := cb.Heartbeat(ctx); err != nil {
		resume()
		t.Fatal(err)
	}
	if _, err := cb.Compact(ctx, time.Minute); err != nil {
		resume()
		t.Fatal(err)
	}
	seq, horizon, rows = logState(t, conn)
	if horizon != cb.Applied() || horizon <= behind || rows != seq-horizon {
		t.Errorf("compaction with A stale at change %d: horizon %d, %d rows of %d changes; want B's %d", behind, horizon, rows, seq, cb.Applied())
	}
	resume() // A's follower finds itself behind the horizon
	waitApplied(t, ca, seq)
	if n := ca.Rebuilds(); n != 1 {
		t.Errorf("A behind the horizon rebuilt %d times; want 1", n)
	}
	sameAsCatalog(t, "A after the rebuild", ea, ca)
	sameAsCatalog(t, "B", eb, cb)
	checkPropagation(t, a, b) // and it follows again
	for _, e := range []*engine.Engine{ea, eb} {
		if err := e.Check(); err != nil {
			t.Error(err)
		}
	}
}

// changeOn adds n images on c and deletes every third, waiting for each
// change to show on other (if not nil); it returns the ids still there.
func changeOn(t *testing.T, c, other *api.Client, n int, seed uint64) []int {
	t.Helper()
	ctx := context.Background()
	var ids []int
	for i := range n {
		r, err := c.Add(ctx, pngOf(i%4, seed+uint64(i)), api.AddOptions{})
		if err != nil {
			t.Fatal(err)
		}
		exists := true
		if i%3 == 2 {
			if err := c.Delete(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			exists = false
		} else {
			ids = append(ids, r.ID)
		}
		if other != nil {
			waitVisible(ctx, other, r.ID, exists)
		}
	}
	return ids
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// logState returns the last change, the horizon and the rows of the
// change log.
func logState(t *testing.T, conn *pgx.Conn) (seq, horizon, rows int64) {
	t.Helper()
	err := conn.QueryRow(context.Background(), `SELECT seq, horizon, (SELECT count(*) FROM irgen_changes) FROM irgen_state`).
		Scan(&seq, &horizon, &rows)
	if err != nil {
		t.Fatal(err)
	}
	return seq, horizon, rows
}

// waitApplied waits up to 5 s until c has applied change seq.
func waitApplied(t *testing.T, c *pgcat.Catalog, seq int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); c.Applied() < seq; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("applied change %d after 5 s; want %d", c.Applied(), seq)
		}
	}
}

// sameAsCatalog checks that e holds what a snapshot of c holds: the same
// live images, keys, labels, IDs and features.
func sameAsCatalog(t *testing.T, what string, e *engine.Engine, c *pgcat.Catalog) {
	t.Helper()
	want, live, _, err := c.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := e.Gallery()
	// An engine may lack the last slots if their images were deleted
	// before it applied them: it adds them with the next image.
	if st := e.Stats(); st.Slots > want.Len() {
		t.Fatalf("%s: %d slots; the catalog %d", what, st.Slots, want.Len())
	}
	for i := range want.Len() {
		ent, ok := e.Entry(i)
		if ok != live[i] {
			t.Fatalf("%s: image %d live %v; in the catalog %v", what, i, ok, live[i])
		}
		if !ok {
			continue
		}
		if ent.Key != want.Keys[i] || ent.Label != want.Labels[i] || !slices.Equal(ent.Code, want.Code(i)) || !slices.Equal(g.Feature(i), want.Feature(i)) {
			t.Fatalf("%s: image %d differs from the catalog's", what, i)
		}
	}
}

// TestAddHorizon opens a catalog made before compaction (irgen_state
// without horizon): Open adds the column. Opening it again while a
// snapshot read holds irgen_state does not wait for that read (no ALTER
// TABLE, whose lock would queue every write behind it).
func TestAddHorizon(t *testing.T) {
	pg := pgtest.Shared(t)
	url := pg.CreateDB(t, "horizon")
	ctx := context.Background()
	conn := connect(t, url)
	if _, err := conn.Exec(ctx, `CREATE TABLE irgen_state (one boolean PRIMARY KEY DEFAULT true CHECK (one),
		seq bigint NOT NULL, next_id bigint NOT NULL, stored_bytes bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO irgen_state VALUES (true, 7, 10, 0)`); err != nil {
		t.Fatal(err)
	}
	c, err := pgcat.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if seq, horizon, _ := logState(t, conn); seq != 7 || horizon != 0 {
		t.Errorf("after Open: seq %d, horizon %d; want 7, 0", seq, horizon)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT * FROM irgen_state`); err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err = pgcat.Open(octx, url)
	if err != nil {
		t.Fatalf("Open during a snapshot read: %v", err)
	}
	c.Close()
}
