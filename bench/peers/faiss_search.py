#!/usr/bin/python3
"""FAISS peer of bench/perf's exact and hnsw modes.

Reads the same .npy gallery and queries that `perf -mode gen` wrote and
measures, for one thread count per process (OpenBLAS and OpenMP size their
pools when the library loads):

  exact  IndexFlatIP: latency of one-query calls (FAISS's non-BLAS path
         for fewer than 20 queries) and QPS of all queries in one call
         (BLAS sgemm, queries spread over the threads)
  hnsw   IndexHNSWFlat with inner product, the same M and efConstruction
         as irgen, built on one thread; for each efSearch, latency of
         one-query calls, QPS of one batch call and recall@k against
         IndexFlatIP

Prints one JSON line with the process's peak memory and the BLAS library
it loaded (blas, blas_path, blas_libs: bench/peers/blas.py). Run with
Debian's python3-faiss: /usr/bin/python3.
"""

import argparse
import json
import os
import time

from blas import loaded_blas
from peak import peak_memory


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", required=True, choices=["exact", "hnsw"])
    p.add_argument("--data", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", default="1",
                   help="thread count; for hnsw a comma-separated list (its search uses no BLAS)")
    p.add_argument("--M", type=int, default=16)
    p.add_argument("--efc", type=int, default=200)
    p.add_argument("--ef", default="16,32,64,128,256")
    return p.parse_args()


ARGS = parse()
THREADS = [int(t) for t in ARGS.threads.split(",") if t]
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(max(THREADS))

import faiss  # noqa: E402
import numpy as np  # noqa: E402


def latency(index, qs, k):
    """One-query calls on one thread: per-query µs and QPS."""
    faiss.omp_set_num_threads(1)
    for i in range(min(20, len(qs))):  # warm-up
        index.search(qs[i:i + 1], k)
    lat = np.empty(len(qs))
    start = time.perf_counter()
    for i in range(len(qs)):
        t = time.perf_counter()
        index.search(qs[i:i + 1], k)
        lat[i] = time.perf_counter() - t
    wall = time.perf_counter() - start
    s = np.sort(lat)
    return {"us_mean": 1e6 * float(s.mean()), "us_p50": 1e6 * float(s[len(s) // 2]),
            "us_p99": 1e6 * float(s[min(len(s) - 1, len(s) * 99 // 100)]), "qps": len(qs) / wall}


def batch(index, qs, k, threads):
    """All queries in one call on threads threads: QPS and results."""
    faiss.omp_set_num_threads(threads)
    index.search(qs[:min(20, len(qs))], k)  # warm-up
    start = time.perf_counter()
    _, ids = index.search(qs, k)
    return len(qs) / (time.perf_counter() - start), ids


def recall(got, truth, k):
    hit = sum(len(set(g[:k]) & set(t[:k])) for g, t in zip(got, truth))
    return hit / (len(truth) * k)


def main():
    data = np.ascontiguousarray(np.load(ARGS.data), dtype=np.float32)
    qs = np.ascontiguousarray(np.load(ARGS.queries), dtype=np.float32)
    n, d = data.shape
    rec = {"impl": "faiss", "faiss": faiss.__version__, "numpy": np.__version__, "bench": "search", "kind": ARGS.mode, "n": n,
           "q": len(qs), "d": d, "k": ARGS.k, "metric": "ip", "mode": ARGS.mode}
    faiss.omp_set_num_threads(max(THREADS))
    flat = faiss.IndexFlatIP(d)
    start = time.perf_counter()
    flat.add(data)
    build = time.perf_counter() - start
    if ARGS.mode == "exact":
        if len(THREADS) != 1:
            raise SystemExit("faiss_search: exact takes one thread count per process (BLAS pool)")
        run = {"threads": THREADS[0]}
        if THREADS[0] == 1:
            run.update(latency(flat, qs, ARGS.k))
        run["batch_qps"], _ = batch(flat, qs, ARGS.k, THREADS[0])
        rec.update(build_s=build, runs=[run])
    else:
        _, truth = flat.search(qs, ARGS.k)
        del flat
        index = faiss.IndexHNSWFlat(d, ARGS.M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ARGS.efc
        faiss.omp_set_num_threads(1)
        start = time.perf_counter()
        index.add(data)
        rec.update(M=ARGS.M, ef_construction=ARGS.efc, build_s=time.perf_counter() - start, build_threads=1)
        del data
        points = []
        for threads in THREADS:
            for ef in [int(x) for x in ARGS.ef.split(",") if x]:
                index.hnsw.efSearch = ef
                p = {"threads": threads, "ef_search": ef}
                if threads == 1:
                    p.update(latency(index, qs, ARGS.k))
                p["batch_qps"], ids = batch(index, qs, ARGS.k, threads)
                p["recall"] = recall(ids, truth, ARGS.k)
                points.append(p)
        rec["points"] = points
    rec.update(loaded_blas("_swigfaiss"))
    rec.update(peak_memory())
    print(json.dumps(rec, sort_keys=True))


if __name__ == "__main__":
    main()
