package train

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBudgetFor(t *testing.T) {
	for _, tc := range []struct {
		b        Budget
		n, batch int
		want     int
	}{
		{Budget{Epochs: 10, MinSteps: 1200, MaxSteps: 3000}, 60000, 128, 3000}, // 4,680 capped
		{Budget{Epochs: 10, MinSteps: 1200, MaxSteps: 3000}, 20000, 128, 1560},
		{Budget{Epochs: 10, MinSteps: 1200, MaxSteps: 3000}, 4500, 128, 1200}, // 350 raised
		{Budget{Epochs: 20, MinSteps: 1000}, 60000, 128, 9360},
		{Budget{Epochs: 20, MinSteps: 1000, MaxSteps: 500}, 60000, 128, 1000}, // min wins over a smaller max
		{Budget{Epochs: 20, Steps: 77}, 60000, 128, 77},
		{Budget{Epochs: 0.5}, 1000, 100, 5},
		{Budget{Epochs: 0.01}, 1000, 100, 1},
	} {
		got, err := tc.b.For(tc.n, tc.batch)
		if err != nil || got != tc.want {
			t.Errorf("%+v.For(%d, %d) = %d, %v; want %d", tc.b, tc.n, tc.batch, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		b        Budget
		n, batch int
	}{
		{Budget{Epochs: 10}, 100, 128},
		{Budget{Epochs: 10}, 100, 0},
		{Budget{Epochs: 0}, 1000, 10},
	} {
		if _, err := tc.b.For(tc.n, tc.batch); err == nil {
			t.Errorf("%+v.For(%d, %d) succeeded", tc.b, tc.n, tc.batch)
		}
	}
}

// TestLoopValidation checks the best checkpoint and the early stop against
// a hand-made score sequence.
func TestLoopValidation(t *testing.T) {
	scores := map[int]float64{2: 0.5, 4: 0.7, 6: 0.6, 8: 0.7, 10: 0.65}
	var best Best
	var savedBest []int
	done := 0
	saved := -1
	l := &Loop{Name: "t", Steps: 20, Out: &bytes.Buffer{}, ValidEvery: 2, Patience: 3, Best: &best,
		Step: func(i int) (string, error) { done = i + 1; return "", nil },
		Save: func(d int) error { saved = d; return nil },
		Validate: func() (float64, string, error) {
			return scores[done], "", nil
		},
		SaveBest: func() error { savedBest = append(savedBest, done); return nil },
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 0.5 at 2 and 0.7 at 4 are bests; 6, 8 (equal is not better) and 10
	// are three in a row without one: stop after step 10.
	if len(savedBest) != 2 || savedBest[0] != 2 || savedBest[1] != 4 {
		t.Errorf("best saved at %v; want [2 4]", savedBest)
	}
	if best.Score != 0.7 || best.Step != 4 || best.Stopped != 10 || saved != 10 || done != 10 {
		t.Errorf("best %+v, saved %d, ran %d steps; want score 0.7 at 4, stopped and saved at 10", best, saved, done)
	}
	if !(State[int]{Steps: 20, Done: 10, Best: best}).Finished() {
		t.Error("a run stopped early is not finished")
	}
}

// TestLoopValidatesLastStep checks that the last step is validated even
// off the ValidEvery grid, and that a run without patience trains on.
func TestLoopValidatesLastStep(t *testing.T) {
	var best Best
	var at []int
	done := 0
	l := &Loop{Name: "t", Steps: 7, Out: &bytes.Buffer{}, ValidEvery: 3, Best: &best,
		Step: func(i int) (string, error) { done = i + 1; return "", nil },
		Save: func(int) error { return nil },
		Validate: func() (float64, string, error) {
			at = append(at, done)
			return -float64(done), "", nil // always worse
		},
		SaveBest: func() error { return nil },
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(at) != 3 || at[0] != 3 || at[1] != 6 || at[2] != 7 || best.Step != 3 || best.Stopped != 0 {
		t.Errorf("validated at %v, best %+v; want [3 6 7], best at 3, not stopped", at, best)
	}
}

// TestLoopNotReady checks that validations a model cannot take yet are
// skipped: they neither save a best nor count against patience.
func TestLoopNotReady(t *testing.T) {
	var best Best
	done, saves := 0, 0
	l := &Loop{Name: "t", Steps: 10, Out: &bytes.Buffer{}, ValidEvery: 1, Patience: 2, Best: &best,
		Step: func(i int) (string, error) { done = i + 1; return "", nil },
		Save: func(int) error { return nil },
		Validate: func() (float64, string, error) {
			if done < 6 {
				return 0, "", ErrNotReady
			}
			return 1, "", nil
		},
		SaveBest: func() error { saves++; return nil },
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// First real check at 6 is the best; 7 and 8 are not better: stop at 8.
	if best.Step != 6 || saves != 1 || best.Stopped != 8 || done != 8 {
		t.Errorf("best %+v, %d saves, ran %d steps; want best at 6, 1 save, stopped at 8", best, saves, done)
	}
}

// TestLoopTarget checks that a run stops at the first validation that
// reaches its target, keeping that model as the best, and says why.
func TestLoopTarget(t *testing.T) {
	scores := map[int]float64{2: 0.5, 4: 0.98, 6: 0.995, 8: 1}
	var best Best
	done, saved := 0, -1
	var out bytes.Buffer
	l := &Loop{Name: "t", Steps: 20, Out: &out, ValidEvery: 2, Patience: 5, Target: 0.99, Best: &best,
		Step:     func(i int) (string, error) { done = i + 1; return "", nil },
		Save:     func(d int) error { saved = d; return nil },
		Validate: func() (float64, string, error) { return scores[done], "", nil },
		SaveBest: func() error { return nil },
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if best.Score != 0.995 || best.Step != 6 || best.Stopped != 6 || saved != 6 || done != 6 {
		t.Errorf("best %+v, saved %d, ran %d steps; want 0.995 at 6, stopped and saved at 6", best, saved, done)
	}
	if !strings.Contains(out.String(), "reached the target 0.99") {
		t.Errorf("no reason in %q", out.String())
	}
}
