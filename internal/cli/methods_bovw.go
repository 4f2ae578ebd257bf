package cli

// The bag-of-visual-words baseline (seed 002): the engine method "bovw".
import _ "github.com/irgen/irgen/internal/baseline/bovw"
