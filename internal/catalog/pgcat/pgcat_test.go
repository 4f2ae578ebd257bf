package pgcat_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog"
	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/engine"
	"github.com/irgen/irgen/internal/pgtest"
	"github.com/irgen/irgen/internal/server"
	"github.com/irgen/irgen/internal/testmodel"
)

// modelDB gives the test a database of its own, named name, on the
// shared PostgreSQL server, and a copy of the test model: the server,
// the database's URL and the model's folder.
func modelDB(t *testing.T, name string) (pg *pgtest.Server, url, dir string) {
	t.Helper()
	pg = pgtest.Shared(t)
	return pg, pg.CreateDB(t, name), testmodel.Copy(t)
}

// attach serves the model in dir over the catalog at url in this
// process.
func attach(t *testing.T, dir, url string) (*engine.Engine, *pgcat.Catalog, *api.Client) {
	t.Helper()
	return attachWith(t, dir, url, server.Config{Timeout: 5 * time.Second})
}

// attachWith is attach with the server's configuration cfg.
func attachWith(t *testing.T, dir, url string, cfg server.Config) (*engine.Engine, *pgcat.Catalog, *api.Client) {
	t.Helper()
	e := testmodel.MustOpen(t, dir)
	e.Tokenizer.Batch, e.QueryBatch = 1, 1
	c, err := pgcat.Attach(context.Background(), e, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ts := httptest.NewServer(server.New(e, c, cfg).Handler())
	t.Cleanup(ts.Close)
	client, err := api.NewClient(ts.URL, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	return e, c, client
}

// TestPostgresDown stops PostgreSQL under two attached engines: adds and
// deletes answer 503 naming the cause, searches go on from memory, and
// once PostgreSQL is back writes work again and each engine follows the
// other's changes, with no restart of either.
func TestPostgresDown(t *testing.T) {
	pg, url, dir := modelDB(t, "down")
	ea, _, a := attach(t, dir, url)
	_, _, b := attach(t, dir, url)
	ctx := context.Background()
	img := pngOf(2, 42)
	added, err := a.Add(ctx, img, api.AddOptions{Label: "2"})
	if err != nil {
		t.Fatal(err)
	}
	if d := waitVisible(ctx, b, added.ID, true); d > time.Second {
		t.Errorf("add on A visible on B after %v; want ≤ 1 s", d)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	var se *api.StatusError
	_, err = b.Add(ctx, pngOf(1, 43), api.AddOptions{})
	if !errors.As(err, &se) || se.StatusCode != 503 || !strings.Contains(se.Message, "pgcat: add image postgres://irgen@127.0.0.1") {
		t.Errorf("add with PostgreSQL down: %v; want 503 naming the catalog", err)
	}
	if err := a.Delete(ctx, added.ID); !errors.As(err, &se) || se.StatusCode != 503 {
		t.Errorf("delete with PostgreSQL down: %v; want 503", err)
	}
	if h, err := b.Health(ctx); err != nil || h.Status != "degraded" || !strings.Contains(h.Storage, "pgcat") {
		t.Errorf("health with PostgreSQL down: %+v, %v; want degraded with the cause", h, err)
	}
	for _, c := range []*api.Client{a, b} {
		r, err := c.Search(ctx, img, api.SearchOptions{Method: "knn", K: 3})
		if ids := resultIDs(r); err != nil || len(ids) == 0 || ids[0] != added.ID {
			t.Errorf("search with PostgreSQL down: %v, %v; want image %d first", ids, err, added.ID)
		}
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	var again *api.AddResponse
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if again, err = b.Add(ctx, pngOf(3, 44), api.AddOptions{}); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("add after PostgreSQL is back: %v", err)
	}
	// A's follower reconnects within its back-off (≤ 0.5 s), then catches up.
	if d := waitVisible(ctx, a, again.ID, true); d > 1500*time.Millisecond {
		t.Errorf("add on B after the restart visible on A after %v; want ≤ 1.5 s", d)
	}
	if h, err := b.Health(ctx); err != nil || h.Status != "ok" {
		t.Errorf("health after a write succeeded: %+v, %v; want ok", h, err)
	}
	if err := ea.Check(); err != nil {
		t.Error(err)
	}
}

// TestStale refuses a catalog filled for another model.
func TestStale(t *testing.T) {
	_, url, dir := modelDB(t, "stale")
	e := testmodel.MustOpen(t, dir)
	c, err := pgcat.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Fill(context.Background(), e.Gallery(), "another model"); err != nil {
		t.Fatal(err)
	}
	if _, err := pgcat.Attach(context.Background(), e, url); !errors.Is(err, catalog.ErrStale) {
		t.Errorf("attach to a catalog of another model: %v; want ErrStale", err)
	}
}

// TestNoPasswordInErrors checks that a failed connection's error names
// the catalog without its password.
func TestNoPasswordInErrors(t *testing.T) {
	for _, url := range []string{
		"postgres://irgen:s3cret@127.0.0.1:1/irgen?connect_timeout=2",
		"postgres://irgen:s3cret@127.0.0.1:1/irgen?sslmode=bogus",
	} {
		_, err := pgcat.Open(context.Background(), url)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v; want an error without the password", pgcat.Redact(url), err)
		}
	}
	if got := pgcat.Redact("postgres://u:pw@h/db"); strings.Contains(got, "pw") {
		t.Errorf("Redact kept the password: %s", got)
	}
	if !pgcat.IsURL("postgresql://h/db") || pgcat.IsURL("/models/fm/catalog.db") {
		t.Error("IsURL: wrong answer")
	}
}
