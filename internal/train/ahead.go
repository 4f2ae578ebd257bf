package train

import "time"

// Ahead loads the input of step i+1 in the background while step i
// computes, into two buffers used in turn, so that decoding, augmentation
// and batching overlap the compute of the steps. Load must depend only on
// the step number (as Batches and per-step seeds make it), so that the
// steps see the same inputs as without Ahead, and it must be safe to run
// beside the step (it only writes into the buffer it is given).
type Ahead[T any] struct {
	// Load fills into with the input of step i.
	Load func(i int, into *T) error
	// Limit is the number of steps of the run: no load starts for step
	// Limit or later (0: no limit).
	Limit int

	bufs    [2]T
	pending int // step whose load runs in the background; -1 none
	done    chan error
	waited  time.Duration
}

// NewAhead returns an Ahead over the buffers a and b.
func NewAhead[T any](a, b T, limit int, load func(i int, into *T) error) *Ahead[T] {
	return &Ahead[T]{Load: load, Limit: limit, bufs: [2]T{a, b}, pending: -1, done: make(chan error, 1)}
}

// Get returns the input of step i, loaded in the background if the last
// call asked for step i-1, else now, and starts loading step i+1. The
// buffer stays the step's until the next call.
func (a *Ahead[T]) Get(i int) (*T, error) {
	var err error
	start := time.Now()
	if a.pending == i {
		err = <-a.done
		a.pending = -1
	} else {
		a.Wait()
		err = a.Load(i, &a.bufs[i%2])
	}
	a.waited += time.Since(start)
	if err != nil {
		return nil, err
	}
	if a.Limit <= 0 || i+1 < a.Limit {
		a.pending = i + 1
		go func(j int) { a.done <- a.Load(j, &a.bufs[j%2]) }(i + 1)
	}
	return &a.bufs[i%2], nil
}

// Waited returns the time Get spent waiting for inputs: loads that did
// not finish while the steps computed.
func (a *Ahead[T]) Waited() time.Duration { return a.waited }

// Wait waits for the load in flight, if any; its result is dropped.
func (a *Ahead[T]) Wait() {
	if a.pending >= 0 {
		<-a.done
		a.pending = -1
	}
}
