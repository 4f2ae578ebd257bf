// Package train is the one training skeleton of irgen's models (tokenizer,
// decoder, IRT, MRL): Budget sizes a run in steps, Batches orders the
// images of each epoch, Loop drives the steps with validation, early stop
// and a progress line with rate and ETA, and Run records the run in the
// model's directory — State, resume, settings check, checkpoints, best
// weights — so that an interrupted run continues where it stopped. A
// model supplies its step.
package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress prints one status line for a long job. On a terminal the line
// is redrawn in place; otherwise (logs, CI) a line is printed every Every.
type Progress struct {
	Name  string
	Total int    // total units of work, for the percentage and ETA
	Unit  string // what a unit is, for the rate: "img", "step"
	Out   io.Writer
	Every time.Duration

	start     time.Time
	startDone int
	last      time.Time
	tty       bool
}

// NewProgress starts a progress line at done of total units.
func NewProgress(out io.Writer, name string, total, done int, unit string) *Progress {
	p := &Progress{Name: name, Total: total, Unit: unit, Out: out, Every: 10 * time.Second,
		start: time.Now(), startDone: done}
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
			p.Every = 200 * time.Millisecond
		}
	}
	return p
}

// Update reports that done units are finished; extra is appended (losses).
func (p *Progress) Update(done int, extra string) {
	now := time.Now()
	if now.Sub(p.last) < p.Every && done < p.Total {
		return
	}
	p.last = now
	fmt.Fprint(p.Out, p.line(done, now, extra))
}

// Done prints the final line.
func (p *Progress) Done(done int, extra string) {
	p.last = time.Time{}
	fmt.Fprint(p.Out, p.line(done, time.Now(), extra))
	if p.tty {
		fmt.Fprintln(p.Out)
	}
}

func (p *Progress) line(done int, now time.Time, extra string) string {
	elapsed := now.Sub(p.start)
	rate := float64(done-p.startDone) / elapsed.Seconds()
	eta := "?"
	if rate > 0 && done <= p.Total {
		eta = (time.Duration(float64(p.Total-done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 100 * float64(done) / float64(max(p.Total, 1))
	var b strings.Builder
	if p.tty {
		b.WriteString("\r\033[K")
	}
	fmt.Fprintf(&b, "%s %d/%d %3.0f%% | %.1f %s/s | ETA %s | elapsed %s", p.Name, done, p.Total, pct, rate, p.Unit, eta,
		elapsed.Round(time.Second))
	if extra != "" {
		b.WriteString(" | " + extra)
	}
	if !p.tty {
		b.WriteString("\n")
	}
	return b.String()
}
