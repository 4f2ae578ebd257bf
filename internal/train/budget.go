package train

import "fmt"

// Budget sizes a run in optimizer steps from the collection: Epochs passes
// over the training images, but never fewer than MinSteps nor more than
// MaxSteps (0 = no bound), so that a small collection still gets enough
// updates and a large one a bounded time. Steps, when positive, overrides
// the rule.
type Budget struct {
	Epochs   float64 `json:"epochs"`
	MinSteps int     `json:"min_steps"`
	MaxSteps int     `json:"max_steps"`
	Steps    int     `json:"steps"`
}

// For returns the number of steps for n training images in batches of
// batch. It fails when n is smaller than one batch.
func (b Budget) For(n, batch int) (int, error) {
	if batch <= 0 || n < batch {
		return 0, fmt.Errorf("train: %d training images, fewer than a batch of %d (lower --batch)", n, batch)
	}
	if b.Steps > 0 {
		return b.Steps, nil
	}
	if b.Epochs <= 0 {
		return 0, fmt.Errorf("train: budget of %g epochs, want > 0", b.Epochs)
	}
	steps := int(b.Epochs * float64(n/batch))
	steps = max(steps, b.MinSteps, 1)
	if b.MaxSteps > 0 {
		steps = min(steps, max(b.MaxSteps, b.MinSteps))
	}
	return steps, nil
}
