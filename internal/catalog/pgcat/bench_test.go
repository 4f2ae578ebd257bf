package pgcat_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/irgen/irgen/api"
	"github.com/irgen/irgen/internal/catalog/pgcat"
	"github.com/irgen/irgen/internal/gallery"
	"github.com/irgen/irgen/internal/knn"
	"github.com/irgen/irgen/internal/pgtest"
	"github.com/irgen/irgen/internal/semid"
	"github.com/irgen/irgen/internal/trie"
)

// Measurements for the README, run on request only (not by go test ./...).
var (
	latencyN    = flag.Int("latency", 0, "measure propagation between two replicas over this many adds and as many deletes")
	sizing      = flag.String("sizing", "", "measure bytes per image in replica memory and in PostgreSQL at these gallery sizes (comma-separated)")
	assignModel = flag.String("assign-model", "", "measure 'irgen assign --shard' throughput with 1 and 2 workers on this trained model")
	assignBin   = flag.String("assign-bin", "", "the irgen binary the assign measurement runs")
	assignWD    = flag.String("assign-wd", "", "the folder the assign workers run in (where relative data set paths start)")
)

// TestPropagationLatency measures, between two replica processes, the
// time from an add's (or delete's) acknowledgement by one replica until
// the other counts it (its /healthz image count, answered from memory,
// polled every 0.5 ms).
func TestPropagationLatency(t *testing.T) {
	if *latencyN == 0 {
		t.Skip("run with -latency N")
	}
	_, url, dir := modelDB(t, "latency")
	rs := []*replica{startReplica(t, dir, url), startReplica(t, dir, url)}
	ctx := context.Background()
	var adds, dels []time.Duration
	for i := range *latencyN {
		from, to := rs[i%2].client, rs[(i+1)%2].client
		n := images(t, to)
		r, err := from.Add(ctx, pngOf(i%4, uint64(i)), api.AddOptions{})
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, pollCount(t, to, n+1))
		if err := to.Delete(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		dels = append(dels, pollCount(t, from, n))
	}
	for _, m := range []struct {
		what string
		d    []time.Duration
	}{{"add", adds}, {"delete", dels}} {
		slices.Sort(m.d)
		n := len(m.d)
		t.Logf("propagation of %d %ss: p50 %v, p99 %v, max %v", n, m.what, m.d[n/2], m.d[n*99/100], m.d[n-1])
	}
}

// images returns the number of images c serves.
func images(t *testing.T, c *api.Client) int {
	h, err := c.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Images
}

// pollCount polls c until it serves n images, for up to 5 s, and returns
// how long it took.
func pollCount(t *testing.T, c *api.Client, n int) time.Duration {
	start := time.Now()
	for time.Since(start) < 5*time.Second && images(t, c) != n {
		time.Sleep(500 * time.Microsecond)
	}
	return time.Since(start)
}

