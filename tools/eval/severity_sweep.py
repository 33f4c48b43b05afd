#!/usr/bin/env python3
"""Severity sweeps per degradation type, for a model and its random-initialisation
control: mean quality of 200 LFW crops under each degradation at severities 0..1, and
the Spearman correlation of quality with severity per image (averaged).

  severity_sweep.py --vitnt build/vitnt --model M --control C --lfw ../shared/data/lfw112
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
    ap.add_argument("--control", required=True)
    ap.add_argument("--lfw", required=True)
    ap.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(os.path.join(a.lfw, "images"))
                   for f in fs if f.endswith(".jpg"))[::37][:a.n]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for kind in DEGRADATIONS:
            for s in SEVERITIES:
                for i, f in enumerate(files):
                    img = cv2.imread(f)
                    out = img if s == 0 else degrade(img, np.random.default_rng(i), kind, s)
                    p = os.path.join(tmp, f"{kind}_{s:.1f}_{i:03d}.png")
                    cv2.imwrite(p, out)
                    paths.append(p)
        with open(os.path.join(tmp, "list.txt"), "w") as f:
            f.write("\n".join(paths))
        q = {}
        for name, m in (("model", a.model), ("control", a.control)):
            out = os.path.join(tmp, name + ".csv")
            subprocess.run([a.vitnt, "score", "--model", m, "-o", out, "@" + os.path.join(tmp, "list.txt")],
                           check=True, stderr=subprocess.DEVNULL)
            q[name] = {os.path.basename(r["path"]): float(r["quality"]) for r in csv.DictReader(open(out))}
    print("| degradation | model: mean Q at severity " + " / ".join(f"{s:.1f}" for s in SEVERITIES) +
          " | model rho | control rho |")
    print("|---|---|---|---|")
    for kind in DEGRADATIONS:
        row = []
        for name in ("model", "control"):
            rhos, means = [], []
            for s in SEVERITIES:
                means.append(np.mean([q[name][f"{kind}_{s:.1f}_{i:03d}.png"] for i in range(len(files))]))
            for i in range(len(files)):
                rhos.append(spearman(SEVERITIES, [q[name][f"{kind}_{s:.1f}_{i:03d}.png"] for s in SEVERITIES]))
            row.append((means, float(np.nanmean(rhos))))
        print(f"| {kind} | " + " / ".join(f"{m:.3f}" for m in row[0][0]) +
              f" | {row[0][1]:+.2f} | {row[1][1]:+.2f} |")


if __name__ == "__main__":
    main()
