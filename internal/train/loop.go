package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrInterrupted is returned when the context is cancelled: the loop has
// saved a checkpoint and a new run resumes from it.
var ErrInterrupted = errors.New("train: interrupted; rerun the same command to resume")

// Loop drives Steps steps of Step, starting after the Start steps already
// done (resume). It saves with Save every SaveEvery, at the end, and when
// ctx is cancelled.
type Loop struct {
	Name      string
	Steps     int
	Start     int
	Batch     int // images per step, for the rate
	SaveEvery time.Duration
	Out       io.Writer

	// Step runs step number i (0-based) and returns a short status.
	Step func(i int) (status string, err error)
	// Save records that steps [0, done) are finished.
	Save func(done int) error
}

// Run runs the loop.
func (l *Loop) Run(ctx context.Context) error {
	if l.SaveEvery == 0 {
		l.SaveEvery = 5 * time.Minute
	}
	p := NewProgress(l.Out, l.Name, l.Steps*max(l.Batch, 1), l.Start*max(l.Batch, 1), "img")
	lastSave := time.Now()
	status := ""
	for i := l.Start; i < l.Steps; i++ {
		if ctx.Err() != nil {
			if err := l.Save(i); err != nil {
				return fmt.Errorf("train: save on interrupt: %w", err)
			}
			p.Done(i*max(l.Batch, 1), status)
			return ErrInterrupted
		}
		var err error
		if status, err = l.Step(i); err != nil {
			return fmt.Errorf("train: %s step %d: %w", l.Name, i, err)
		}
		p.Update((i+1)*max(l.Batch, 1), status)
		if time.Since(lastSave) > l.SaveEvery && i+1 < l.Steps {
			if err := l.Save(i + 1); err != nil {
				return fmt.Errorf("train: checkpoint: %w", err)
			}
			lastSave = time.Now()
		}
	}
	p.Done(l.Steps*max(l.Batch, 1), status)
	return l.Save(l.Steps)
}
