package train

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLoopResume(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran []int
	saved := -1
	var out bytes.Buffer
	l := &Loop{Name: "t", Steps: 10, Batch: 2, Out: &out,
		Step: func(i int) (string, error) {
			ran = append(ran, i)
			if i == 4 {
				cancel()
			}
			return "ok", nil
		},
		Save: func(done int) error { saved = done; return nil },
	}
	if err := l.Run(ctx); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v; want ErrInterrupted", err)
	}
	if saved != 5 {
		t.Fatalf("saved at %d; want 5", saved)
	}
	l.Start = saved
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if len(ran) != len(want) {
		t.Fatalf("ran %v; want %v", ran, want)
	}
	for i := range want {
		if ran[i] != want[i] {
			t.Fatalf("ran %v; want %v", ran, want)
		}
	}
	if saved != 10 {
		t.Errorf("final save at %d; want 10", saved)
	}
	if !strings.Contains(out.String(), "ETA") || !strings.Contains(out.String(), "img/s") {
		t.Errorf("progress line lacks rate or ETA: %q", out.String())
	}
}

func TestLoopStepError(t *testing.T) {
	l := &Loop{Name: "t", Steps: 3, Out: &bytes.Buffer{},
		Step: func(i int) (string, error) { return "", errors.New("boom") },
		Save: func(int) error { return nil },
	}
	if err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Run = %v; want the step error", err)
	}
}
