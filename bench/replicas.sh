#!/usr/bin/env bash
# The figures of the README's "Beyond one machine" section, each printed
# by a flag-gated test of internal/catalog/pgcat that starts its own
# PostgreSQL server (internal/pgtest):
#   propagation between two replica processes (p50/p99 of 500 adds and 500 deletes),
#   'irgen assign --catalog --shard' with 1 and 2 workers (MODEL, default runs/collections/fm5k),
#   compaction of a change log of COMPACT rows (default 3M),
#   bytes per image in a replica's memory and in PostgreSQL (SIZES, default 1M and 10M synthetic images;
#   10M needs ~17 GiB of memory and ~7 GB of disk).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOEXPERIMENT=simd
bin=$(mktemp -d)/irgen
go build -o "$bin" ./cmd/irgen
go test ./internal/catalog/pgcat -run 'TestPropagationLatency$' -latency "${LATENCY:-500}" -v -count=1
go test ./internal/catalog/pgcat -run 'TestAssignThroughput$' -assign-model "$PWD/${MODEL:-runs/collections/fm5k}" \
  -assign-wd "$PWD" -assign-bin "$bin" -v -count=1 -timeout 60m
go test ./internal/catalog/pgcat -run 'TestSizing$' -sizing "${SIZES:-1000000,10000000}" -v -count=1 -timeout 60m
go test ./internal/catalog/pgcat -run 'TestCompactSpeed$' -compact "${COMPACT:-3000000}" -v -count=1
