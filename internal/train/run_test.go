package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type settings struct {
	Batch int   `json:"batch"`
	Seed  int64 `json:"seed"`
}

func (s settings) BatchSeed() (int, int64) { return s.Batch, s.Seed }

// fakeModel records what a Run asks of a model; its "weights" are the
// number of steps trained.
type fakeModel struct {
	weights  int
	saves    int
	resumes  int
	loaded   string // path of the last LoadWeights
	onDisk   int    // weights as last saved
	bestSeen map[string]int
}

func newRun(t *testing.T, dir string, m *fakeModel, out *bytes.Buffer) *Run[settings] {
	t.Helper()
	m.bestSeen = map[string]int{}
	return &Run[settings]{Name: "fake", Dir: dir, StateFile: "fake.state.json", BestFile: "fake.best", Fresh: "add --fresh", Out: out,
		Save:   func() error { m.saves++; m.onDisk = m.weights; return nil },
		Resume: func() error { m.resumes++; m.weights = m.onDisk; return nil },
		SaveWeights: func(path string) error {
			m.bestSeen[path] = m.weights
			return os.WriteFile(path, []byte("best"), 0o644)
		},
		LoadWeights: func(path string) error { m.loaded = path; m.weights = m.bestSeen[path]; return nil },
	}
}

func (m *fakeModel) step(i int) (string, error) { m.weights = i + 1; return "", nil }

