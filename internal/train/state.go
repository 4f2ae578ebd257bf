package train

import (
	"encoding/json"
	"os"
)

// State is what a training run records with each checkpoint, to resume
// and to report: its settings C, the steps done out of Steps, and the
// seconds spent over all resumed runs.
type State[C any] struct {
	Train   C       `json:"train"`
	Done    int     `json:"done_steps"`
	Steps   int     `json:"steps"`
	Seconds float64 `json:"seconds"`
	// Best is the validation record of runs that validate.
	Best Best `json:"best"`
}

// Finished reports whether the run is over: every step done, or stopped
// early by validation. A run of no steps (IRT_O: IRT without fine-tuning)
// is over once its state is recorded.
func (s State[C]) Finished() bool {
	return s.Done >= s.Steps || s.Best.Stopped > 0
}

// ReadState reads the State saved as JSON at path.
func ReadState[C any](path string) (State[C], error) {
	var st State[C]
	data, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}
