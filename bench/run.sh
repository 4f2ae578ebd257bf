#!/usr/bin/env bash
# bench/run.sh: irgen side by side with PyTorch and FAISS on the same data
# and shapes (issue #6). One command:
#
#   bench/run.sh                # full run; see docs/performance.md
#   QUICK=1 bench/run.sh        # tiny smoke run (sizes, iterations cut)
#
# It installs the peers from Debian when missing (python3-torch,
# python3-faiss; run with /usr/bin/python3) with an optimized BLAS
# (libopenblas0-pthread: the peers' default, Debian's reference libblas3,
# made them 16 to 30 times slower, issue #15) and ONNX Runtime with
# scripts/install-onnxruntime.sh, builds bench/perf, then runs every
# measurement in its own process (so that each peak RSS is its own):
#
#   encoder   ViT forward and AdamW train step, irgen (each backend) and
#             PyTorch; the same ViT's matmuls alone (skeleton) and one big
#             matmul per backend (peak GFLOP/s), which explain the ratios
#   search    exact (internal/knn vs IndexFlatIP) and HNSW (internal/baseline/hnsw
#             vs IndexHNSWFlat, same M, efConstruction, efSearch) over the
#             same features, at 1 and 2 threads, recall@10 against exact
#   beam      decoder beam search per query vs exact kNN per query, at
#             each gallery size
#   state     bytes of serving state per gallery image at 1M images
#
# and writes $OUT/raw.jsonl (one JSON line per measurement), $OUT/bench.json
# and $OUT/bench.md (bench/report), profiles under $OUT/profiles, and prints
# the ratio table. Each peer's line says which BLAS it loaded (blas,
# blas_path); the report prints it and gives no ratio against a peer on the
# reference BLAS. Run it on an otherwise idle machine: OpenMP peers slow
# down badly when their threads share cores with other work.
#
# Knobs (environment): QUICK, OUT, WORK (data files), BACKENDS, ENC
# (size:batch list), ITERS, ROUNDS (of the encoder section, interleaved;
# the report keeps each measurement's fastest), MATMUL_N, SEARCH_N, Q, THREADS, HNSW_M, EFC,
# EFS, BEAM_SIZES, BEAM_KNN_Q, BEAM_Q, BEAM_QBATCH, GALLERY (a trained
# model's gallery.bin: its features and IDs replace the synthetic ones),
# STATE_N, PROFILE (1: keep CPU profiles of the irgen runs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	d_enc="mini:8 mini-hybrid:8" d_iters=2 d_rounds=1 d_matmul=256 d_search=2000 d_q=100
	d_efs=16,64 d_efc=100 d_beam="2000 5000" d_knnq=50 d_beamq=4 d_qbatch="1 4" d_state=20000
else
	d_enc="tiny:8 mini-hybrid:128" d_iters=5 d_rounds=5 d_matmul=2048 d_search=100000 d_q=1000
	d_efs=16,32,64,128,256 d_efc=200 d_beam="10000 60000 1000000" d_knnq=200 d_beamq=320 d_qbatch="1 16" d_state=1000000
fi
OUT=${OUT:-bench/results}
WORK=${WORK:-/tmp/irgen-bench}
BACKENDS=${BACKENDS-"onnx:cpu go"}
ENC=${ENC-$d_enc}
ITERS=${ITERS:-$d_iters}
ROUNDS=${ROUNDS:-$d_rounds}
MATMUL_N=${MATMUL_N:-$d_matmul}
SEARCH_N=${SEARCH_N:-$d_search}
Q=${Q:-$d_q}
THREADS=${THREADS:-"1 2"}
HNSW_M=${HNSW_M:-16}
EFC=${EFC:-$d_efc}
EFS=${EFS:-$d_efs}
BEAM_SIZES=${BEAM_SIZES-$d_beam}
BEAM_KNN_Q=${BEAM_KNN_Q:-$d_knnq}
BEAM_Q=${BEAM_Q:-$d_beamq}
BEAM_QBATCH=${BEAM_QBATCH:-$d_qbatch}
STATE_N=${STATE_N:-$d_state}
GALLERY=${GALLERY:-}
PROFILE=${PROFILE:-1}
PY=/usr/bin/python3
# GNU OpenMP spin-waits between parallel regions by default; on this 2-vCPU
# machine that made PyTorch's 2-thread ViT-Tiny forward 388 ms against
# 203 ms with passive waiting and 233 ms on one thread (2026-11-23), so the
# peers run with passive waiting, their faster setting. Override to compare.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
NCPU=$(nproc)

log() { local m="$*"; printf '%s bench: %s\n' "$(date +%T)" "${m:0:240}" >&2; }

