package cli

// ViT-DSI (seed 002): methods dsi and dsi-zeroshot.
import _ "github.com/irgen/irgen/internal/baseline/dsi"
