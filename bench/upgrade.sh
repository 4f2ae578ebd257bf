#!/usr/bin/env bash
# Before/after rows for a GoMLX upgrade on the pure-Go backend: builds
# bench/perf from this tree as it is and from a copy with the modules of
# MODULES upgraded (default compute v0.1.6), then times the encoder rows of
# bench/run.sh with the two binaries taking turns, ROUNDS times (default 4).
# Prints one line a measurement and, per row, the median of each side and
# their ratio (after/before; below 1, the upgrade is faster).
#   MODULES="github.com/gomlx/gomlx@v0.28.3" bash bench/upgrade.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export GOEXPERIMENT=simd
MODULES=${MODULES:-github.com/gomlx/compute@v0.1.6}
ROUNDS=${ROUNDS:-4}
ITERS=${ITERS:-3}
ROWS=${ROWS:-"tiny:8:forward tiny:8:train mini-hybrid:128:forward mini-hybrid:128:train"}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/before" ./bench/perf
mkdir -p "$work/src"
git ls-files -z | xargs -0 cp --parents -t "$work/src"
# shellcheck disable=SC2086
(cd "$work/src" && go get $MODULES && go build -o "$work/after" ./bench/perf)
for side in before after; do
	echo "$side: $("$work/$side" -mode versions | tail -n1)"
done

out=$work/rows
for round in $(seq "$ROUNDS"); do
	for row in $ROWS; do
		IFS=: read -r size batch phase <<<"$row"
		for side in before after; do
			ms=$("$work/$side" -mode encoder -size "$size" -batch "$batch" -phase "$phase" -iters "$ITERS" 2>/dev/null |
				tail -n1 | sed -n 's/.*"ms":\([0-9.]*\).*/\1/p')
			echo "round $round $side $size×$batch $phase $ms ms"
			echo "$size×$batch $phase $side $ms" >>"$out"
		done
	done
done

echo "median of $ROUNDS rounds (ms): row, before, after, after/before"
for row in $ROWS; do
	IFS=: read -r size batch phase <<<"$row"
	med() { grep "^$size×$batch $phase $1 " "$out" | cut -d' ' -f4 | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
	b=$(med before) a=$(med after)
	echo "$size×$batch $phase $b $a $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}')"
done
