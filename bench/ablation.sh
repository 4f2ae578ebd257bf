#!/usr/bin/env bash
# The ablations of seed 000 on Fashion-MNIST: ID length M in {2,4,6,8}
# (its Table 1) and the tokenizer trained without the partial-reconstruction
# loss (its Table 3), each a full index (tokenizer, IDs, decoder) trained
# on the first LIMIT training images (the gallery is all 60,000) with the
# budgets 'irgen index' chooses for that many (EPOCHS / DEC_EPOCHS, when
# set, instead), evaluated on the first QUERIES queries. Prints a Markdown
# table and writes it to $OUT/ablation.md. Interrupted runs resume. EXTRA
# adds flags to every 'irgen index'; the table of 2026-11-23, made before
# step budgets and validation, is reproduced with LIMIT=10000 EPOCHS=4
# DEC_EPOCHS=2 EXTRA="--min-steps 0 --dec-min-steps 0 --val 0 --dec-val 0"
# (its irgen rows are the method now called irgen-gen).
#   LIMIT=10000 QUERIES=1000 bench/ablation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-20000}
EPOCHS=${EPOCHS:-}
DEC_EPOCHS=${DEC_EPOCHS:-}
QUERIES=${QUERIES:-1000}
OUT=${OUT:-runs/ablation}
BIN=${BIN:-bin/irgen}
if [ ! -x "$BIN" ]; then
  mkdir -p bin
  GOEXPERIMENT=simd go build -o bin/irgen ./cmd/irgen
  BIN=bin/irgen
fi
mkdir -p "$OUT"
budget=()
[ -n "$EPOCHS" ] && budget+=(--epochs "$EPOCHS")
[ -n "$DEC_EPOCHS" ] && budget+=(--dec-epochs "$DEC_EPOCHS")
args=()
for cfg in "M=2:--m 2" "M=4:--m 4" "M=6:--m 6" "M=8:--m 8" "M=4,no-rec:--m 4 --rq-weight 0"; do
  name=${cfg%%:*}
  flags=${cfg#*:}
  dir="$OUT/$(echo "$name" | tr '=,' '-_')"
  # shellcheck disable=SC2086
  "$BIN" index fashion-mnist --out "$dir" --limit "$LIMIT" "${budget[@]}" $flags ${EXTRA:-}
  "$BIN" eval --model "$dir" --queries "$QUERIES" --json > "$dir.json"
  args+=("$name=$dir.json") # the table command splits at the last "="
done
{
  echo "Ablations on Fashion-MNIST ($(date -u +%F), $(uname -m), $(nproc) CPUs, backend ${GOMLX_BACKEND:-go}):"
  echo "tokenizer and decoder trained on the first $LIMIT training images (budgets: ${budget[*]:-irgen index defaults}), gallery 60,000, first $QUERIES queries."
  echo
  "$BIN" table --markdown "${args[@]}"
} | tee "$OUT/ablation.md"
