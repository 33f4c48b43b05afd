#!/usr/bin/env python3
"""vitnt vs the project's PyTorch reference (eager, fp32), side by side in one run.

  compare_torch.py --vitnt build/vitnt [--archs cvlface-vit-s,cvlface-vit-b]
                   [--batches 1,32] [--threads 2] [--isa avx2] [--out docs/bench.json]

Random weights of the real shapes (score only, each model's default block range),
synthetic images, same threads; medians of --iters runs. Prints a markdown table with
the CPU and the oneDNN fp32 matmul peak measured in the same run, and each side's share
of that peak. bf16 is measured where the CPU runs it natively, else shown as refused.
--isa avx2 runs both sides as on an AVX2-only CPU (Zen 3, client CPUs) whatever this CPU
is: oneDNN capped (ONEDNN_MAX_CPU_ISA=AVX2), our row kernels at avx2, OpenBLAS on its
Haswell kernels, PyTorch's own kernels at avx2 (ATEN_CPU_CAPABILITY).
Use Debian's /usr/bin/python3; stop other work on the machine while it runs.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# vitnt runs with the caller's environment: torch_env sets OMP_WAIT_POLICY=PASSIVE for
# PyTorch's sake, which is not vitnt's default (measured: 3 % slower on ViT-B, AVX2, batch 1)
VITNT_ENV = dict(os.environ)
# before any library is loaded: the ISA the whole process (and vitnt's) is limited to
AVX2_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2", "VITNT_KERNEL_ISA": "avx2",
            "OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2"}
if "--isa" in sys.argv and sys.argv[sys.argv.index("--isa") + 1:][:1] == ["avx2"]:
    os.environ.update(AVX2_ENV)
    VITNT_ENV.update(AVX2_ENV)
sys.path.insert(0, os.path.join(HERE, ".."))
import torch_env  # noqa: E402  (before torch: OMP_WAIT_POLICY)
import torch  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import facevit  # noqa: E402


def flops_per_image(c, last):
    """Useful FLOPs of blocks 0..last (GEMMs + attention), multiply-add = 2."""
    n, d, m = (c["img_size"] // c["patch_size"]) ** 2, c["embed_dim"], \
        int(c["embed_dim"] * c["mlp_ratio"])
    per_block = 2 * n * (3 * d * d + d * d + 2 * d * m) + 2 * 2 * n * n * d
    return per_block * (last + 1) + 2 * n * d * 3 * c["patch_size"] ** 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vitnt", required=True)
    ap.add_argument("--archs", default="cvlface-vit-s,cvlface-vit-b")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--isa", choices=["default", "avx2"], default="default")
    ap.add_argument("--out")
    a = ap.parse_args()
    # refuses to report PyTorch figures on the reference BLAS
    torch_setup = torch_env.setup(a.threads)
    batches = [int(b) for b in a.batches.split(",")]
    cpu = json.loads(subprocess.run([a.vitnt, "info", "--json"], check=True, env=VITNT_ENV,
                                    capture_output=True, text=True).stdout)["cpu"]
    precisions = ["fp32"] + (["bf16"] if cpu["bf16"].startswith("native") else [])
    peak = None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in a.archs.split(","):
            cfg_path = os.path.join(tmp, arch + ".json")
            with open(cfg_path, "w") as f:
                subprocess.run([a.vitnt, "info", "--arch", arch, "--print-config"], stdout=f,
                               check=True)
            c = json.load(open(cfg_path))
            weights = os.path.join(tmp, arch + ".safetensors")
            subprocess.run([sys.executable, os.path.join(HERE, "..", "reference",
                                                         "reference_score.py"),
                            "--config", cfg_path, "--random-model", weights, "--dtype", "F32"],
                           check=True)
            ours = {"bf16": {}}
            for prec in precisions:
                ours_json = os.path.join(tmp, f"{arch}_{prec}.json")
                subprocess.run([a.vitnt, "bench", "--model", weights, "--arch", arch,
                                "--threads", str(a.threads), "--iters", str(a.iters),
                                "--precision", prec, "--batch", *map(str, batches),
                                "--json", ours_json] + (["--matmul-peak"] if peak is None else []),
                               check=True, env=VITNT_ENV)
                res = json.load(open(ours_json))
                if peak is None:
                    peak = res["machine"]["matmul_6272x512x1536_gflops"]["fp32"]
                ours[prec] = {r["batch"]: r["images_per_second"] for r in res["results"]}
            model = facevit.FaceViT(**{k: c[k] for k in ("img_size", "patch_size", "embed_dim",
                                                         "depth", "num_heads", "mlp_ratio",
                                                         "num_features")}).eval()
            first, last = c["vitnt"]["blocks"]
            for b in batches:
                x = torch.randn(b, 3, 112, 112)
                facevit.vitnt_score(model, x, first, last)
                t = []
                for _ in range(a.iters):
                    t0 = time.perf_counter()
                    facevit.vitnt_score(model, x, first, last)
                    t.append(time.perf_counter() - t0)
                torch_ips = b / sorted(t)[len(t) // 2]
                gf = flops_per_image(c, last) / 1e9
                bf16 = ours["bf16"].get(b)
                rows.append(dict(arch=arch, batch=b, blocks=f"{first}:{last}",
                                 vitnt_ips=ours["fp32"][b], bf16_ips=bf16,
                                 torch_ips=torch_ips, ratio=ours["fp32"][b] / torch_ips,
                                 bf16_ratio=bf16 / torch_ips if bf16 else None,
                                 gflop_per_image=gf, vitnt_gflops=gf * ours["fp32"][b],
                                 torch_gflops=gf * torch_ips,
                                 vitnt_peak_share=gf * ours["fp32"][b] / peak,
                                 torch_peak_share=gf * torch_ips / peak))
    print(f"\nCPU: {cpu['model_name']} (family {cpu['family']} model {cpu['model']}); "
          f"oneDNN ISA {cpu['onednn_isa']}, row kernels {cpu['row_kernels']}"
          f"{' (--isa avx2: ' + ' '.join(f'{k}={v}' for k, v in AVX2_ENV.items()) + ')' if a.isa == 'avx2' else ''}; "
          f"oneDNN fp32 matmul peak {peak:.0f} GFLOP/s (this run); bf16: {cpu['bf16']}")
    print(f"OMP_WAIT_POLICY: vitnt {VITNT_ENV.get('OMP_WAIT_POLICY', 'unset (default)')}, "
          f"PyTorch {os.environ.get('OMP_WAIT_POLICY')}")
    print(f"{a.threads} threads, score only, medians of {a.iters}; PyTorch "
          f"{torch_setup['torch']} on {torch_setup['blas']} ({torch_setup['blas_library']})\n")
    print("| model | blocks | batch | vitnt fp32 img/s | % of peak | vitnt bf16 img/s "
          "| PyTorch fp32 img/s | % of peak | fp32 vs PyTorch | bf16 vs PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        bf = f"{r['bf16_ips']:.1f}" if r["bf16_ips"] else "refused"
        bfr = f"{r['bf16_ratio']:.2f}x" if r["bf16_ratio"] else "-"
        print(f"| {r['arch']} | {r['blocks']} | {r['batch']} | {r['vitnt_ips']:.1f} | "
              f"{100 * r['vitnt_peak_share']:.0f} % | {bf} | {r['torch_ips']:.1f} | "
              f"{100 * r['torch_peak_share']:.0f} % | {r['ratio']:.2f}x | {bfr} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"torch": torch_setup, "cpu": cpu, "isa": a.isa,
                       "matmul_peak_fp32_gflops": peak, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
