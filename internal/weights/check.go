package weights

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Check reports whether v is usable by the encoder: a sane Arch and every
// canonical parameter present with the shape the Arch implies. Parameters
// the Arch does not call for are allowed. All problems are reported,
// joined, in name order.
func (v *ViT) Check() error {
	if v == nil {
		return fmt.Errorf("%w: nil vit", ErrMissing)
	}
	if err := v.Arch.check(); err != nil {
		return err
	}
	shapes := v.Arch.Shapes()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		want := shapes[name]
		t, ok := v.Params[name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%w %q", ErrMissing, name))
		case !slices.Equal(t.Shape, want):
			errs = append(errs, fmt.Errorf("%w: param %q has shape %v, want %v", ErrShape, name, t.Shape, want))
		case len(t.Data) != t.Len():
			errs = append(errs, fmt.Errorf("%w: param %q has %d values for shape %v", ErrShape, name, len(t.Data), t.Shape))
		}
	}
	return errors.Join(errs...)
}

// check validates the architecture fields.
func (a Arch) check() error {
	for _, f := range []struct {
		name string
		n    int
	}{
		{"patch", a.Patch}, {"channels", a.Channels}, {"dim", a.Dim},
		{"depth", a.Depth}, {"mlp dim", a.MLPDim}, {"num patches", a.NumPatches},
	} {
		if f.n <= 0 {
			return fmt.Errorf("%w: arch %s is %d, want > 0", ErrShape, f.name, f.n)
		}
	}
	if a.Heads < 0 || (a.Heads > 0 && a.Dim%a.Heads != 0) {
		return fmt.Errorf("%w: arch heads %d do not divide dim %d", ErrShape, a.Heads, a.Dim)
	}
	if a.ProjDim < 0 {
		return fmt.Errorf("%w: arch proj dim is %d", ErrShape, a.ProjDim)
	}
	if a.Activation != ActGELU && a.Activation != ActQuickGELU {
		return fmt.Errorf("%w: activation %q (want %q or %q)", ErrUnsupported, a.Activation, ActGELU, ActQuickGELU)
	}
	return nil
}
