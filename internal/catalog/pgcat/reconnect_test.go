package pgcat_test

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog/pgcat"
)

// TestCompactionReconnect stops replica process A (SIGSTOP), restarts
// PostgreSQL under it, changes the catalog through replica B and
// compacts every change away (no heartbeat recent). A, resumed, finds its
// connection gone, reconnects behind the horizon, and must rebuild: it
// ends serving what the catalog holds (each kept image found first by
// knn, each deleted one gone) and follows B's changes again.
func TestCompactionReconnect(t *testing.T) {
	pg, url, dir := modelDB(t, "reconnect")
	a, b := startReplica(t, dir, url), startReplica(t, dir, url)
	ctx := context.Background()
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer a.cmd.Process.Signal(syscall.SIGCONT)
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	kept, gone := changeAfterRestart(t, b.client)
	conn := connect(t, url)
	if _, err := conn.Exec(ctx, `UPDATE irgen_replicas SET seen = now() - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	c, err := pgcat.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Compact(ctx, time.Minute)
	seq, horizon, rows := logState(t, conn)
	if err != nil || got.Horizon != seq || horizon != seq || rows != 0 {
		t.Fatalf("compaction: %+v, %v; log at %d, horizon %d, %d rows; want every change gone", got, err, seq, horizon, rows)
	}
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitConverged(t, url, []*api.Client{a.client, b.client})
	for id, img := range kept {
		r, err := a.client.Search(ctx, img, api.SearchOptions{Method: "knn", K: 3})
		if ids := resultIDs(r); err != nil || len(ids) == 0 || ids[0] != id {
			t.Errorf("A after the rebuild: knn of image %d gives %v, %v; want it first", id, ids, err)
		}
	}
	for id, img := range gone {
		r, err := a.client.Search(ctx, img, api.SearchOptions{Method: "knn", K: 5})
		if err != nil || slices.Contains(resultIDs(r), id) {
			t.Errorf("A after the rebuild: knn of deleted image %d gives %v, %v; want it gone", id, resultIDs(r), err)
		}
	}
	checkPropagation(t, a.client, b.client)
}

// changeAfterRestart adds 9 images on c, PostgreSQL just restarted (the
// first add is tried until it succeeds), and deletes every third; it
// returns the images kept and those deleted, by id.
func changeAfterRestart(t *testing.T, c *api.Client) (kept, gone map[int][]byte) {
	t.Helper()
	ctx := context.Background()
	kept, gone = map[int][]byte{}, map[int][]byte{}
	for i := range 9 {
		img := pngOf(i%4, uint64(7000+i))
		r, err := c.Add(ctx, img, api.AddOptions{})
		for deadline := time.Now().Add(10 * time.Second); err != nil && i == 0 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			r, err = c.Add(ctx, img, api.AddOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 2 {
			kept[r.ID] = img
			continue
		}
		if err := c.Delete(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		gone[r.ID] = img
	}
	return kept, gone
}
