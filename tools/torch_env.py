"""Debian's torch set up the way every training, reference and comparison script needs it.

Import this before torch. It checks the three things that otherwise make figures wrong:
- OMP_WAIT_POLICY=PASSIVE (with 2 threads torch's OpenMP spins against OpenBLAS's);
- the thread count (Debian's torch starts with ONE thread): `setup(threads)`;
- which BLAS torch really calls (the libblas.so.3 the system has: the reference BLAS,
  30-50x slower, unless libopenblas0-pthread is installed): read from the loaded
  libraries, as threadpoolctl does. `setup(..., require_fast_blas=True)` refuses to go
  on with the reference BLAS.
"""
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def blas_library():
    """(kind, path) of the libblas.so.3 torch's matmuls go to, once torch has run one."""
    import torch
    a = torch.ones(256, 256)
    (a @ a).sum()
    blas, others = [], []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            name = os.path.basename(p)
            if name.startswith("libblas.so"):
                blas.append(os.path.realpath(p))
            elif name.startswith(("libopenblas", "libblis", "libmkl_rt")):
                others.append(os.path.realpath(p))
    for p in blas or others:
        for kind in ("openblas", "blis", "mkl"):
            if kind in p.lower():
                return kind, p
        return "reference", p
    return "none found", ""


def matmul_gflops(n=1024, reps=3):
    """torch fp32 matmul rate now: tells the reference BLAS (~4 GFLOP/s) from a real one."""
    import time
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def setup(threads=2, require_fast_blas=True, quiet=False):
    """Threads + BLAS check; returns a dict describing the setup (for reports)."""
    import torch
    torch.set_num_threads(threads)
    kind, path = blas_library()
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": kind,
            "blas_library": path, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "matmul_1024_gflops": round(matmul_gflops(), 1)}
    if not quiet:
        print(f"torch {info['torch']}: {info['threads']} threads, BLAS {kind} ({path}), "
              f"1024^3 matmul {info['matmul_1024_gflops']} GFLOP/s, "
              f"OMP_WAIT_POLICY={info['omp_wait_policy']}", file=sys.stderr)
    slow = kind == "reference" or info["matmul_1024_gflops"] < 15
    if slow and not require_fast_blas:
        print(f"warning: torch uses a slow BLAS ({kind}, {path}); install libopenblas0-pthread",
              file=sys.stderr)
    elif slow:
        sys.exit(f"torch uses the reference BLAS ({path}): PyTorch figures would be 30-50x too "
                 "slow. Install libopenblas0-pthread (tools/install_deps.sh) and run again.")
    return info


if __name__ == "__main__":
    setup(int(sys.argv[1]) if len(sys.argv) > 1 else 2, require_fast_blas=False)
