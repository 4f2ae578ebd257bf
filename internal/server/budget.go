package server

import (
	"context"
	"fmt"
	"sync"
)

// budget is a pool of bytes that requests reserve before they read their
// bodies, so that the bodies held in memory at once stay within it.
type budget struct {
	mu   sync.Mutex
	free int64
	wake chan struct{} // closed and replaced on every release
}

func newBudget(n int64) *budget { return &budget{free: n, wake: make(chan struct{})} }

// acquire reserves n bytes, waiting until they are free or ctx ends.
func (b *budget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("%w: no memory for a body of %d bytes within the request's time", errBusy, n)
		}
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.free += n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}