# --- peers -----------------------------------------------------------------
# The peers' packages accept any libblas.so.3, and on a fresh machine apt
# picks Debian's reference BLAS: give them OpenBLAS, which becomes the
# libblas.so.3 alternative by its priority (unless that was set by hand).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
pkgs=()
$PY -c 'import torch, faiss, numpy' 2>/dev/null || pkgs+=(python3-torch python3-faiss python3-numpy)
if command -v dpkg-query >/dev/null && ! installed libopenblas0-pthread; then
	pkgs+=(libopenblas0-pthread)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
	log "installing ${pkgs[*]} from Debian"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get install -y "${pkgs[@]}" >&2
fi
LIBBLAS="" # the system's libblas.so.3, for the log and the meta line; the peers report what they loaded
libblas=/usr/lib/$(uname -m)-linux-gnu/libblas.so.3
[ -e "$libblas" ] && LIBBLAS=$(readlink -f "$libblas")
log "libblas.so.3 is ${LIBBLAS:-missing}"
case $LIBBLAS in
*/blas/libblas.so*) log "WARNING: that is Debian's reference BLAS: no ratios against the peers (update-alternatives --config libblas.so.3-$(uname -m)-linux-gnu)" ;;
esac

ORT_LIB=${ONNXRUNTIME_SHARED_LIBRARY_PATH:-$root/third_party/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1}
ORT_VERSION=""
if [[ " $BACKENDS " == *" onnx"* ]]; then
	if [ ! -f "$ORT_LIB" ]; then
		log "installing ONNX Runtime"
		ORT_LIB=$(bash scripts/install-onnxruntime.sh) || ORT_LIB=""
	fi
	if [ -n "$ORT_LIB" ] && [ -f "$ORT_LIB" ]; then
		pkg=$(dirname "$ORT_LIB")/../../../../../package.json
		[ -f "$pkg" ] && ORT_VERSION=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n1)
	else
		log "no ONNX Runtime library: dropping the onnx backend"
		BACKENDS=$(echo "$BACKENDS" | tr ' ' '\n' | grep -v '^onnx' | tr '\n' ' ')
	fi
fi
export ONNXRUNTIME_SHARED_LIBRARY_PATH=$ORT_LIB GOMLX_NO_AUTO_INSTALL=1

# --- build -----------------------------------------------------------------
mkdir -p "$OUT" "$WORK" "$OUT/profiles"
PERF=$WORK/perf
tags=""
[[ " $BACKENDS " == *" onnx"* ]] && tags="-tags onnx"
log "building bench/perf ($tags)"
# shellcheck disable=SC2086
GOEXPERIMENT=simd go build $tags -o "$PERF" ./bench/perf
GOEXPERIMENT=simd go build -o "$WORK/report" ./bench/report

RAW=$OUT/raw.jsonl
ERR=$OUT/stderr.log
: >"$RAW"
: >"$ERR"
started=$(date +%s)

# rec CMD...: runs one measurement and appends its JSON line to $RAW. A
# failed measurement is logged and skipped, so one broken backend does not
# lose the rest.
rec() {
	local line
	log "$*"
	if line=$("$@" 2>>"$ERR" | tail -n1) && [ "${line:0:1}" = "{" ]; then
		echo "$line" >>"$RAW"
	else
		log "FAILED (see $ERR): $*"
		echo "FAILED: $*" >>"$ERR"
	fi
}

prof() { # prof NAME: -cpuprofile flag for irgen runs when PROFILE=1
	[ "$PROFILE" = 1 ] && echo "-cpuprofile=$OUT/profiles/$1.pprof"
	return 0
}

load=$(cut -d' ' -f1 /proc/loadavg)
log "load average $load (want an idle machine)"
printf '{"bench":"meta","impl":"run.sh","date":"%s","quick":%s,"onnxruntime":"%s","load_avg_start":%s,"go":"%s","threads_list":"%s","nproc":%s,"omp_wait_policy":"%s","libblas":"%s"}\n' \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$QUICK" "$ORT_VERSION" "$load" "$(go env GOVERSION)" "$THREADS" "$NCPU" "$OMP_WAIT_POLICY" "$LIBBLAS" >>"$RAW"

rec "$PERF" -mode versions

