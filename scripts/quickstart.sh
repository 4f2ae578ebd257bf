#!/usr/bin/env bash
# The main job on a fresh machine: installs the default data set when it is
# missing, builds irgen with the SIMD matmul kernels and runs the whole
# pipeline on Fashion-MNIST (tokenizer, IDs, decoder, evaluation of every
# method), printing the result table. An interrupted run resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${IRGEN_FASHION_MNIST_DIR:-}" ]; then
  echo "quickstart: installing Debian's dataset-fashion-mnist" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq dataset-fashion-mnist
fi
mkdir -p bin
GOEXPERIMENT=simd go build -o bin/irgen ./cmd/irgen
exec bin/irgen run "$@"
