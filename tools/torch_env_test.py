"""torch_env: torch on a real BLAS, with the threads asked for, and OpenBLAS on the
kernels of this CPU (not its SSE3 fallback for CPU models it does not know)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_env  # noqa: E402  (before torch)

info = torch_env.setup(2)  # exits non-zero on the reference BLAS
assert info["threads"] == 2, info
if info["blas"] == "openblas" and {"avx2", "fma"} <= torch_env._cpu_flags():
    core = info["openblas_core"]
    assert core and core.lower() not in torch_env._FALLBACK_CORES, (
        f"OpenBLAS runs its fallback kernels ({core}) on a CPU with AVX2: {info}")
print("torch_env ok:", info)
