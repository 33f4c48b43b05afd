#!/usr/bin/env python3
"""Throughput of vitnt.dask with 1, 2, ... worker processes (1 thread each) on this machine.

  PYTHONPATH=build/python /usr/bin/python3 tools/bench/dask_scaling.py \
      [--model models/vitnt-s16.safetensors] [--images 2000] [--workers 1,2] \
      [--partition-size 100] [--embedding] [--vitnt build/vitnt] [--out result.json]

For each worker count: a LocalCluster of that many processes, the model loaded on every
worker first (not timed: a real job pays it once per worker), then the job timed end to
end as `python3 -m vitnt.dask` runs it: partitions decoded, scored and written as CSV
shards into a fresh folder. With --vitnt, `vitnt score --threads N` on the same images
gives the single-process baseline. Prints a markdown table and the machine's load
average (other work on the machine shares the cores: say so with the numbers).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from distributed import Client, LocalCluster

import vitnt.dask as vd


def lfw_images(shared, n):
    root = os.path.join(shared, "data", "lfw112", "images")
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                   if f.endswith(".jpg"))
    if not files:
        sys.exit(f"no images under {root} (set VITNT_SHARED)")
    return (files * (n // len(files) + 1))[:n]


def run_dask(paths, workers, args, tmp):
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        vd.preload(client, args.model, threads=1)  # once per worker, untimed
        out = os.path.join(tmp, f"dask-{workers}")
        t0 = time.perf_counter()
        s = vd.write_shards(paths, args.model, out, client=client,
                            partition_size=args.partition_size, format="csv", threads=1,
                            embedding=args.embedding)
        sec = time.perf_counter() - t0
    assert s.scored == len(paths), s
    return sec


def run_cli(paths, threads, args, tmp):
    lst = os.path.join(tmp, "list.txt")
    with open(lst, "w") as f:
        f.write("\n".join(paths) + "\n")
    cmd = [args.vitnt, "score", "--model", args.model, "--threads", str(threads),
           "-o", os.path.join(tmp, f"cli-{threads}.csv"), "@" + lst]
    if args.embedding:
        cmd.insert(-1, "--embedding")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(src, "models", "vitnt-s16.safetensors"))
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--partition-size", type=int, default=100)
    ap.add_argument("--embedding", action="store_true")
    ap.add_argument("--vitnt", help="the vitnt binary, for a single-process baseline")
    ap.add_argument("--out", help="also write the results as JSON")
    args = ap.parse_args()
    shared = os.environ.get("VITNT_SHARED", os.path.join(src, "..", "shared"))
    paths = lfw_images(shared, args.images)
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in [int(x) for x in args.workers.split(",")]:
            sec = run_dask(paths, w, args, tmp)
            rows.append({"what": f"vitnt.dask, {w} worker process(es) x 1 thread",
                         "workers": w, "seconds": sec, "img_per_s": len(paths) / sec})
        if args.vitnt:
            for t in sorted({1, max(int(x) for x in args.workers.split(","))}):
                sec = run_cli(paths, t, args, tmp)
                rows.append({"what": f"vitnt score --threads {t} (one process)", "workers": 0,
                             "seconds": sec, "img_per_s": len(paths) / sec})
    load_after = os.getloadavg()
    base = rows[0]["img_per_s"]
    print(f"{len(paths)} images, model {os.path.basename(args.model)}, partitions of "
          f"{args.partition_size}, embedding {args.embedding}; {os.cpu_count()} cores, load "
          f"average {load_before[0]:.1f} before / {load_after[0]:.1f} after\n")
    print("| run | seconds | images/s | vs 1 worker |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['what']} | {r['seconds']:.1f} | {r['img_per_s']:.0f} | "
              f"{r['img_per_s'] / base:.2f}x |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"images": len(paths), "model": args.model, "cores": os.cpu_count(),
                       "loadavg_before": load_before, "loadavg_after": load_after,
                       "partition_size": args.partition_size, "embedding": args.embedding,
                       "results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
