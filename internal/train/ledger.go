package train

import (
	"fmt"
	"time"
)

// ledger splits a run's time between the steps, validation and
// checkpoints, for the summary a run closes with: the steps' rate is what
// training achieves end to end, and their time waiting for inputs says
// how much of the input pipeline (decoding, augmentation, batching) the
// steps' compute did not hide.
type ledger struct {
	steps                   int
	inSteps, inVal, inSaves time.Duration
}

func (t *ledger) step(run func(int) (string, error), i int) (string, error) {
	start := time.Now()
	status, err := run(i)
	t.inSteps += time.Since(start)
	t.steps++
	return status, err
}

func (t *ledger) validate(l *Loop, done int) (bool, error) {
	start := time.Now()
	defer func() { t.inVal += time.Since(start) }()
	return l.validate(done)
}

func (t *ledger) save(l *Loop, done int) error {
	start := time.Now()
	defer func() { t.inSaves += time.Since(start) }()
	return l.Save(done)
}

// report writes the summary of the run's steps, if it made any.
func (t *ledger) report(l *Loop) {
	if t.steps == 0 || l.Out == nil {
		return
	}
	rate := float64(t.steps*max(l.Batch, 1)) / t.inSteps.Seconds()
	wait := ""
	if l.InputWait != nil {
		wait = fmt.Sprintf(", %.1f%% of it waiting for inputs", 100*l.InputWait().Seconds()/t.inSteps.Seconds())
	}
	fmt.Fprintf(l.Out, "%s: %d steps in %s (%.1f img/s%s); validation %s, checkpoints %s\n",
		l.Name, t.steps, t.inSteps.Round(time.Second), rate, wait, t.inVal.Round(time.Second), t.inSaves.Round(time.Second))
}
