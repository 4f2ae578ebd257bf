package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/irgen/irgen/internal/engine"
)

// fakeEngine answers query image x (one value) with the hit x[0]·10 + k,
// k = 0…opt.K-1, recording the size of each call; x[0] < 0 fails the
// whole call. When gate is set, calls wait for it.
type fakeEngine struct {
	mu    sync.Mutex
	sizes []int
	gate  chan struct{}
}

func (f *fakeEngine) search(m engine.Method, x []float32, n int, opt engine.Options) ([][]engine.Hit, engine.Timing, error) {
	f.mu.Lock()
	f.sizes = append(f.sizes, n)
	f.mu.Unlock()
	if f.gate != nil {
		<-f.gate
	}
	if len(x) != n {
		return nil, engine.Timing{}, fmt.Errorf("%d values for %d queries", len(x), n)
	}
	out := make([][]engine.Hit, n)
	for q := range n {
		if x[q] < 0 {
			return nil, engine.Timing{}, errors.New("bad batch")
		}
		for k := range opt.K {
			out[q] = append(out[q], engine.Hit{Index: int(x[q])*10 + k, Score: float32(m[0])})
		}
	}
	return out, engine.Timing{Encode: time.Millisecond}, nil
}

// testBatcher returns a batcher over f with slots search slots.
func testBatcher(f *fakeEngine, window time.Duration, max, slots int) *batcher {
	s := &Server{cfg: Config{Timeout: 10 * time.Second}, slots: make(chan struct{}, slots), metrics: newMetrics()}
	b := newBatcher(s, window, max)
	b.engine = f.search
	return b
}

// submit runs one batched search of query q as the handler does.
func submit(ctx context.Context, b *batcher, key batchKey, q int) (batchResult, error) {
	tk := b.expect()
	defer b.cancel(tk)
	return b.search(ctx, tk, key, []float32{float32(q)})
}

// wantHits checks r against the hits fakeEngine gives query q for key.
func wantHits(t *testing.T, key batchKey, q int, r batchResult, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("query %d: %v", q, err)
		return
	}
	if len(r.hits) != key.k {
		t.Errorf("query %d: %d hits; want %d", q, len(r.hits), key.k)
		return
	}
	for k, h := range r.hits {
		if h.Index != q*10+k || h.Score != float32(key.method[0]) {
			t.Errorf("query %d: hit %d is %+v; want index %d, score %d", q, k, h, q*10+k, key.method[0])
		}
	}
}

// TestBatcher runs many concurrent searches of three keys: each gets its
// own results, searches share calls, and no call is larger than max.
func TestBatcher(t *testing.T) {
	f := &fakeEngine{}
	b := testBatcher(f, 50*time.Millisecond, 4, 2)
	keys := []batchKey{{"irgen", 3, 30}, {"knn", 3, 30}, {"irgen", 5, 30}}
	var wg sync.WaitGroup
	// All are on their way before the first is submitted: the batches wait
	// for them.
	start := make(chan struct{})
	for q := range 60 {
		key := keys[q%len(keys)]
		tk := b.expect()
		wg.Go(func() {
			defer b.cancel(tk)
			<-start
			r, err := b.search(context.Background(), tk, key, []float32{float32(q)})
			wantHits(t, key, q, r, err)
		})
	}
	close(start)
	wg.Wait()
	calls, most := len(f.sizes), 0
	for _, n := range f.sizes {
		most = max(most, n)
	}
	if most > 4 || calls >= 60 || calls < 15 {
		t.Errorf("60 searches in %d calls of sizes %v; want 15 to 59 calls of at most 4", calls, f.sizes)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.coming != 0 || len(b.open) != 0 {
		t.Errorf("after the searches: %d coming, %d open batches; want none", b.coming, len(b.open))
	}
}

// TestBatcherAlone checks that a search with none other on its way runs
// at once, whatever the window.
func TestBatcherAlone(t *testing.T) {
	f := &fakeEngine{}
	b := testBatcher(f, 2*time.Second, 16, 1)
	key := batchKey{"knn", 2, 30}
	for q := range 3 {
		start := time.Now()
		r, err := submit(context.Background(), b, key, q)
		wantHits(t, key, q, r, err)
		if d := time.Since(start); d > time.Second {
			t.Errorf("query %d alone took %v; want no wait", q, d)
		}
	}
	if len(f.sizes) != 3 {
		t.Errorf("calls of sizes %v; want 3 of one", f.sizes)
	}
}

// TestBatcherCancel checks that a request that leaves, before its batch
// runs or while it runs, does not disturb the others of its batch, and
// that one that left before is not searched.
func TestBatcherCancel(t *testing.T) {
	f := &fakeEngine{gate: make(chan struct{})}
	b := testBatcher(f, time.Hour, 8, 1)
	key := batchKey{"irgen", 2, 30}
	// Batch 1 (query 0) runs and holds the only slot until the gate
	// opens; batch 2 collects queries 1-4 meanwhile, and 2 leaves.
	ctx0, cancel0 := context.WithCancel(context.Background())
	results := make(chan error, 5)
	go func() {
		_, err := submit(ctx0, b, key, 0)
		results <- err
	}()
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.sizes) == 1 })
	cancel0() // query 0 leaves while its batch runs
	var wg sync.WaitGroup
	ctx2, cancel2 := context.WithCancel(context.Background())
	for q := 1; q <= 4; q++ {
		ctx := context.Background()
		if q == 2 {
			ctx = ctx2
		}
		wg.Go(func() {
			r, err := submit(ctx, b, key, q)
			if q == 2 {
				results <- err
				return
			}
			wantHits(t, key, q, r, err)
		})
	}
	waitFor(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.open[key] != nil && len(b.open[key].calls) == 4
	})
	cancel2()
	for range 2 {
		if err := <-results; !errors.Is(err, errBusy) {
			t.Errorf("a request that left: %v; want errBusy", err)
		}
	}
	close(f.gate)
	wg.Wait()
	if len(f.sizes) != 2 || f.sizes[1] != 3 {
		t.Errorf("calls of sizes %v; want 1, then 3 (without the one that left)", f.sizes)
	}
}

// TestBatcherErrors checks that a failed engine call fails the searches
// of its batch only.
func TestBatcherErrors(t *testing.T) {
	f := &fakeEngine{}
	b := testBatcher(f, 20*time.Millisecond, 8, 2)
	bad, good := batchKey{"knn", 2, 30}, batchKey{"knn", 3, 30}
	var wg sync.WaitGroup
	for q := range 8 {
		key, x := good, q
		if q%2 == 0 {
			key, x = bad, -1
		}
		tk := b.expect()
		wg.Go(func() {
			defer b.cancel(tk)
			r, err := b.search(context.Background(), tk, key, []float32{float32(x)})
			if key == bad {
				if err == nil || err.Error() != "bad batch" {
					t.Errorf("query %d of the failing batch: %v; want its error", q, err)
				}
				return
			}
			wantHits(t, key, q, r, err)
		})
	}
	wg.Wait()
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
