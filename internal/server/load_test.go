package server_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/config"
	"github.com/irgen/irgen/internal/server"
	"github.com/irgen/irgen/internal/testmodel"
)

var (
	loadFlag  = flag.Bool("load", false, "run the long load test: 200 searches per method and concurrency level, 50 adds while searching")
	loadModel = flag.String("load-model", "", "run the load test on a copy of this trained model directory instead of the tiny test model")
	loadBatch = flag.Duration("load-batch", server.DefaultConfig().BatchWindow, "the server's batch window in the load test (0: no batching)")
	loadN     = flag.Int("load-searches", 200, "with -load: searches per method and concurrency level (each run stops after 30 ms a search, at least 6 s)")
)

// loadSize is the number of requests of each measured run, and the time
// after which a run stops early (so that the whole test stays within a
// minute on a slow machine).
func loadSize() (searches, adds int, limit time.Duration) {
	if *loadFlag {
		n := max(*loadN, 1)
		return n, 50, max(6*time.Second, time.Duration(n)*30*time.Millisecond)
	}
	return 24, 8, 5 * time.Second
}

// loadClient is an HTTP client that keeps enough idle connections for 32
// concurrent requests to loopback.
func loadClient(t testing.TB, url string) *api.Client {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := api.NewClient(url, &http.Client{Transport: tr, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// latencies summarizes one run.
type latencies struct {
	d    []time.Duration
	wall time.Duration
	errs int
}

func (l latencies) pct(p float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func (l latencies) String() string {
	return fmt.Sprintf("n=%4d  qps=%7.1f  p50=%7.2fms  p99=%7.2fms  errors=%d",
		len(l.d), float64(len(l.d))/l.wall.Seconds(), msOf(l.pct(0.50)), msOf(l.pct(0.99)), l.errs)
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// hammer runs n searches with c workers and measures each; it stops
// early when ctx ends.
func hammer(ctx context.Context, client *api.Client, queries [][]byte, opt api.SearchOptions, n, c int) latencies {
	var (
		mu   sync.Mutex
		out  latencies
		next atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				_, err := client.Search(ctx, queries[i%len(queries)], opt)
				d := time.Since(t0)
				mu.Lock()
				if ctx.Err() != nil {
					// cut off by the time limit, not a failure
				} else if err != nil {
					out.errs++
				} else {
					out.d = append(out.d, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out.wall = time.Since(start)
	return out
}

// TestLoad measures /v1/search over loopback at concurrency 1, 8 and 32,
// then adds and deletes images while searching, with faults mixed in
// (garbage bodies, requests abandoned mid-way), and checks that no
// acknowledged image is lost and no deleted one comes back, before and
// after a restart. Normal runs are small; -load runs the long version, and
// -load-model runs it on a copy of a trained model:
//
//	go test ./internal/server -run Load -load -v
//	go test ./internal/server -run Load -load -load-model $PWD/runs/fm -v
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test in -short mode")
	}
	var f *fixture
	if *loadModel != "" {
		f = startModel(t, *loadModel)
	} else {
		f = start(t, server.Config{BatchWindow: *loadBatch})
	}
	if err := f.srv.Warm(); err != nil {
		t.Fatal(err)
	}
	client := loadClient(t, f.ts.URL)
	n, nAdds, limit := loadSize()
	queries := make([][]byte, 16)
	for i := range queries {
		queries[i] = pngOf(t, i%4, uint64(500+i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Logf("loopback, %d searches per run (at most %v), %d CPUs, GOMAXPROCS %d, %d search slots, backend %s, %d images, one query image per request, batch window %v, irgen one pass %v",
		n, limit, runtime.NumCPU(), runtime.GOMAXPROCS(0), server.DefaultConfig().Concurrency, config.Backend(), f.e.Stats().Images, *loadBatch, f.e.OnePass())
	for _, m := range []string{"irgen", "knn"} {
		for _, c := range []int{1, 8, 32} {
			rctx, cancel := context.WithTimeout(ctx, limit)
			l := hammer(rctx, client, queries, api.SearchOptions{Method: m, K: 10}, n, c)
			cancel()
			t.Logf("search %-5s c=%-2d %v", m, c, l)
			if l.errs > 0 {
				t.Errorf("%s c=%d: %d failed searches", m, c, l.errs)
			}
		}
	}

	mixed(t, ctx, f, client, queries, nAdds, 2*limit)
}

// mixed runs searches at concurrency 8 while one writer adds nAdds images
// (fewer if limit passes first) and deletes every other one, and a third
// goroutine sends faults.
func mixed(t *testing.T, ctx context.Context, f *fixture, client *api.Client, queries [][]byte, nAdds int, limit time.Duration) {
	base := f.e.Stats().Images
	var (
		mu      sync.Mutex
		added   = map[int][]byte{} // acknowledged adds: id → file
		deleted = map[int]time.Time{}
		bad     []string // deleted images seen in a search sent after the delete was acknowledged
	)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		rng := rand.New(rand.NewPCG(9, 9))
		stop := time.Now().Add(limit)
		for i := 0; i < nAdds && time.Now().Before(stop); i++ {
			img := pngOf(t, rng.IntN(4), uint64(10_000+i))
			r, err := client.Add(ctx, img, api.AddOptions{Label: fmt.Sprint(i % 4)})
			if err != nil {
				t.Errorf("add %d: %v", i, err)
				continue
			}
			mu.Lock()
			added[r.ID] = img
			mu.Unlock()
			if i%2 == 1 {
				if err := client.Delete(ctx, r.ID); err != nil {
					t.Errorf("delete %d: %v", r.ID, err)
					continue
				}
				mu.Lock()
				deleted[r.ID] = time.Now()
				mu.Unlock()
			}
		}
	}()
	faultsDone := make(chan int)
	go func() {
		faults := 0
		for {
			select {
			case <-writerDone:
				faultsDone <- faults
				return
			default:
			}
			// A body that is not an image, and a search abandoned after 1 ms.
			client.Search(ctx, []byte("GIF89a garbage"), api.SearchOptions{})
			actx, cancel := context.WithTimeout(ctx, time.Millisecond)
			client.Search(actx, queries[faults%len(queries)], api.SearchOptions{Method: "irgen", Beam: 100, K: 100})
			cancel()
			faults += 2
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var searches atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 8 {
		wg.Go(func() {
			for i := w; ; i += 8 {
				select {
				case <-writerDone:
					return
				default:
				}
				sent := time.Now()
				r, err := client.Search(ctx, queries[i%len(queries)], api.SearchOptions{Method: []string{"irgen", "knn", "rqtree"}[i%3], K: 50})
				searches.Add(1)
				if err != nil {
					t.Errorf("search during adds: %v", err)
					return
				}
				mu.Lock()
				for _, x := range r.Results {
					if at, ok := deleted[x.ID]; ok && at.Before(sent) {
						bad = append(bad, fmt.Sprintf("%d (%s)", x.ID, r.Method))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	faults := <-faultsDone
	wall := time.Since(start)
	t.Logf("mixed: %d searches (c=8, irgen/knn/rqtree, k=50) while adding %d and deleting %d images, %d fault requests, in %.1fs: %.1f searches/s",
		searches.Load(), len(added), len(deleted), faults, wall.Seconds(), float64(searches.Load())/wall.Seconds())
	if len(bad) > 0 {
		t.Errorf("searches returned images deleted before they were sent: %v", bad)
	}
	if len(added) < 4 {
		t.Fatalf("only %d adds acknowledged within %v", len(added), limit)
	}

	check := func(when string, client *api.Client) {
		for id, img := range added {
			data, _, err := client.Image(ctx, id)
			_, isDeleted := deleted[id]
			var se *api.StatusError
			switch {
			case isDeleted && !(errors.As(err, &se) && se.StatusCode == 404):
				t.Errorf("%s: deleted image %d: GET gave %v; want 404", when, id, err)
			case !isDeleted && (err != nil || !bytes.Equal(data, img)):
				t.Errorf("%s: added image %d: GET gave %d bytes, %v; want the %d uploaded", when, id, len(data), err, len(img))
			case isDeleted:
				// Queried by itself, a deleted image does not come back.
				r, err := client.Search(ctx, img, api.SearchOptions{Method: "knn", K: 5})
				if err != nil || slices.Contains(resultIDs(r), id) {
					t.Errorf("%s: knn for deleted image %d: %v, %v", when, id, resultIDs(r), err)
				}
			default:
				r, err := client.Search(ctx, img, api.SearchOptions{Method: "knn", K: 1})
				if err != nil || len(r.Results) == 0 || r.Results[0].ID != id {
					t.Errorf("%s: knn for added image %d: %v, %v", when, id, r, err)
				}
			}
		}
	}
	check("after the load", client)
	if err := f.e.Check(); err != nil {
		t.Error(err)
	}
	rows, _ := f.cat.Count()
	if st := f.e.Stats(); st.Images != rows || st.Images != base+len(added)-len(deleted) {
		t.Errorf("after the load: engine %d images, catalog %d rows; want %d", st.Images, rows, base+len(added)-len(deleted))
	}
	if m := metric(t, f.ts.URL, "irgen_search_inflight"); m != "0" {
		t.Errorf("irgen_search_inflight = %s after the load; want 0", m)
	}

	// Restart: a new engine from the same catalog serves the same images.
	f.cat.Close()
	f2 := restart(t, f.dir)
	check("after a restart", f2.client)
}

// startModel serves a private copy of the trained model in dir (its
// catalog included, so that adds and deletes leave dir as it was).
func startModel(t *testing.T, dir string) *fixture {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "model")
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return restart(t, dst)
}

// restart serves the model in dir again, from its catalog.
func restart(t *testing.T, dir string) *fixture {
	t.Helper()
	f := &fixture{dir: dir}
	e, cat, err := testmodel.Attach(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.e, f.cat = e, cat
	t.Cleanup(func() { cat.Close() })
	f.srv = server.New(e, cat, server.Config{BatchWindow: *loadBatch})
	f.ts = newLoopbackServer(t, f.srv.Handler())
	f.client = loadClient(t, f.ts.URL)
	return f
}

// metric returns the value of an unlabelled metric from /metrics.
func metric(t *testing.T, url, name string) string {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}
