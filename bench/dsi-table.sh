#!/usr/bin/env bash
# Seed 002's Table 1 grid (issue #17): ViT-DSI zero-shot and fine-tuned,
# clustered (by class) and random numeric IDs, on databases of 512, 1,024
# and 2,048 Fashion-MNIST test images, beside BoVW and IRGen on the same
# databases and queries; prints the table next to the seed's numbers.
#
# Usage: bench/dsi-table.sh [OUT]   (default runs/dsigrid)
#
# bench/dsigrid draws each database (the indexed gallery) and a retrieval
# set of 0.75·N other images, split 0.8 / 0.1 / 0.1 into fine-tuning,
# validation and test queries. Per size: 'irgen index' (IRGen with every
# default: its tokenizer is also ViT-DSI's starting encoder), 'train-bovw',
# then per ID scheme a copy of the model with 'train-dsi' (indexing until
# IA@1 ≥ 0.99 on the whole database, then at most 75 retrieval epochs, the
# seed's, keeping the best held-out P@10), 'dsi-indexing-acc' on every
# database image, and 'eval' at K 1,10,100, MAP@10, on the first 10 test
# queries (the seed's) and on all of them. Finished steps are kept; an
# interrupted one resumes. Use the ONNX Runtime backend for speed (README,
# Backends); IRGEN names the binary (default bin/irgen). SIZES="512" runs
# fewer sizes; DSI_ARGS adds train-dsi flags (e.g. "--index-max-steps 6400"
# to bound the indexing phase).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/dsigrid}
irgen=${IRGEN:-bin/irgen}
[ -x "$irgen" ] || GOEXPERIMENT=simd go build -o "$irgen" ./cmd/irgen
[ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist
}
[ -e "$out/data/dsi2048.csv" ] || go run ./bench/dsigrid -out "$out/data"
quiet() { grep --line-buffered -v ' ETA ' >&2 || true; }
evals() { # MODEL METHODS: eval-10.json and eval-all.json
  "$irgen" eval --model "$1" --method "$2" --k 1,10,100 --map-k 10 --queries 10 --json > "$1/eval-10.json"
  "$irgen" eval --model "$1" --method "$2" --k 1,10,100 --map-k 10 --json > "$1/eval-all.json"
}
for n in ${SIZES:-512 1024 2048}; do
  m="$out/m$n"
  start=$(date +%s)
  "$irgen" index "$out/data/dsi$n.csv" --out "$m" 2> >(quiet)
  "$irgen" train-bovw --model "$m" 2> >(quiet)
  evals "$m" irgen,knn,bovw
  echo "dsi-table: $n: IRGen and BoVW in $(( $(date +%s) - start )) s (this run)" >&2
  for ids in label random; do
    d="$m-$ids"
    [ -d "$d" ] || { cp -r "$m" "$d.tmp" && mv "$d.tmp" "$d"; }
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$irgen" train-dsi --model "$d" --ids "$ids" --retrieval-epochs 75 --retrieval-patience 0 --ia-sample 0 ${DSI_ARGS:-} 2> >(quiet)
    "$irgen" dsi-indexing-acc --model "$d" --sample 0 --json > "$d/ia.json"
    evals "$d" dsi,dsi-zeroshot
    echo "dsi-table: $n $ids: ViT-DSI in $(( $(date +%s) - start )) s (this run)" >&2
  done
done
go run ./bench/dsigrid -table "$out"
