#!/usr/bin/env bash
# The main job on a fresh machine: installs the default data set when it is
# missing, builds irgen and runs the whole pipeline on Fashion-MNIST
# (tokenizer, IDs, decoder, evaluation of every method), printing the result
# table. An interrupted run resumes.
#
# It uses the ONNX Runtime backend (about 4x faster on CPU) when npm and a C
# compiler are there to install and link it, else the pure-Go backend.
# IRGEN_BACKEND=go forces the pure-Go one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${IRGEN_FASHION_MNIST_DIR:-}" ]; then
  echo "quickstart: installing Debian's dataset-fashion-mnist" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq dataset-fashion-mnist
fi
mkdir -p bin
if [ "${IRGEN_BACKEND:-}" != go ] && command -v npm >/dev/null && command -v gcc >/dev/null \
  && lib=$(scripts/install-onnxruntime.sh) && GOEXPERIMENT=simd go build -tags onnx -o bin/irgen ./cmd/irgen; then
  export ONNXRUNTIME_SHARED_LIBRARY_PATH="$lib" GOMLX_NO_AUTO_INSTALL=1 GOMLX_BACKEND=${GOMLX_BACKEND:-onnx:cpu}
else
  echo "quickstart: using the pure-Go backend" >&2
  GOEXPERIMENT=simd go build -o bin/irgen ./cmd/irgen
fi
exec bin/irgen run "$@"
