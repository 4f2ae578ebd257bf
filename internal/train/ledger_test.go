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

// TestLoopSummary checks the closing line: the steps, their rate and the
// share of their time spent waiting for inputs.
func TestLoopSummary(t *testing.T) {
	var out bytes.Buffer
	l := &Loop{Name: "t", Steps: 4, Batch: 10, Out: &out,
		Step: func(int) (string, error) {
			time.Sleep(20 * time.Millisecond)
			return "", nil
		},
		InputWait: func() time.Duration { return 40 * time.Millisecond },
		Save:      func(int) error { return nil },
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`t: 4 steps in \S+ \(([0-9.]+) img/s, ([0-9.]+)% of it waiting for inputs\); validation 0s, checkpoints 0s`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary line in %q", out.String())
	}
	var rate, wait float64
	if _, err := fmt.Sscan(m[1]+" "+m[2], &rate, &wait); err != nil {
		t.Fatal(err)
	}
	// 40 images in ≥ 80 ms; 40 ms of waiting in ≥ 80 ms of steps.
	if rate > 500 || rate < 50 || wait > 50 || wait < 10 {
		t.Errorf("rate %v img/s, waiting %v%%; want ≤ 500 (and not absurdly low), ≤ 50%%", rate, wait)
	}
}
