#!/usr/bin/env bash
# Training end to end against the step alone: the tokenizer's and the
# decoder's img/s in 'irgen train-tokenizer' / 'irgen train-decoder' on
# Fashion-MNIST (their closing line: time in steps only, inputs decoded,
# augmented and batched a step ahead) and in the TrainStep benchmarks of
# their packages (inputs made once), the two taking turns ROUNDS times
# (default 3) on the backend GOMLX_BACKEND names (default onnx:cpu, built
# with -tags onnx). STEPS optimizer steps per run, end to end and in the
# benchmark alike (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOEXPERIMENT=simd GOMLX_BACKEND=${GOMLX_BACKEND:-onnx:cpu}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-200}
tags=""
[[ $GOMLX_BACKEND == onnx* ]] && tags="-tags onnx"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086
go build $tags -o "$work/irgen" ./cmd/irgen
# shellcheck disable=SC2086
go test $tags -c -o "$work/tokenizer.test" ./internal/tokenizer
# shellcheck disable=SC2086
go test $tags -c -o "$work/decoder.test" ./internal/decoder

rate() { sed -n 's/.* steps in .*(\([0-9.]*\) img\/s.*/\1/p' | tail -n1; }
bench() { "$1" -test.run '^$' -test.bench "$2" -test.benchtime "${STEPS}x" | sed -n 's/.* \([0-9.]*\) img\/s.*/\1/p'; }

model=$work/model
"$work/irgen" train-tokenizer --out "$model" --steps "$STEPS" --val 0 --quantize-after 0 >/dev/null 2>&1
"$work/irgen" assign --model "$model" >/dev/null 2>&1
for round in $(seq "$ROUNDS"); do
	tok=$("$work/irgen" train-tokenizer --out "$work/tok$round" --steps "$STEPS" --val 0 --quantize-after 0 2>&1 | rate)
	tokstep=$(bench "$work/tokenizer.test" TrainStep)
	dec=$("$work/irgen" train-decoder --model "$model" --fresh --dec-steps "$STEPS" --dec-val 0 2>&1 | rate)
	decstep=$(bench "$work/decoder.test" 'TrainStep/encoder-lr-mult=0$')
	echo "round $round: tokenizer end to end $tok img/s, step alone $tokstep; decoder end to end $dec, step alone $decstep"
	rm -rf "$work/tok$round"
done
