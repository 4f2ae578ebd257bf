package pgcat_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/pgtest"
)

var compactN = flag.Int("compact", 0, "measure compacting a change log of this many rows")

// TestCompactSpeed measures the compactions of a change log of -compact
// rows (no replica live: every row goes) and the log's size on disk
// before it and after a VACUUM.
func TestCompactSpeed(t *testing.T) {
	if *compactN == 0 {
		t.Skip("run with -compact N")
	}
	pg := pgtest.Shared(t)
	url := pg.CreateDB(t, "compactspeed")
	ctx := context.Background()
	c, err := pgcat.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Fill(ctx, synthetic(1000), "synthetic"); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO irgen_changes (seq, op, image_id) SELECT s, 'delete', s % 1000 FROM generate_series(1, $1::bigint) s`,
		`UPDATE irgen_state SET seq = $1::bigint`,
	} {
		if _, err := conn.Exec(ctx, q, *compactN); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d change rows in %v; log %s", *compactN, time.Since(start).Round(time.Millisecond), logSize(t, url))
	start = time.Now()
	var removed, runs int64
	for h := int64(0); h < int64(*compactN); runs++ {
		got, err := c.Compact(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.Horizon <= h {
			t.Fatalf("compaction %d: %+v; want the horizon past %d", runs+1, got, h)
		}
		h, removed = got.Horizon, removed+got.Removed
	}
	took := time.Since(start)
	if removed != int64(*compactN) {
		t.Fatalf("compactions removed %d rows; want %d", removed, *compactN)
	}
	if _, err := conn.Exec(ctx, `VACUUM irgen_changes`); err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted %d rows in %d compactions, %v (%.0f rows/s); after VACUUM the log takes %s", removed, runs,
		took.Round(time.Millisecond), float64(removed)/took.Seconds(), logSize(t, url))
}

// logSize returns the size of irgen_changes with its index, in words.
func logSize(t *testing.T, url string) string {
	t.Helper()
	var s string
	if err := connect(t, url).QueryRow(context.Background(), `SELECT pg_size_pretty(pg_total_relation_size('irgen_changes'))`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
