#!/usr/bin/env bash
# Every seed system on one model, one table (issue #5).
#
# Usage: bench/seed-systems.sh [MODEL]   (default runs/fm)
#
# MODEL must hold a trained tokenizer with its gallery assigned; a missing
# decoder is trained. The script then trains or builds, on the same model
# and data, each of the other seed systems: the HNSW graph over the
# tokenizer's features (hnsw), BoVW (seed 002 §3.1), Matryoshka (seed 004),
# IRT (seed 003) and ViT-DSI (seed 002), and evaluates every method the
# model then supports with the same command, printing one table. A stage
# that finished is recorded with its time in MODEL/seed-systems.times and
# skipped when the script runs again (FORCE=1 reruns all); an interrupted
# one resumes from its checkpoint. Seed 004's own metrics (eval-mrl) and
# ViT-DSI's Indexing Accuracy follow.
#
# Budgets (environment): MRL_EPOCHS (2), IRT_ITERS (2000), DSI_INDEX_EPOCHS
# (3), DSI_RETRIEVAL_EPOCHS (2), QUERIES (0 = all). Use the ONNX Runtime
# backend for speed: GOMLX_BACKEND=onnx:cpu with a binary built with
# -tags onnx (README, Backends); IRGEN names the binary (default bin/irgen).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-runs/fm}
irgen=${IRGEN:-bin/irgen}
queries=${QUERIES:-0}
if [ ! -x "$irgen" ]; then
  GOEXPERIMENT=simd go build -o "$irgen" ./cmd/irgen
fi
if [ ! -e "$model/gallery.bin" ]; then
  echo "seed-systems: $model has no assigned gallery; run 'irgen index' or train-tokenizer and assign first" >&2
  exit 2
fi

times="$model/seed-systems.times"
[ "${FORCE:-0}" = 1 ] && rm -f "$times"
touch "$times"
stage() {
  local name=$1
  shift
  if grep -q "^$name " "$times"; then
    echo "== $name: done before ($(grep "^$name " "$times" | cut -d' ' -f2) s), skipped" >&2
    return
  fi
  echo "== $name: $*" >&2
  local t0=$SECONDS
  "$@"
  echo "== $name took $((SECONDS - t0)) s" >&2
  echo "$name $((SECONDS - t0))" >>"$times"
}

stage decoder "$irgen" train-decoder --model "$model"
stage hnsw "$irgen" build-hnsw --model "$model"
stage bovw "$irgen" train-bovw --model "$model"
stage mrl "$irgen" train-mrl --model "$model" --epochs "${MRL_EPOCHS:-2}"
stage irt "$irgen" train-irt --model "$model" --max-iter "${IRT_ITERS:-2000}"
stage dsi "$irgen" train-dsi --model "$model" \
  --index-epochs "${DSI_INDEX_EPOCHS:-3}" --retrieval-epochs "${DSI_RETRIEVAL_EPOCHS:-2}"

out="$model/eval-all.jsonl"
"$irgen" eval --model "$model" --method all --queries "$queries" --json >"$out.tmp"
mv "$out.tmp" "$out"
echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
  "backend ${GOMLX_BACKEND:-go}; data: $(basename "$model"); $(date -u +%F)"
"$irgen" table --markdown "$out"
echo
echo "Seed 004's metrics (Matryoshka):"
"$irgen" eval-mrl --model "$model" --queries "$queries"
echo
echo "Seed 002's Indexing Accuracy (ViT-DSI):"
"$irgen" dsi-indexing-acc --model "$model"
echo
echo "Stage times (s):"
cat "$times"
