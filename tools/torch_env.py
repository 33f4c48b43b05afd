"""Debian's torch set up the way every training, reference and comparison script needs it.

Import this before torch. It checks the three things that otherwise make figures wrong:
- OMP_WAIT_POLICY=PASSIVE (with 2 threads torch's OpenMP spins against OpenBLAS's);
- the thread count (Debian's torch starts with ONE thread): `setup(threads)`;
- which BLAS torch really calls (the libblas.so.3 the system has: the reference BLAS,
  30-50x slower, unless libopenblas0-pthread is installed): read from the loaded
  libraries, as threadpoolctl does. `setup(..., require_fast_blas=True)` refuses to go
  on with the reference BLAS.
And a fourth: Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model, and a CPU
it does not know (an Intel Xeon of family 6, model 207, in a VM) gets its baseline
"Prescott" SSE3 kernels: torch's fp32 training step was 2.4x slower (24.8 vs 61.6
img/s, v1 student, batch 128). On import, when OpenBLAS would fall back like that on a
CPU with AVX2 / AVX-512, OPENBLAS_CORETYPE is set to the matching kernel family
(SkylakeX / Haswell) before any library loads OpenBLAS; an explicit setting wins.
"""
import os
import subprocess
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# OpenBLAS's name for its fallback kernels: what it uses on a CPU model it does not know
_FALLBACK_CORES = ("prescott", "core2", "nehalem", "unknown")


def openblas_core(env=None):
    """The kernel family OpenBLAS chooses on this machine (its own name), or None when
    libopenblas.so.0 cannot be loaded. Asked in a child process: the choice is made once,
    when the library loads, and this process must still be free to override it."""
    code = ("import ctypes; l = ctypes.CDLL('libopenblas.so.0'); "
            "l.openblas_get_corename.restype = ctypes.c_char_p; "
            "print(l.openblas_get_corename().decode())")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    return r.stdout.strip() or None


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _fix_openblas_core():
    if "OPENBLAS_CORETYPE" in os.environ:
        return
    core = openblas_core()
    if not core or core.lower() not in _FALLBACK_CORES:
        return
    flags = _cpu_flags()
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif {"avx2", "fma"} <= flags:
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"


_fix_openblas_core()


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
            "openblas_core": openblas_core() if kind == "openblas" else None,
            "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
            "matmul_1024_gflops": round(matmul_gflops(), 1)}
    if not quiet:
        print(f"torch {info['torch']}: {info['threads']} threads, BLAS {kind} ({path}, "
              f"kernels {info['openblas_core']}), 1024^3 matmul "
              f"{info['matmul_1024_gflops']} GFLOP/s, "
              f"OMP_WAIT_POLICY={info['omp_wait_policy']}", file=sys.stderr)
    if kind == "reference" and require_fast_blas:
        sys.exit(f"torch uses the reference BLAS ({path}): PyTorch figures would be 30-50x too "
                 "slow. Install libopenblas0-pthread (tools/install_deps.sh) and run again.")
    if kind == "reference":
        print(f"warning: torch uses a slow BLAS ({kind}, {path}); install libopenblas0-pthread",
              file=sys.stderr)
    elif info["matmul_1024_gflops"] < 15:
        # A real BLAS measured slow: the cores are busy (a build, or this process at nice 19
        # beside other work), which is no reason to refuse to run.
        print(f"warning: torch's {kind} measured {info['matmul_1024_gflops']} GFLOP/s (load "
              f"average {os.getloadavg()[0]:.1f}): the cores are busy; timings will be off",
              file=sys.stderr)
    return info


if __name__ == "__main__":
    setup(int(sys.argv[1]) if len(sys.argv) > 1 else 2, require_fast_blas=False)
