package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/irgen/irgen/internal/store"
)

// Config is what the skeleton needs of a run's settings: the batch and the
// seed fix the images each step sees, so a run resumes only with the same
// two (and the same number of steps).
type Config interface {
	BatchSeed() (batch int, seed int64)
}

// Run is one model's training run, recorded in a directory so that an
// interrupted run resumes: the model's checkpoint, a State file saying
// how far it got, and, while validation runs, the best weights so far.
// It owns what every trainer shares — resume, the settings check, keeping
// a finished run, checkpoints, best weights and time — and leaves the
// model its step (Loop.Step) and validation.
type Run[C Config] struct {
	Name      string // the model, in messages: "decoder"
	Dir       string
	StateFile string // the State's file name in Dir
	BestFile  string // the best weights' file name in Dir; needed with validation
	// Fresh tells how to start over, in the error that refuses a run of
	// other settings: "add --fresh to retrain it".
	Fresh string
	// KeepFinished keeps a finished run whatever its settings; otherwise a
	// finished run is checked, and resumed (its weights loaded), as an
	// unfinished one.
	KeepFinished bool
	Out          io.Writer

	// Save writes the model into Dir: configuration and weights, optimizer
	// state included.
	Save func() error
	// Resume loads what Save wrote into the model.
	Resume func() error
	// SaveWeights and LoadWeights write and read the weights alone at
	// path, for the best weights; needed with validation.
	SaveWeights, LoadWeights func(path string) error

	// State is the run's record, set by Start and kept up to date by Train.
	State State[C]
}

// Start prepares a run of steps steps with settings c, reading the state a
// previous run left in Dir. It reports finished when that run is over:
// the Run keeps it and there is nothing to train. An unfinished run of the
// same settings is resumed; one of other settings is refused. A state file
// that cannot be read starts the run over.
func (r *Run[C]) Start(c C, steps int) (finished bool, err error) {
	if r.Out == nil {
		r.Out = io.Discard
	}
	r.State = State[C]{Train: c, Steps: steps}
	prev, err := ReadState[C](r.path(r.StateFile))
	if err != nil {
		return false, nil
	}
	if r.KeepFinished && prev.Finished() {
		fmt.Fprintf(r.Out, "%s: %s holds a finished run (%d steps); %s\n", r.Name, r.Dir, prev.Done, r.Fresh)
		r.State = prev
		return true, nil
	}
	pb, ps := prev.Train.BatchSeed()
	if b, s := c.BatchSeed(); pb != b || ps != s || prev.Steps != steps {
		return false, fmt.Errorf("%s: %s holds a run with other settings (batch %d, %d steps, seed %d); %s",
			r.Name, r.Dir, pb, prev.Steps, ps, r.Fresh)
	}
	if err := r.Resume(); err != nil {
		return false, err
	}
	r.State.Done, r.State.Seconds, r.State.Best = prev.Done, prev.Seconds, prev.Best
	if r.State.Finished() {
		return true, nil
	}
	fmt.Fprintf(r.Out, "%s: resuming %s at step %d of %d\n", r.Name, r.Dir, r.State.Done, r.State.Steps)
	return false, nil
}

// Train runs l from where Start left the run and returns the training
// seconds, summed over resumed runs. It sets the loop's Name, Out, Steps,
// Start, Best, Save and SaveBest; the caller sets the rest. Each save
// writes the model and the State; the last one first makes the best
// weights the model's, when validation found better ones than the last.
func (r *Run[C]) Train(ctx context.Context, l *Loop) (float64, error) {
	started, base := time.Now(), r.State.Seconds
	seconds := func() float64 { return base + time.Since(started).Seconds() }
	best := r.path(r.BestFile)
	l.Name, l.Out = r.Name, r.Out
	l.Steps, l.Start, l.Best = r.State.Steps, r.State.Done, &r.State.Best
	l.Save = func(done int) error {
		st := &r.State
		st.Done, st.Seconds = done, seconds()
		if st.Finished() && st.Best.Step > 0 && st.Best.Step != done {
			// The run is over: the best weights become the model's.
			if err := r.LoadWeights(best); err != nil {
				return err
			}
		}
		if err := r.Save(); err != nil {
			return err
		}
		return store.WriteJSON(r.path(r.StateFile), st)
	}
	if l.Validate != nil {
		if r.BestFile == "" || r.SaveWeights == nil || r.LoadWeights == nil {
			return 0, fmt.Errorf("train: %s: validation needs BestFile, SaveWeights and LoadWeights", r.Name)
		}
		l.SaveBest = func() error { return r.SaveWeights(best) }
	}
	err := l.Run(ctx)
	r.State.Seconds = seconds()
	if err == nil && r.BestFile != "" {
		os.Remove(best)
	}
	return r.State.Seconds, err
}

func (r *Run[C]) path(name string) string { return filepath.Join(r.Dir, name) }

// Finished reports whether the State file at path records a finished run.
func Finished(path string) bool {
	st, err := ReadState[noConfig](path)
	return err == nil && st.Finished()
}

// Seconds returns the training seconds the State file at path records,
// summed over resumed runs; 0 when there is none.
func Seconds(path string) float64 {
	st, err := ReadState[noConfig](path)
	if err != nil {
		return 0
	}
	return st.Seconds
}

// noConfig reads a State whatever its settings.
type noConfig struct{}

// Remove deletes the files names of dir that exist, so that the next run
// starts afresh.
func Remove(dir string, names ...string) error {
	for _, f := range names {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("train: %w", err)
		}
	}
	return nil
}
