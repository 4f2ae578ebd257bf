"""Which BLAS library this process loaded, which every peer reports with its results.

A peer's matmuls and FAISS's batch search run in whatever library provides
sgemm_ at run time, and on Debian that is the libblas.so.3 alternative:
the reference BLAS (libblas3, /usr/lib/x86_64-linux-gnu/blas/) made them
16 to 30 times slower than OpenBLAS, so a ratio against it measures the
packaging, not the peer (issue #15). Call loaded_blas() after the first matmul or
search (some libraries load their kernels lazily).

The peers import it from their own folder (a script's folder is on
sys.path), so it needs no package.
"""

import ctypes
import os

# Names of the libraries that can provide sgemm_ (LAPACK's are left out).
BLAS_NAMES = ("libblas", "libcblas", "libopenblas", "libmkl", "libblis", "libatlas", "libsatlas", "libtatlas",
              "libflexiblas")
# Fragments of a library's path (folder included: Debian's OpenBLAS is
# openblas-pthread/libblas.so.3) and the kind they name, tried in order.
KINDS = (("mkl", "mkl"), ("openblas", "openblas"), ("blis", "blis"), ("atlas", "atlas"))


def classify(path):
    """openblas, mkl, blis, atlas, reference or unknown.

    A libblas or libcblas outside the folders of the optimized ones is
    taken for the reference BLAS (Debian's is blas/libblas.so.3), which
    errs on the side of not comparing.
    """
    low = path.lower()
    for frag, kind in KINDS:
        if frag in low:
            return kind
    if os.path.basename(low).startswith(("libblas", "libcblas")):
        return "reference"
    return "unknown"


def mapped():
    """Real paths of the BLAS libraries mapped into this process, in address order."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split(None, 5)
            if len(fields) < 6:
                continue
            path = fields[5].strip()
            base = os.path.basename(path)
            if base.startswith(BLAS_NAMES) and ".so" in base and path not in out:
                out.append(path)
    return out


class _DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p), ("sname", ctypes.c_char_p),
                ("saddr", ctypes.c_void_p)]


def provider(consumer):
    """Real path of the library whose sgemm_ (else cblas_sgemm) the library
    at path consumer binds to, or "" if none is found.

    The dynamic linker looks a symbol up in the global scope first
    (LD_PRELOAD, libraries loaded with RTLD_GLOBAL), then in the consumer's
    own dependencies in load order; this asks it the same questions.
    """
    libc = ctypes.CDLL(None)
    scopes = [libc]
    if consumer:
        scopes.append(ctypes.CDLL(consumer))
    for scope in scopes:
        for sym in ("sgemm_", "cblas_sgemm"):
            try:
                fn = getattr(scope, sym)
            except AttributeError:
                continue
            info = _DlInfo()
            if libc.dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)) and info.fname:
                return os.path.realpath(info.fname.decode())
    return ""


def loaded_blas(consumer_name):
    """The BLAS this process uses, for a peer's JSON line.

    consumer_name is part of the file name of the library that calls BLAS
    (libtorch_cpu, _swigfaiss). blas is the kind of the library that
    provides its sgemm_ (blas_path); blas_libs lists every BLAS library
    mapped. If no provider is found (a BLAS linked statically into the
    peer), blas comes from the mapped libraries: reference if any is,
    unknown if none is.
    """
    libs = mapped()
    consumer = ""
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split(None, 5)
            if len(fields) == 6 and consumer_name in os.path.basename(fields[5]):
                consumer = fields[5].strip()
                break
    path = ""
    try:
        path = provider(consumer)
    except OSError:
        pass
    if path:
        kind = classify(path)
    else:
        kinds = [classify(p) for p in libs]
        kind = "reference" if "reference" in kinds else (kinds[0] if kinds else "unknown")
        path = next((p for p in libs if classify(p) == kind), "")
    return {"blas": kind, "blas_path": path, "blas_libs": libs}