// TestRunResume interrupts a run, resumes it and checks that every step
// ran once, the state file records a finished run, and a later run finds
// it finished.
func TestRunResume(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	m := &fakeModel{}
	r := newRun(t, dir, m, &out)
	if finished, err := r.Start(settings{32, 1}, 10); err != nil || finished {
		t.Fatalf("fresh Start = %v, %v; want not finished", finished, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var ran []int
	step := func(i int) (string, error) {
		ran = append(ran, i)
		if i == 3 {
			cancel()
		}
		return m.step(i)
	}
	if _, err := r.Train(ctx, &Loop{Step: step}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Train = %v; want ErrInterrupted", err)
	}
	path := filepath.Join(dir, "fake.state.json")
	if Finished(path) {
		t.Fatal("an interrupted run is recorded as finished")
	}

	m.weights = 0 // a new process
	r = newRun(t, dir, m, &out)
	if finished, err := r.Start(settings{32, 1}, 10); err != nil || finished || m.resumes != 1 || r.State.Done != 4 {
		t.Fatalf("Start = %v, %v after %d resumes at %d; want a resume at 4", finished, err, m.resumes, r.State.Done)
	}
	if !strings.Contains(out.String(), "resuming") {
		t.Errorf("no resume message: %q", out.String())
	}
	secs, err := r.Train(context.Background(), &Loop{Step: step})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("ran %v; want every step once", ran)
	}
	if rec := Seconds(path); !Finished(path) || rec <= 0 || rec > secs {
		t.Errorf("state finished %v, %g s; want finished, at most the %g s returned", Finished(path), rec, secs)
	}

	// A finished run is kept: Start loads it and says so.
	r = newRun(t, dir, m, &out)
	if finished, err := r.Start(settings{32, 1}, 10); err != nil || !finished || m.resumes != 2 {
		t.Errorf("Start on a finished run = %v, %v with %d resumes; want finished and loaded", finished, err, m.resumes)
	}
}

// TestRunSettings checks that a run of other settings is refused, unless
// it is finished and KeepFinished is set.
func TestRunSettings(t *testing.T) {
	dir := t.TempDir()
	m := &fakeModel{}
	r := newRun(t, dir, m, &bytes.Buffer{})
	if _, err := r.Start(settings{32, 1}, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Train(context.Background(), &Loop{Step: m.step}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s     settings
		steps int
	}{{settings{16, 1}, 6}, {settings{32, 2}, 6}, {settings{32, 1}, 7}} {
		r := newRun(t, dir, m, &bytes.Buffer{})
		if _, err := r.Start(tc.s, tc.steps); err == nil || !strings.Contains(err.Error(), "add --fresh") {
			t.Errorf("Start(%+v, %d) = %v; want an error naming the hint", tc.s, tc.steps, err)
		}
		var out bytes.Buffer
		r = newRun(t, dir, m, &out)
		r.KeepFinished = true
		resumes := m.resumes
		if finished, err := r.Start(tc.s, tc.steps); err != nil || !finished || m.resumes != resumes || r.State.Done != 6 {
			t.Errorf("KeepFinished Start(%+v, %d) = %v, %v, state %+v; want the finished run kept, unloaded", tc.s, tc.steps, finished, err, r.State)
		}
		if !strings.Contains(out.String(), "finished run") {
			t.Errorf("KeepFinished: no message: %q", out.String())
		}
	}
}

// TestRunBest checks that the best weights become the model's at the end
// and that their file is removed.
func TestRunBest(t *testing.T) {
	dir := t.TempDir()
	m := &fakeModel{}
	r := newRun(t, dir, m, &bytes.Buffer{})
	if _, err := r.Start(settings{32, 1}, 10); err != nil {
		t.Fatal(err)
	}
	scores := map[int]float64{2: 0.5, 4: 0.9, 6: 0.1, 8: 0.2, 10: 0.3}
	l := &Loop{Step: m.step, ValidEvery: 2,
		Validate: func() (float64, string, error) { return scores[m.weights], "", nil }}
	if _, err := r.Train(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	best := filepath.Join(dir, "fake.best")
	if m.loaded != best || m.onDisk != 4 || r.State.Best.Step != 4 {
		t.Errorf("loaded %q, saved the weights of step %d, best %+v; want the best (step 4) saved", m.loaded, m.onDisk, r.State.Best)
	}
	if _, err := os.Stat(best); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("best weights left behind: %v", err)
	}
	st, err := ReadState[settings](filepath.Join(dir, "fake.state.json"))
	if err != nil || !st.Finished() || st.Best.Step != 4 || st.Best.Score != 0.9 {
		t.Errorf("state %+v, %v; want finished, best 0.9 at 4", st, err)
	}
}

// TestRunNoSteps checks that a run of no steps saves the model and is
// then finished (IRT_O).
func TestRunNoSteps(t *testing.T) {
	dir := t.TempDir()
	m := &fakeModel{}
	r := newRun(t, dir, m, &bytes.Buffer{})
	if finished, err := r.Start(settings{32, 1}, 0); err != nil || finished {
		t.Fatalf("Start = %v, %v; want a run to do", finished, err)
	}
	if _, err := r.Train(context.Background(), &Loop{}); err != nil || m.saves != 1 {
		t.Fatalf("Train = %v after %d saves; want one save", err, m.saves)
	}
	if !Finished(filepath.Join(dir, "fake.state.json")) {
		t.Error("a run of no steps is not finished once saved")
	}
}

// TestFinishedOldStates reads state files as irt and mrl wrote them before
// they ran on Run: their settings had other fields, which must not matter.
func TestFinishedOldStates(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, data string
		want       bool
	}{
		{"irt-o", `{"train":{"steps":0,"batch":64,"lr":3e-05,"seed":1},"done_steps":0,"steps":0,"seconds":0.5,"best":{"score":0,"step":0,"stale":0}}`, true},
		{"irt", `{"train":{"steps":2000,"batch":64,"seed":1},"done_steps":2000,"steps":2000,"seconds":90}`, true},
		{"irt-part", `{"train":{"steps":2000,"batch":64,"seed":1},"done_steps":20,"steps":2000,"seconds":9}`, false},
		{"mrl", `{"train":{"epochs":3,"batch":128,"seed":1},"done_steps":1404,"steps":1404,"seconds":60}`, true},
		{"tokenizer", `{"train":{"budget":{"epochs":20}},"done_steps":700,"steps":9360,"seconds":60,"best":{"score":0.8,"step":500,"stale":3,"stopped":700},"codebooks_ready":true}`, true},
	} {
		path := filepath.Join(dir, tc.name+".json")
		if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := Finished(path); got != tc.want {
			t.Errorf("%s: Finished = %v; want %v", tc.name, got, tc.want)
		}
		if Seconds(path) <= 0 {
			t.Errorf("%s: Seconds = %g", tc.name, Seconds(path))
		}
		st, err := ReadState[settings](path)
		if err != nil || st.Train.Batch == 0 && tc.name != "tokenizer" {
			t.Errorf("%s: ReadState = %+v, %v; want the batch read", tc.name, st, err)
		}
	}
	if Finished(filepath.Join(dir, "missing.json")) || Seconds(filepath.Join(dir, "missing.json")) != 0 {
		t.Error("a missing state file reads as a run")
	}
}

func TestBatches(t *testing.T) {
	b := &Batches{Seed: 3, N: 10, Size: 3} // 3 batches an epoch, one item left over
	if b.PerEpoch() != 3 {
		t.Fatalf("PerEpoch = %d; want 3", b.PerEpoch())
	}
	for _, i := range []int{0, 2, 3, 7, 5, 0} { // out of order, as after a resume
		epoch, idx := b.At(i)
		want := Order(3, i/3, 10)[i%3*3 : i%3*3+3]
		if epoch != i/3 || !slices.Equal(idx, want) {
			t.Errorf("At(%d) = %d, %v; want %d, %v", i, epoch, idx, i/3, want)
		}
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), nil, 0o644)
	if err := Remove(dir, "a", "missing"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a not removed: %v", err)
	}
}
