package cli

// Matryoshka retrieval (seed 004): the methods mrl, mrl-adaptive,
// mrl-funnel and mrl-hnsw, available after 'irgen train-mrl'.
import _ "github.com/irgen/irgen/internal/baseline/mrl"
