package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/irgen/irgen/internal/engine"
)

// batchKey is what searches must share to be answered by one
// engine.Search call.
type batchKey struct {
	method  engine.Method
	k, beam int
}

// batchCall is one request's query in a batch.
type batchCall struct {
	x    []float32 // the query image, normalized
	sent time.Time // when the request joined the batch
	gone atomic.Bool
	done chan batchResult // buffered: the batch never waits for a request
}

// batchResult is a request's share of its batch's search.
type batchResult struct {
	hits []engine.Hit
	tm   engine.Timing // the batch's
	wait time.Duration // from joining the batch to its search
	err  error
}

// batch is the searches of one key that will run in one engine call.
type batch struct {
	key   batchKey
	calls []*batchCall
	full  chan struct{} // closed when the batch holds batcher.max calls
}

// batcher gathers the searches that arrive close together into batches,
// so that the encoders and the decoder run once for several queries: a
// batch of one key collects requests for up to window while other
// searches are on their way (read, decoded, but not yet submitted), then
// keeps collecting until a search slot frees, and runs in that one slot.
// It starts running as soon as it is full, and at once when no other
// search is on its way (a lone client waits for nothing).
type batcher struct {
	s      *Server
	window time.Duration
	max    int
	// engine is s.e.Search (a fake in tests).
	engine func(m engine.Method, images []float32, n int, opt engine.Options) ([][]engine.Hit, engine.Timing, error)

	mu   sync.Mutex
	open map[batchKey]*batch
	// coming counts the searches admitted but not yet submitted (nor
	// failed); settled is closed and replaced whenever it falls to 0.
	coming  int
	settled chan struct{}
}

func newBatcher(s *Server, window time.Duration, max int) *batcher {
	return &batcher{s: s, window: window, max: max, engine: s.e.Search, open: map[batchKey]*batch{}, settled: make(chan struct{})}
}

// ticket is a search on its way to the batcher (see expect).
type ticket struct{ once sync.Once }

// expect counts a search on its way to a batch, so that open batches of
// its key wait for it. The search uncounts it when it joins a batch;
// cancel uncounts it when it fails before (a no-op after joining).
func (b *batcher) expect() *ticket {
	b.mu.Lock()
	b.coming++
	b.mu.Unlock()
	return &ticket{}
}

func (b *batcher) cancel(t *ticket) {
	t.once.Do(func() {
		b.mu.Lock()
		b.arrivedLocked()
		b.mu.Unlock()
	})
}

// arrivedLocked uncounts a search on its way; the caller holds b.mu.
func (b *batcher) arrivedLocked() {
	if b.coming--; b.coming == 0 {
		close(b.settled)
		b.settled = make(chan struct{})
	}
}

// search submits query image x, of the search t counts, to a batch of its
// key and waits for its results until ctx ends. Leaving early leaves the
// batch to the others.
func (b *batcher) search(ctx context.Context, t *ticket, key batchKey, x []float32) (batchResult, error) {
	c := &batchCall{x: x, sent: time.Now(), done: make(chan batchResult, 1)}
	b.mu.Lock()
	bt := b.open[key]
	if bt == nil {
		bt = &batch{key: key, full: make(chan struct{})}
		b.open[key] = bt
		go b.collect(bt)
	}
	bt.calls = append(bt.calls, c)
	if len(bt.calls) >= b.max {
		delete(b.open, key)
		close(bt.full)
	}
	t.once.Do(b.arrivedLocked)
	b.mu.Unlock()
	select {
	case r := <-c.done:
		return r, r.err
	case <-ctx.Done():
		c.gone.Store(true)
		return batchResult{}, fmt.Errorf("%w: the request took longer than %v", errBusy, b.s.cfg.Timeout)
	}
}

// collect waits for bt to fill (see batcher), closes it and runs it.
func (b *batcher) collect(bt *batch) {
	timer := time.NewTimer(b.window)
	defer timer.Stop()
wait:
	for {
		b.mu.Lock()
		idle, settled := b.coming == 0, b.settled
		b.mu.Unlock()
		if idle {
			break
		}
		select {
		case <-bt.full:
			break wait
		case <-timer.C:
			break wait
		case <-settled:
		}
	}
	// Requests still join while the batch waits for a slot.
	ctx, cancel := context.WithTimeout(context.Background(), b.s.cfg.Timeout)
	err := b.s.acquire(ctx)
	cancel()
	b.mu.Lock()
	if b.open[bt.key] == bt {
		delete(b.open, bt.key)
	}
	calls := make([]*batchCall, 0, len(bt.calls))
	for _, c := range bt.calls {
		if !c.gone.Load() {
			calls = append(calls, c)
		}
	}
	b.mu.Unlock()
	if err != nil {
		for _, c := range calls {
			c.done <- batchResult{err: err}
		}
		return
	}
	defer b.s.release()
	if len(calls) > 0 {
		b.run(bt.key, calls)
	}
}

// run searches the queries of calls in one engine call and hands each
// request its results. A panic becomes every request's error.
func (b *batcher) run(key batchKey, calls []*batchCall) {
	start := time.Now()
	x := make([]float32, 0, len(calls)*len(calls[0].x))
	for _, c := range calls {
		x = append(x, c.x...)
	}
	var (
		hits [][]engine.Hit
		tm   engine.Timing
		err  error
	)
	func() {
		defer func() {
			if p := recover(); p != nil {
				slog.Error("server: panic", "panic", p)
				err = fmt.Errorf("server: panic: %v", p)
			}
		}()
		hits, tm, err = b.engine(key.method, x, len(calls), engine.Options{K: key.k, Beam: key.beam, Batch: b.max})
	}()
	b.s.metrics.batches.Add(1)
	b.s.metrics.batched.Add(int64(len(calls)))
	for i, c := range calls {
		r := batchResult{tm: tm, wait: start.Sub(c.sent), err: err}
		if err == nil {
			r.hits = hits[i]
		}
		c.done <- r
	}
}
