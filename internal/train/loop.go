package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// ErrInterrupted is returned when the context is cancelled: the loop has
// saved a checkpoint and a new run resumes from it.
var ErrInterrupted = errors.New("train: interrupted; rerun the same command to resume")

// ErrNotReady is returned by a Validate that cannot score the model yet
// (the tokenizer before its codebooks exist): the check is skipped and
// does not count against patience.
var ErrNotReady = errors.New("train: the model cannot be validated yet")

// Loop drives Steps steps of Step, starting after the Start steps already
// done (resume). It saves with Save every SaveEvery, at the end, and when
// ctx is cancelled.
//
// With Validate set, it scores the model on held-out data every ValidEvery
// steps and after the last one, keeps the best-scoring weights with
// SaveBest, and stops early once Patience validations in a row brought no
// new best. Best carries that record across resumed runs.
type Loop struct {
	Name      string
	Steps     int
	Start     int
	Batch     int // images per step, for the rate
	SaveEvery time.Duration
	Out       io.Writer

	// Step runs step number i (0-based) and returns a short status.
	Step func(i int) (status string, err error)
	// Setup, when set, runs before step i: one-off work that step needs
	// first (the tokenizer's codebooks), timed apart from the steps.
	Setup func(i int) error
	// InputWait, when set, returns how long the steps have waited for
	// their inputs so far (Ahead.Waited), for the closing summary.
	InputWait func() time.Duration
	// Save records that steps [0, done) are finished; done < Steps after
	// an early stop means the run is over all the same (Best.Stopped).
	Save func(done int) error

	// Validate returns a score of the current model (higher is better)
	// and a short status.
	Validate   func() (score float64, status string, err error)
	ValidEvery int
	// Patience is the number of validations in a row without a new best
	// after which training stops; 0 never stops early.
	Patience int
	// Target, when positive, stops training once a validation scores at
	// least Target: the model has converged (e.g. memorized its gallery).
	Target float64
	// SaveBest keeps the current weights as the best so far.
	SaveBest func() error
	// Best is the validation record, updated in place; required with
	// Validate.
	Best *Best
}

// Best records the validations of a run.
type Best struct {
	Score float64 `json:"score"`
	// Step is the number of steps done when the best score was measured;
	// 0 means no validation yet.
	Step int `json:"step"`
	// Stale counts the validations since the best one.
	Stale int `json:"stale"`
	// Stopped is the step at which training stopped early, 0 if it did not.
	Stopped int `json:"stopped,omitempty"`
}

// Run runs the loop.
func (l *Loop) Run(ctx context.Context) error {
	if l.SaveEvery == 0 {
		l.SaveEvery = 5 * time.Minute
	}
	if l.Validate != nil && (l.Best == nil || l.SaveBest == nil || l.ValidEvery <= 0) {
		return fmt.Errorf("train: %s: validation needs Best, SaveBest and ValidEvery > 0", l.Name)
	}
	unit := max(l.Batch, 1)
	p := NewProgress(l.Out, l.Name, l.Steps*unit, l.Start*unit, "img")
	lastSave := time.Now()
	status := ""
	var t ledger
	defer func() { t.report(l) }()
	for i := l.Start; i < l.Steps; i++ {
		if ctx.Err() != nil {
			if err := l.Save(i); err != nil {
				return fmt.Errorf("train: save on interrupt: %w", err)
			}
			p.Done(i*unit, status)
			return ErrInterrupted
		}
		if err := t.setup(l.Setup, i); err != nil {
			return fmt.Errorf("train: %s before step %d: %w", l.Name, i, err)
		}
		var err error
		if status, err = t.step(l.Step, i); err != nil {
			return fmt.Errorf("train: %s step %d: %w", l.Name, i, err)
		}
		p.Update((i+1)*unit, status)
		if l.due(i + 1) {
			stop, err := t.validate(l, i+1)
			if err != nil {
				return err
			}
			if stop {
				fmt.Fprintf(l.Out, "%s: stopped at step %d of %d: %s (best %.4f at step %d)\n",
					l.Name, i+1, l.Steps, l.stopReason(), l.Best.Score, l.Best.Step)
				p.Done((i+1)*unit, status)
				return t.save(l, i+1)
			}
		}
		if time.Since(lastSave) > l.SaveEvery && i+1 < l.Steps {
			if err := t.save(l, i+1); err != nil {
				return fmt.Errorf("train: checkpoint: %w", err)
			}
			lastSave = time.Now()
		}
	}
	p.Done(l.Steps*unit, status)
	return t.save(l, l.Steps)
}

// stopReason says why validation stopped training.
func (l *Loop) stopReason() string {
	if l.Target > 0 && l.Best.Score >= l.Target {
		return fmt.Sprintf("validation score reached the target %g", l.Target)
	}
	return fmt.Sprintf("no better validation score in %d checks", l.Patience)
}

// due reports whether a validation falls after done steps.
func (l *Loop) due(done int) bool {
	return l.Validate != nil && (done%l.ValidEvery == 0 || done == l.Steps)
}

// validate scores the model after done steps, keeps it when it is the best
// so far and reports whether training should stop.
func (l *Loop) validate(done int) (stop bool, err error) {
	score, status, err := l.Validate()
	if errors.Is(err, ErrNotReady) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("train: %s validation at step %d: %w", l.Name, done, err)
	}
	b := l.Best
	mark := ""
	if b.Step == 0 || score > b.Score {
		if err := l.SaveBest(); err != nil {
			return false, fmt.Errorf("train: %s: save best: %w", l.Name, err)
		}
		b.Score, b.Step, b.Stale = score, done, 0
		mark = " (best)"
	} else {
		b.Stale++
	}
	fmt.Fprintf(l.Out, "%s: validation at step %d: %s%s\n", l.Name, done, status, mark)
	reached := l.Target > 0 && score >= l.Target
	if (reached || l.Patience > 0 && b.Stale >= l.Patience) && done < l.Steps {
		b.Stopped = done
		return true, nil
	}
	return false, nil
}

// Exec runs a compiled training step and returns its scalar outputs
// (loss, accuracy, learning rate, …), releasing the tensors.
func Exec(exec *model.Exec, args ...any) ([]float32, error) {
	out, err := exec.Exec(args...)
	if err != nil {
		return nil, err
	}
	v := make([]float32, len(out))
	for k, t := range out {
		v[k] = tensors.ToScalar[float32](t)
		t.FinalizeAll()
	}
	return v, nil
}

// ExecKeep runs a compiled training step whose last keep outputs are not
// scalars (embeddings for a memory, say). It frees the inputs at once
// (large ones are backend buffers whose size the Go collector does not
// see) and returns the values of the scalar outputs, releasing them, and
// the last keep outputs, which the caller frees.
func ExecKeep(exec *model.Exec, keep int, in ...*tensors.Tensor) ([]float32, []*tensors.Tensor, error) {
	args := make([]any, len(in))
	for i, t := range in {
		args[i] = t
	}
	out, err := exec.Exec(args...)
	for _, t := range in {
		t.FinalizeAll()
	}
	if err != nil {
		return nil, nil, err
	}
	if keep < 0 || keep > len(out) {
		for _, t := range out {
			t.FinalizeAll()
		}
		return nil, nil, fmt.Errorf("train: keep %d of %d outputs", keep, len(out))
	}
	n := len(out) - keep
	v := make([]float32, n)
	for k, t := range out[:n] {
		v[k] = tensors.ToScalar[float32](t)
		t.FinalizeAll()
	}
	return v, out[n:], nil
}
