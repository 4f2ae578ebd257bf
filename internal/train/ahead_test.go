package train

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestAhead(t *testing.T) {
	var mu sync.Mutex
	var loads []int
	started := make(chan int, 100)
	fail := errors.New("unreadable")
	load := func(i int, into *[]int) error {
		mu.Lock()
		loads = append(loads, i)
		mu.Unlock()
		started <- i
		if i == 7 {
			return fail
		}
		*into = append((*into)[:0], i, i*i) // the step's input
		return nil
	}
	a := NewAhead(make([]int, 2), make([]int, 2), 9, load)
	// Steps 0..6 in order, then a resume at 3 (out of order: loaded now).
	for _, i := range []int{0, 1, 2, 3, 4, 5, 6, 3, 4} {
		in, err := a.Get(i)
		if err != nil {
			t.Fatalf("Get(%d): %v", i, err)
		}
		if (*in)[0] != i || (*in)[1] != i*i {
			t.Fatalf("Get(%d) = %v", i, *in)
		}
		// Step i+1 loads in the background before anyone asks for it.
		select {
		case j := <-started:
			for j == i { // the load of step i itself, done now
				j = <-started
			}
			if j != i+1 {
				t.Fatalf("after Get(%d) the load of step %d started", i, j)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("after Get(%d) no load started", i)
		}
	}
	a.Wait()
	if _, err := a.Get(7); !errors.Is(err, fail) { // the failing load, after a jump from 4
		t.Errorf("Get(7) error %v, want %v", err, fail)
	}
	if _, err := a.Get(8); err != nil { // the last step: nothing loads after it
		t.Fatal(err)
	}
	a.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, i := range loads {
		if i >= 9 {
			t.Errorf("loaded step %d past the limit of 9 (loads %v)", i, loads)
		}
	}
}
