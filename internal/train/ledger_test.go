package train

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"
)

// TestAheadWaited checks that Get counts a load it waits for and not one
// that finished while the step computed.
func TestAheadWaited(t *testing.T) {
	const load = 30 * time.Millisecond
	a := NewAhead(0, 0, 0, func(i int, into *int) error {
		time.Sleep(load)
		*into = i
		return nil
	})
	defer a.Wait()
	if _, err := a.Get(5); err != nil { // nothing loaded ahead: waits
		t.Fatal(err)
	}
	if w := a.Waited(); w < load {
		t.Fatalf("Waited after a load in Get = %v; want ≥ %v", w, load)
	}
	before := a.Waited()
	time.Sleep(10 * load) // the step, long enough for step 6's load
	if _, err := a.Get(6); err != nil {
		t.Fatal(err)
	}
	if w := a.Waited() - before; w >= 5*load {
		t.Errorf("Get of a step loaded ahead waited %v; want well under the load's %v", w, load)
	}
}

// TestLoopSummary checks the closing line: the steps, their rate after
// the first (whose compilation is timed apart, as is Setup's work) and
// the share of their time spent waiting for inputs.
func TestLoopSummary(t *testing.T) {
	var out bytes.Buffer
	l := &Loop{Name: "t", Steps: 5, Batch: 10, Out: &out,
		Setup: func(i int) error {
			if i == 2 {
				time.Sleep(300 * time.Millisecond) // a step's one-off work
			}
			return nil
		},
		Step: func(i int) (string, error) {
			if i == 0 {
				time.Sleep(300 * time.Millisecond) // compiling
			}
			time.Sleep(20 * time.Millisecond)
			return "", nil
		},
		InputWait: func() time.Duration { return 40 * time.Millisecond },
		Save:      func(int) error { return nil },
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`t: 5 steps in \S+ \(([0-9.]+) img/s after the first, ([0-9.]+)% of all waiting for inputs; ` +
		`first step ([0-9.]+)s, compiling\), setup ([0-9.]+)s; validation 0s, checkpoints 0s`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary line in %q", out.String())
	}
	var rate, wait, first, setup float64
	if _, err := fmt.Sscan(m[1]+" "+m[2]+" "+m[3]+" "+m[4], &rate, &wait, &first, &setup); err != nil {
		t.Fatal(err)
	}
	// 40 images in ≥ 80 ms (neither the first step nor the setup in
	// it); 40 ms of waiting in ≥ 400 ms of steps.
	// Counting either would put the rate near 100 img/s.
	if rate > 500 || rate < 200 || wait > 12 || wait < 2 {
		t.Errorf("rate %v img/s, waiting %v%%; want 200–500 img/s, 2–12%%", rate, wait)
	}
	if first < 0.3 || setup < 0.3 {
		t.Errorf("first step %vs, setup %vs; want ≥ 0.3 each", first, setup)
	}
}
