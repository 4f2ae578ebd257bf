package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/internal/pgtest"
)

// TestRestart starts a server, writes a row, restarts the server and
// reads the row back.
func TestRestart(t *testing.T) {
	s := pgtest.Start(t)
	url := s.CreateDB(t, "restart")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exec := func(sql string) int {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		return n
	}
	exec(`CREATE TABLE t AS SELECT 7 AS x`)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if got := exec(`SELECT x FROM t`); got != 7 {
		t.Errorf("got %d after the restart; want 7", got)
	}
}
