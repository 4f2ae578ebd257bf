#!/usr/bin/env bash
# install-onnxruntime.sh installs the ONNX Runtime CPU shared library that
# the "onnx" GoMLX backend (github.com/gomlx/compute-onnx, build tag onnx)
# loads at run time, and prints its path.
#
# The library comes from the npm package onnxruntime-node, which ships
# libonnxruntime.so.1 for linux/x64 inside the package itself. The package's
# install script (which would download CUDA binaries) is never run.
#
# Usage:
#   scripts/install-onnxruntime.sh            # installs into third_party/onnxruntime
#   ORT_DIR=/some/dir scripts/install-onnxruntime.sh
#
# Then:
#   export ONNXRUNTIME_SHARED_LIBRARY_PATH="$(scripts/install-onnxruntime.sh)"
#   GOMLX_BACKEND=onnx:cpu go test -tags onnx ./...
#
# compute-onnx reads ONNXRUNTIME_SHARED_LIBRARY_PATH; without it, it looks in
# ~/.local/lib/onnxruntime and otherwise tries to download a release from the
# internet (set GOMLX_NO_AUTO_INSTALL=1 to forbid that).
#
# The script is idempotent: a second run finds the library and only prints
# its path. Progress goes to stderr; stdout is the path alone.
set -euo pipefail

version="${ORT_VERSION:-1.30.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${ORT_DIR:-$root/third_party/onnxruntime}"
libdir="$dir/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
lib="$libdir/libonnxruntime.so.1"
stamp="$dir/.version"

case "$(uname -s)/$(uname -m)" in
Linux/x86_64) ;;
*)
	echo "install-onnxruntime: only linux/x86_64 is supported, not $(uname -s)/$(uname -m)" >&2
	exit 1
	;;
esac

if [[ -f "$lib" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
	echo "$lib"
	exit 0
fi

command -v npm >/dev/null || {
	echo "install-onnxruntime: npm not found (apt-get install npm)" >&2
	exit 1
}

mkdir -p "$dir"
echo "install-onnxruntime: installing onnxruntime-node@$version into $dir" >&2
# --ignore-scripts: onnxruntime-node's postinstall would fetch CUDA binaries.
npm install --prefix "$dir" --ignore-scripts --no-save --no-package-lock \
	--no-audit --no-fund --loglevel=error \
	"onnxruntime-node@$version" >&2

if [[ ! -f "$lib" ]]; then
	echo "install-onnxruntime: $lib not found after install; the package has:" >&2
	find "$dir/node_modules/onnxruntime-node/bin" -name 'libonnxruntime*' >&2 || true
	exit 1
fi
echo "$version" >"$stamp"
echo "$lib"
