#!/usr/bin/env bash
# irgen's defaults on collections they were not tuned on (issue #12).
#
# Usage: bench/collections.sh [OUT]   (default runs/collections)
#
# Builds three collections from what Debian ships (bench/collections: 5,000
# Fashion-MNIST images as class folders of PNGs, the 5,000 digits of
# OpenCV's digits.png as class folders, 2,000 images of 20 classes from
# both as a CSV manifest), indexes each with 'irgen index' and every
# default (a finished model is kept; an interrupted one resumes), evaluates
# irgen, irgen-gen, knn and rqtree on its queries and prints one table.
# Use the ONNX Runtime backend for speed (README, Backends): GOMLX_BACKEND=
# onnx:cpu with a binary built with -tags onnx; IRGEN names the binary
# (default bin/irgen). ONLY=NAME runs one collection; NAMES="fm10k" times
# 'irgen index' on 10,000 Fashion-MNIST images as class folders.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/collections}
irgen=${IRGEN:-bin/irgen}
if [ ! -x "$irgen" ]; then
  GOEXPERIMENT=simd go build -o "$irgen" ./cmd/irgen
fi
need=()
[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
[ -e /usr/share/doc/opencv-doc/examples/data/digits.png ] || need+=(opencv-doc)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}"
fi
data="$out/data"
[ -e "$data/mix2k/manifest.csv" ] && [ -e "$data/fm10k" ] || go run ./bench/collections -out "$data"

declare -A source=([fm5k]="$data/fm5k" [digits5k]="$data/digits5k" [mix2k]="$data/mix2k/manifest.csv" [fm10k]="$data/fm10k")
args=()
for name in ${NAMES:-fm5k digits5k mix2k}; do
  [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && continue
  model="$out/$name"
  start=$(date +%s)
  "$irgen" index "${source[$name]}" --out "$model" 2> >(grep --line-buffered -v '^\(tokenizer\|decoder\|assign\|eval\) .*ETA' >&2)
  echo "collections: $name indexed in $(( $(date +%s) - start )) s (this run)" >&2
  "$irgen" eval --model "$model" --method irgen,irgen-gen,knn,rqtree --json >"$model/eval.json"
  args+=("$name=$model/eval.json")
done
"$irgen" table --markdown "${args[@]}"