// synthetic returns a gallery of n images shaped like the Fashion-MNIST
// model's (128-dim features, M = 4, L = 256) with random IDs: nearly
// every image has its own ID, the prefix tree's worst case.
func synthetic(n int) *gallery.Gallery {
	const dim, m, l = 128, 4, 256
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	g := &gallery.Gallery{Dim: dim, M: m, L: l, Classes: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
		Keys: make([]string, n), Labels: make([]int32, n), Features: make([]float32, n*dim), Codes: make([]int32, n*m)}
	for i := range n {
		g.Keys[i] = fmt.Sprintf("synthetic/%09d.png", i)
		g.Labels[i] = int32(i % 10)
	}
	for i := range g.Features {
		g.Features[i] = rng.Float32()*2 - 1
	}
	for i := range g.Codes {
		g.Codes[i] = rng.Int32N(l)
	}
	return g
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSizing measures the bytes per image of what a replica rebuilds
// (gallery, prefix tree, exact index) and of the catalog in PostgreSQL.
func TestSizing(t *testing.T) {
	if *sizing == "" {
		t.Skip("run with -sizing 1000000,10000000")
	}
	pg := pgtest.Shared(t)
	for _, f := range strings.Split(*sizing, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			t.Fatalf("-sizing %q: want image counts", f)
		}
		h0 := heap()
		g := synthetic(n)
		h1 := heap()
		tr, _ := trie.New(g.M, g.L)
		for i := range n {
			if err := tr.Insert(semid.ID(g.Code(i)), i); err != nil {
				t.Fatal(err)
			}
		}
		h2 := heap()
		ix, _ := knn.New(g.Dim, knn.Cosine)
		if err := ix.Attach(g.Features); err != nil { // as engine.Restore does
			t.Fatal(err)
		}
		h3 := heap()
		per := func(a, b uint64) float64 { return float64(b-a) / float64(n) }
		t.Logf("n=%d memory B/image: gallery %.0f, prefix tree %.0f (%d IDs), exact index %.0f, total %.0f",
			n, per(h0, h1), per(h1, h2), tr.Len(), per(h2, h3), per(h0, h3))
		runtime.KeepAlive(tr)
		runtime.KeepAlive(ix)
		measurePG(t, pg, g)
	}
}

func measurePG(t *testing.T, pg *pgtest.Server, g *gallery.Gallery) {
	ctx := context.Background()
	url := pg.CreateDB(t, fmt.Sprintf("sizing%d", g.Len()))
	c, err := pgcat.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if err := c.Fill(ctx, g, "sizing"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	start = time.Now()
	if _, _, _, err := c.Load(ctx); err != nil {
		t.Fatal(err)
	}
	load := time.Since(start)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, `VACUUM ANALYZE irgen_images`)
	var heapB, toast, index, total, db int64
	err = conn.QueryRow(ctx, `SELECT pg_relation_size('irgen_images'), pg_total_relation_size('irgen_images') - pg_relation_size('irgen_images') - pg_indexes_size('irgen_images'),
		pg_indexes_size('irgen_images'), pg_total_relation_size('irgen_images'), pg_database_size(current_database())`).Scan(&heapB, &toast, &index, &total, &db)
	if err != nil {
		t.Fatal(err)
	}
	n := float64(g.Len())
	t.Logf("n=%d PostgreSQL B/image: table %.0f, toast/fsm/vm %.0f, primary key %.0f, images total %.0f, database %.0f; filled by COPY in %v (%.0f images/s), read back by a starting replica (Load) in %v (%.0f images/s)",
		g.Len(), float64(heapB)/n, float64(toast)/n, float64(index)/n, float64(total)/n, float64(db)/n,
		took.Round(time.Millisecond), n/took.Seconds(), load.Round(time.Millisecond), n/load.Seconds())
	conn.Exec(ctx, `DROP TABLE irgen_images`)
}

// TestAssignThroughput times 'irgen assign --catalog --shard' over the
// gallery of -assign-model with one worker, then two at once.
func TestAssignThroughput(t *testing.T) {
	if *assignModel == "" || *assignBin == "" {
		t.Skip("run with -assign-model DIR -assign-bin BIN")
	}
	pg := pgtest.Shared(t)
	for _, workers := range []int{1, 2} {
		url := pg.CreateDB(t, fmt.Sprintf("assign%d", workers))
		start := time.Now()
		cmds := make([]*exec.Cmd, workers)
		for i := range cmds {
			cmds[i] = exec.Command(*assignBin, "assign", "--model", *assignModel, "--catalog", url, "--shard", fmt.Sprintf("%d/%d", i, workers))
			cmds[i].Stderr, cmds[i].Dir = os.Stderr, *assignWD
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(start)
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		conn.QueryRow(context.Background(), `SELECT count(*) FROM irgen_images`).Scan(&n)
		conn.Close(context.Background())
		t.Logf("assign with %d worker(s): %d images in %v: %.0f images/s (wall time of the slowest worker, model loading included)",
			workers, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	}
}
