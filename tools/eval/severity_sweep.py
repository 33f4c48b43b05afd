#!/usr/bin/env python3
"""Severity sweeps per degradation type, for a model and its random-initialisation
control: mean quality of 200 LFW crops under each degradation at severities 0..1, and
the Spearman correlation of quality with severity per image (averaged; -1: quality falls
at every step).

  severity_sweep.py --vitnt build/vitnt --model M --control C --lfw ../shared/data/lfw112

The mild range (#38): other images and severities, a peer network as the model, no control:

  severity_sweep.py --vitnt build/vitnt --model models/peers/lightqnet.json \
      --images ../shared/data/fairface112/val --severities 0,0.1,0.2,0.3

A model ending in .json is an external quality network (`vitnt score --method external`).
The degradations are the evaluation recipe's (distill.degrade), not the train-only mild
family of distill.py's ranking term.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "distill"))
from distill import DEGRADATIONS, degrade  # noqa: E402

SEVERITIES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def spearman(a, b):
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vitnt", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--control", help="the random-initialisation control (a column of its own)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--lfw", help="LFW (its images/ folder, every 37th crop)")
    src.add_argument("--images", help="a folder of crops (every len/n-th, sorted by path)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--severities", default=",".join(f"{s:.1f}" for s in SEVERITIES),
                    help="comma-separated, 0 (the crop itself) .. 1")
    a = ap.parse_args()
    SEVERITIES[:] = [float(x) for x in a.severities.split(",")]
    if a.lfw:
        files = sorted(os.path.join(r, f) for r, _, fs in os.walk(os.path.join(a.lfw, "images"))
                       for f in fs if f.endswith(".jpg"))[::37][:a.n]
    else:
        files = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.images)
                       for f in fs if f.endswith((".jpg", ".png")))
        files = files[::max(1, len(files) // a.n)][:a.n]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for kind in DEGRADATIONS:
            for s in SEVERITIES:
                for i, f in enumerate(files):
                    img = cv2.imread(f)
                    out = img if s == 0 else degrade(img, np.random.default_rng(i), kind, s)
                    p = os.path.join(tmp, f"{kind}_{s:g}_{i:03d}.png")
                    cv2.imwrite(p, out)
                    paths.append(p)
        with open(os.path.join(tmp, "list.txt"), "w") as f:
            f.write("\n".join(paths))
        q = {}
        runs = [("model", a.model)] + ([("control", a.control)] if a.control else [])
        for name, m in runs:
            out = os.path.join(tmp, name + ".csv")
            flags = (["--method", "external", "--quality-model", m] if m.endswith(".json")
                     else ["--model", m])
            subprocess.run([a.vitnt, "score", *flags, "-o", out, "@" + os.path.join(tmp, "list.txt")],
                           check=True, stderr=subprocess.DEVNULL)
            q[name] = {os.path.basename(r["path"]): float(r["quality"]) for r in csv.DictReader(open(out))}
    names = [n for n, _ in runs]
    print(f"{len(files)} images\n", file=sys.stderr)
    print("| degradation | model: mean Q at severity " +
          " / ".join(f"{s:g}" for s in SEVERITIES) + " | model rho |" +
          (" control rho |" if a.control else ""))
    print("|---|---|---|" + ("---|" if a.control else ""))
    for kind in DEGRADATIONS:
        row = []
        for name in names:
            rhos, means = [], []
            for s in SEVERITIES:
                means.append(np.mean([q[name][f"{kind}_{s:g}_{i:03d}.png"] for i in range(len(files))]))
            for i in range(len(files)):
                rhos.append(spearman(SEVERITIES, [q[name][f"{kind}_{s:g}_{i:03d}.png"] for s in SEVERITIES]))
            row.append((means, float(np.nanmean(rhos))))
        print(f"| {kind} | " + " / ".join(f"{m:.3f}" if a.lfw else f"{m:.4g}" for m in row[0][0]) +
              "".join(f" | {r[1]:+.2f}" if a.lfw else f" | {r[1]:+.3f}" for r in row) + " |")


if __name__ == "__main__":
    main()
