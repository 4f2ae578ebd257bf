// Package nn holds the GoMLX building blocks shared by irgen's models: dense
// and normalization layers, multi-head attention, activations, deterministic
// parameter initialization and an AdamW optimizer with per-scope learning-rate
// multipliers.
//
// Parameters are named after the canonical layout of package weights
// ("kernel" is [in, out], "bias" is [out], layer norms have "gain" and
// "bias"), so pretrained weights can be loaded by name.
package nn
