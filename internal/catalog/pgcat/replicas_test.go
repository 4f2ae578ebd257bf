package pgcat_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/api"
)

// TestReplicas serves one model from two replica processes over one
// PostgreSQL catalog, runs a storm of adds, deletes, searches and faulty
// requests against both, SIGKILLs one replica and restarts it, and
// restarts PostgreSQL in the middle. Afterwards both replicas hold every
// acknowledged add (GET gives the uploaded file; it comes first when it is
// the query, for knn and irgen), no deleted image comes back, and both
// agree with the catalog. Then an add on one replica is searchable on the
// other within a second.
func TestReplicas(t *testing.T) {
	pg, url, dir := modelDB(t, "irgen")
	a := startReplica(t, dir, url)
	b := startReplica(t, dir, url)
	slots := []*slot{newSlot(a), newSlot(b)}

	l := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	wg := l.storm(ctx, slots)
	time.Sleep(3 * time.Second)
	b.kill() // SIGKILL
	t.Log("replica B killed")
	slots[1].set(startReplica(t, dir, url))
	t.Log("replica B restarted")
	time.Sleep(time.Second)
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Log("PostgreSQL restarted")
	time.Sleep(3 * time.Second)
	cancel()
	wg.Wait()
	t.Logf("storm: %v", l.counts)
	for msg, n := range l.causes {
		t.Logf("503 × %d: %.300s", n, msg)
	}
	for _, e := range l.errs {
		t.Error(e)
	}
	if len(l.added) < 10 || len(l.deleted) < 3 {
		t.Fatalf("only %d adds and %d deletes acknowledged", len(l.added), len(l.deleted))
	}
	clients := []*api.Client{slots[0].get().client, slots[1].get().client}
	rows := waitConverged(t, url, clients)
	checkLedger(t, l, clients, rows)
	checkPropagation(t, clients[0], clients[1])
}

// waitConverged waits until both replicas hold as many images as the
// catalog and returns the catalog's image ids. The catalog is read again
// each time: a request the storm gave up on may still commit after it
// ended.
func waitConverged(t *testing.T, url string, clients []*api.Client) map[int]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, _ := conn.Query(ctx, `SELECT id FROM irgen_images`)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, c := range clients {
			h, err := c.Health(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, h.Images)
		}
		if got[0] == len(ids) && got[1] == len(ids) {
			out := map[int]bool{}
			for _, id := range ids {
				out[int(id)] = true
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas hold %v images, the catalog %d", got, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkLedger checks every acknowledged change on each replica and in
// the catalog's rows.
func checkLedger(t *testing.T, l *ledger, clients []*api.Client, rows map[int]bool) {
	t.Helper()
	ctx := context.Background()
	ids := make([]int, 0, len(l.added))
	for id := range l.added {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for ri, c := range clients {
		for _, id := range ids {
			img := l.added[id]
			data, _, err := c.Image(ctx, id)
			var se *api.StatusError
			switch {
			case l.unsure[id]:
				if rows[id] != (err == nil) {
					t.Errorf("replica %d: image %d (delete unanswered): in the catalog %v, GET %v", ri, id, rows[id], err)
				}
			case l.deleted[id]:
				if !errors.As(err, &se) || se.StatusCode != 404 || rows[id] {
					t.Errorf("replica %d: deleted image %d: GET %v, in the catalog %v; want 404, gone", ri, id, err, rows[id])
				}
				r, err := c.Search(ctx, img, api.SearchOptions{Method: "knn", K: 5})
				if err != nil || slices.Contains(resultIDs(r), id) {
					t.Errorf("replica %d: knn for deleted image %d: %v, %v", ri, id, resultIDs(r), err)
				}
			default:
				if err != nil || !bytes.Equal(data, img) || !rows[id] {
					t.Errorf("replica %d: added image %d: GET %d bytes, %v, in the catalog %v", ri, id, len(data), err, rows[id])
				}
				for _, m := range []string{"knn", "irgen"} {
					r, err := c.Search(ctx, img, api.SearchOptions{Method: m, K: 10, Beam: 50})
					if ids := resultIDs(r); err != nil || len(ids) == 0 || ids[0] != id {
						t.Errorf("replica %d: %s for added image %d: %v, %v", ri, m, id, ids, err)
					}
				}
			}
		}
	}
	t.Logf("checked %d acknowledged adds (%d deleted, %d unsure deletes) on %d replicas", len(ids), len(l.deleted), len(l.unsure), len(clients))
}

func resultIDs(r *api.SearchResponse) []int {
	if r == nil {
		return nil
	}
	out := make([]int, len(r.Results))
	for i, h := range r.Results {
		out[i] = h.ID
	}
	return out
}

// checkPropagation adds images on a and deletes them on b, and checks
// that each change is visible on the other replica within a second.
func checkPropagation(t *testing.T, a, b *api.Client) {
	t.Helper()
	ctx := context.Background()
	for i := range 10 {
		img := pngOf(i%4, uint64(1e9+i))
		r, err := a.Add(ctx, img, api.AddOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d := waitVisible(ctx, b, r.ID, true); d > time.Second {
			t.Errorf("add of image %d on A visible on B after %v; want ≤ 1 s", r.ID, d)
		}
		if err := b.Delete(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if d := waitVisible(ctx, a, r.ID, false); d > time.Second {
			t.Errorf("delete of image %d on B gone from A after %v; want ≤ 1 s", r.ID, d)
		}
	}
}

// waitVisible polls c until image id exists (or is gone), for up to 3 s,
// and returns how long it took.
func waitVisible(ctx context.Context, c *api.Client, id int, exists bool) time.Duration {
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		_, _, err := c.Image(ctx, id)
		if (err == nil) == exists {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}
