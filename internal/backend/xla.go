//go:build xla

package backend

import (
	// Registers the "xla" backend and its aliases. The package uses cgo with
	// its own copy of the PJRT headers and dlopens the PJRT plugin at run
	// time, so building needs a C compiler but no XLA library.
	_ "github.com/gomlx/go-xla/compute/xla"
)

func init() {
	h := func() string {
		return " (the PJRT CPU plugin must be installed; go-xla's auto-install downloads it, which fails without internet)"
	}
	for _, name := range []string{"xla", "stablehlo", "shlo", "hlo"} {
		hints[name] = h
	}
}
