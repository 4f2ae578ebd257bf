package pgcat_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/server"
)

// TestStoredBound adds images at once on two replicas that share a
// bound on the stored files (serve --max-catalog): the catalog never
// keeps more than the bound, it keeps exactly the files of the adds that
// were acknowledged, every refusal is a 507 for an image that would not
// have fit, and a delete makes room again.
func TestStoredBound(t *testing.T) {
	_, url, dir := modelDB(t, "bound")
	const adds = 24
	imgs := make([][]byte, adds)
	var total int64
	for i := range imgs {
		imgs[i] = pngOf(i%4, uint64(5000+i))
		total += int64(len(imgs[i]))
	}
	limit := total / 2
	cfg := server.Config{Timeout: 10 * time.Second, MaxCatalogBytes: limit}
	_, ca, a := attachWith(t, dir, url, cfg)
	_, _, b := attachWith(t, dir, url, cfg)
	acked, refused := addAtOnce(t, []*api.Client{a, b}, imgs)
	stored, err := ca.StoredBytes()
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, i := range acked {
		sum += int64(len(imgs[i.n]))
	}
	if stored > limit || stored != sum {
		t.Errorf("the catalog keeps %d bytes, the %d acknowledged adds %d; want them equal and ≤ %d", stored, len(acked), sum, limit)
	}
	if len(refused) == 0 || len(acked)+len(refused) != adds {
		t.Errorf("%d adds acknowledged, %d refused of %d; want some refused, each either", len(acked), len(refused), adds)
	}
	for _, n := range refused {
		if stored+int64(len(imgs[n])) <= limit {
			t.Errorf("image %d (%d bytes) refused though %d bytes are kept of %d", n, len(imgs[n]), stored, limit)
		}
	}
	if h, err := a.Health(context.Background()); err != nil || h.Status != "ok" {
		t.Errorf("health after refusals for the bound: %+v, %v; want ok", h, err)
	}
	ctx := context.Background()
	if err := b.Delete(ctx, acked[0].id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Add(ctx, imgs[acked[0].n], api.AddOptions{}); err != nil {
		t.Errorf("add after a delete made room: %v", err)
	}
}

// addResult is an acknowledged add: image n got id.
type addResult struct{ n, id int }

// addAtOnce adds imgs, all at once, alternately on each client; it
// returns the acknowledged adds and the images refused with 507.
func addAtOnce(t *testing.T, clients []*api.Client, imgs [][]byte) (acked []addResult, refused []int) {
	t.Helper()
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for n, img := range imgs {
		wg.Go(func() {
			r, err := clients[n%len(clients)].Add(context.Background(), img, api.AddOptions{})
			mu.Lock()
			defer mu.Unlock()
			var se *api.StatusError
			switch {
			case err == nil:
				acked = append(acked, addResult{n, r.ID})
			case errors.As(err, &se) && se.StatusCode == 507 && strings.Contains(se.Message, "--max-catalog"):
				refused = append(refused, n)
			default:
				t.Errorf("add of image %d: %v; want success or 507 for the bound", n, err)
			}
		})
	}
	wg.Wait()
	return acked, refused
}
