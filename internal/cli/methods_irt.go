package cli

// IRT (seed 003): methods irt and irt-o.
import _ "github.com/irgen/irgen/internal/baseline/irt"
