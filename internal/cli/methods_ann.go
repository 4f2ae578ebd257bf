package cli

// HNSW over the tokenizer's features: the engine method "hnsw".
import _ "github.com/irgen/irgen/internal/baseline/ann"
