package server_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/server"
)

// TestSearchBatched sends concurrent searches of every method to a server
// that batches them, with bad images among them: each search gets what it
// gets alone from a server that does not batch, the bad images fail alone,
// and searches did share engine calls.
func TestSearchBatched(t *testing.T) {
	f := start(t, server.Config{BatchWindow: 50 * time.Millisecond, MaxBatch: 8})
	if err := f.srv.Warm(); err != nil {
		t.Fatal(err)
	}
	alone := newLoopbackServer(t, server.New(f.e, nil, server.Config{}).Handler())
	ref, err := api.NewClient(alone.URL, alone.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	queries := make([][]byte, 12)
	for i := range queries {
		queries[i] = pngOf(t, i%4, uint64(700+i))
	}
	for _, m := range []string{"irgen", "knn", "rqtree", "irgen-gen"} {
		opt := api.SearchOptions{Method: m, K: 6, Beam: 10}
		want := make([]*api.SearchResponse, len(queries))
		for i, q := range queries {
			if want[i], err = ref.Search(ctx, q, opt); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for i, q := range queries {
			wg.Go(func() {
				got, err := f.client.Search(ctx, q, opt)
				if err != nil {
					t.Errorf("%s query %d: %v", m, i, err)
					return
				}
				sameResults(t, m+" query "+strconv.Itoa(i), got, want[i])
			})
			wg.Go(func() {
				var se *api.StatusError
				if _, err := f.client.Search(ctx, []byte("GIF89a garbage"), opt); !errors.As(err, &se) || se.StatusCode/100 != 4 {
					t.Errorf("%s: garbage image: %v; want a 4xx status", m, err)
				}
			})
		}
		wg.Wait()
	}
	batches, _ := strconv.Atoi(metric(t, f.ts.URL, "irgen_search_batches_total"))
	batched, _ := strconv.Atoi(metric(t, f.ts.URL, "irgen_search_batched_total"))
	t.Logf("%d searches in %d engine calls", batched, batches)
	if batched != 4*len(queries) || batches >= batched {
		t.Errorf("%d searches in %d engine calls; want %d in fewer", batched, batches, 4*len(queries))
	}
}

// sameResults checks that got lists want's images in want's order, scores
// within float32 rounding, up to near ties (see engine's sameHits).
func sameResults(t *testing.T, what string, got, want *api.SearchResponse) {
	t.Helper()
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5 }
	g, w := got.Results, want.Results
	if len(g) != len(w) {
		t.Errorf("%s: %d results; want %d", what, len(g), len(w))
		return
	}
	for i, r := range g {
		ok := near(r.Score, w[i].Score)
		if ok && r.ID != w[i].ID {
			j := slices.IndexFunc(w, func(x api.Result) bool { return x.ID == r.ID })
			ok = (j >= 0 && near(w[j].Score, r.Score)) || (j < 0 && near(r.Score, w[len(w)-1].Score))
		}
		if !ok {
			t.Errorf("%s: result %d is %d (%g); want %d (%g)", what, i, r.ID, r.Score, w[i].ID, w[i].Score)
			return
		}
	}
}
