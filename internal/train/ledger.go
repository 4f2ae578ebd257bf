package train

import (
	"fmt"
	"time"
)

// ledger splits a run's time between the steps, setup, validation and
// checkpoints, for the summary a run closes with: the steps' rate is what
// training achieves end to end, and their time waiting for inputs says
// how much of the input pipeline (decoding, augmentation, batching) the
// steps' compute did not hide. The run's first step, which compiles the
// step's graph, is timed apart from the rate.
type ledger struct {
	steps                            int
	first                            time.Duration
	inSteps, inSetup, inVal, inSaves time.Duration
}

func (t *ledger) step(run func(int) (string, error), i int) (string, error) {
	start := time.Now()
	status, err := run(i)
	if t.steps == 0 {
		t.first = time.Since(start)
	} else {
		t.inSteps += time.Since(start)
	}
	t.steps++
	return status, err
}

func (t *ledger) setup(run func(int) error, i int) error {
	if run == nil {
		return nil
	}
	start := time.Now()
	defer func() { t.inSetup += time.Since(start) }()
	return run(i)
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
	rate := ""
	if t.steps > 1 {
		rate = fmt.Sprintf("%.1f img/s after the first", float64((t.steps-1)*max(l.Batch, 1))/t.inSteps.Seconds())
		if l.InputWait != nil {
			rate += fmt.Sprintf(", %.1f%% of all waiting for inputs", 100*l.InputWait().Seconds()/(t.first+t.inSteps).Seconds())
		}
		rate += "; "
	}
	setup := ""
	if t.inSetup > 0 {
		setup = fmt.Sprintf(", setup %.1fs", t.inSetup.Seconds())
	}
	fmt.Fprintf(l.Out, "%s: %d steps in %s (%sfirst step %.1fs, compiling)%s; validation %s, checkpoints %s\n",
		l.Name, t.steps, (t.first + t.inSteps).Round(time.Second), rate, t.first.Seconds(), setup,
		t.inVal.Round(time.Second), t.inSaves.Round(time.Second))
}
