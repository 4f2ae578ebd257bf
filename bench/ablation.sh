#!/usr/bin/env bash
# The ablations of seed 000 on Fashion-MNIST: ID length M in {2,4,6,8}
# (its Table 1) and the tokenizer trained without the partial-reconstruction
# loss (its Table 3), each a full index (tokenizer, IDs, decoder) at a
# reduced budget, evaluated on the first QUERIES queries. Prints a Markdown
# table and writes it to $OUT/ablation.md. Interrupted runs resume.
#   EPOCHS=3 DEC_EPOCHS=1 QUERIES=2000 bench/ablation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-3}
DEC_EPOCHS=${DEC_EPOCHS:-1}
QUERIES=${QUERIES:-2000}
OUT=${OUT:-runs/ablation}
BIN=${BIN:-bin/irgen}
if [ ! -x "$BIN" ]; then
  mkdir -p bin
  GOEXPERIMENT=simd go build -o bin/irgen ./cmd/irgen
  BIN=bin/irgen
fi
mkdir -p "$OUT"
args=()
for cfg in "M=2:--m 2" "M=4:--m 4" "M=6:--m 6" "M=8:--m 8" "M=4,no-rec:--m 4 --rq-weight 0"; do
  name=${cfg%%:*}
  flags=${cfg#*:}
  dir="$OUT/$(echo "$name" | tr '=,' '-_')"
  # shellcheck disable=SC2086
  "$BIN" index fashion-mnist --out "$dir" --epochs "$EPOCHS" --dec-epochs "$DEC_EPOCHS" $flags
  "$BIN" eval --model "$dir" --queries "$QUERIES" --json > "$dir.json"
  args+=("$name=$dir.json")
done
{
  echo "Ablations on Fashion-MNIST ($(date -u +%F), $(uname -m), $(nproc) CPUs, backend ${GOMLX_BACKEND:-go}):"
  echo "tokenizer $EPOCHS epochs, decoder $DEC_EPOCHS epochs, first $QUERIES queries, gallery 60,000."
  echo
  "$BIN" table --markdown "${args[@]}"
} | tee "$OUT/ablation.md"