# --- encoder ---------------------------------------------------------------
# ROUNDS rounds, irgen's and PyTorch's processes taking turns in each, so
# that a slow spell of this shared machine hits both sides; the report
# keeps each measurement's fastest round. Profiles come from the last round.
for round in $(seq "$ROUNDS"); do
	log "encoder round $round of $ROUNDS"
	for b in $BACKENDS; do
		rec "$PERF" -mode matmul -backend "$b" -n "$MATMUL_N" -iters "$ITERS"
	done
	rec $PY bench/peers/torch_vit.py --mode matmul --n "$MATMUL_N" --iters "$ITERS" --threads "$NCPU"

	for sb in $ENC; do
		size=${sb%%:*} batch=${sb#*:}
		cfg=$("$PERF" -mode config -size "$size" 2>>"$ERR")
		stem=$(echo "$cfg" | grep -q '"stem":\[' && echo 1 || echo 0)
		for phase in forward train; do
			for b in $BACKENDS; do
				tag="$size-b$batch-${b%%:*}-$phase"
				# shellcheck disable=SC2046
				rec "$PERF" -mode encoder -backend "$b" -size "$size" -batch "$batch" -phase "$phase" -iters "$ITERS" $(prof "encoder-$tag")
				rec "$PERF" -mode skeleton -backend "$b" -size "$size" -batch "$batch" -phase "$phase" -iters "$ITERS"
				[ "$stem" = 1 ] && rec "$PERF" -mode skeleton -part stem -backend "$b" -size "$size" -batch "$batch" -phase "$phase" -iters "$ITERS"
			done
			rec $PY bench/peers/torch_vit.py --mode encoder --config "$cfg" --batch "$batch" --phase "$phase" --iters "$ITERS" --threads "$NCPU"
			rec $PY bench/peers/torch_vit.py --mode skeleton --config "$cfg" --batch "$batch" --phase "$phase" --iters "$ITERS" --threads "$NCPU"
			[ "$stem" = 1 ] && rec $PY bench/peers/torch_vit.py --mode skeleton --part stem --config "$cfg" --batch "$batch" --phase "$phase" --iters "$ITERS" --threads "$NCPU"
		done
	done
done

# --- search ----------------------------------------------------------------
gen() { # gen N QUERIES PREFIX: writes PREFIX.g.npy and PREFIX.q.npy once
	local src=()
	[ -n "$GALLERY" ] && src=(-gallery "$GALLERY")
	if [ ! -f "$3.g.npy" ] || [ ! -f "$3.q.npy" ] || [ -n "$GALLERY" ]; then
		rec "$PERF" -mode gen -n "$1" -q "$2" -out "$3.g.npy" -qout "$3.q.npy" "${src[@]}"
	fi
}
tlist=$(echo "$THREADS" | tr ' ' ',')
data=$WORK/search-$SEARCH_N-$Q
gen "$SEARCH_N" "$Q" "$data"
# shellcheck disable=SC2046
rec "$PERF" -mode exact -data "$data.g.npy" -queries "$data.q.npy" -threads "$tlist" $(prof "exact-$SEARCH_N")
for t in $THREADS; do
	rec $PY bench/peers/faiss_search.py --mode exact --data "$data.g.npy" --queries "$data.q.npy" --threads "$t"
done
# shellcheck disable=SC2046
rec "$PERF" -mode hnsw -data "$data.g.npy" -queries "$data.q.npy" -threads "$tlist" -M "$HNSW_M" -efc "$EFC" -ef "$EFS" $(prof "hnsw-$SEARCH_N")
rec $PY bench/peers/faiss_search.py --mode hnsw --data "$data.g.npy" --queries "$data.q.npy" --threads "$tlist" --M "$HNSW_M" --efc "$EFC" --ef "$EFS"

# --- beam search vs kNN per query -----------------------------------------
for n in $BEAM_SIZES; do
	data=$WORK/knn-$n-$BEAM_KNN_Q
	gen "$n" "$BEAM_KNN_Q" "$data"
	rec "$PERF" -mode exact -data "$data.g.npy" -queries "$data.q.npy" -threads 1
	rec $PY bench/peers/faiss_search.py --mode exact --data "$data.g.npy" --queries "$data.q.npy" --threads 1
	src=()
	[ -n "$GALLERY" ] && src=(-gallery "$GALLERY")
	for b in $BACKENDS; do
		for qb in $BEAM_QBATCH; do
			# shellcheck disable=SC2046
			rec "$PERF" -mode beam -backend "$b" -n "$n" -q "$BEAM_Q" -qbatch "$qb" "${src[@]}" $(prof "beam-$n-${b%%:*}-q$qb")
		done
	done
done

# --- serving state per image -----------------------------------------------
rec "$PERF" -mode state -n "$STATE_N"

if [ "$PROFILE" = 1 ]; then
	for p in "$OUT"/profiles/*.pprof; do
		[ -f "$p" ] && go tool pprof -top -nodecount=25 "$PERF" "$p" >"${p%.pprof}.txt" 2>>"$ERR" || true
	done
fi
log "measured in $(($(date +%s) - started)) s"
"$WORK/report" -raw "$RAW" -json "$OUT/bench.json" -md "$OUT/bench.md" -profiles "$OUT/profiles"
