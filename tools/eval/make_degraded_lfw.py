#!/usr/bin/env python3
"""LFW-degraded: the official 6,000 LFW pairs with the second image of every pair
degraded (in the spirit of XQLFW), seeded and reproducible.

  make_degraded_lfw.py --lfw ../shared/data/lfw112 --out runs/lfw_degraded [--seed 0]

Each pair gets one degradation (blur, downscale, JPEG, noise, low light, occlusion —
the recipe of tools/distill/distill.py `degrade`) at a uniform random severity in
[0.1, 1]. Writes OUT/images/pairNNNN.png (lossless, so the JPEG degradation is the
only compression), OUT/pairs.csv (a,b,genuine with `a` the original) and
OUT/manifest.csv (pair, kind, severity). Evaluation only: LFW never trains anything.
"""
import argparse
import csv
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "distill"))
from distill import DEGRADATIONS, degrade  # noqa: E402


def lfw_pairs(path, root):
    lines = [l.split() for l in open(path) if l.strip()]
    folds, n = map(int, lines[0])
    out = []
    for t in lines[1:]:
        if len(t) == 3:
            out.append((f"{root}/{t[0]}/{t[0]}_{int(t[1]):04d}.jpg",
                        f"{root}/{t[0]}/{t[0]}_{int(t[2]):04d}.jpg", 1))
        else:
            out.append((f"{root}/{t[0]}/{t[0]}_{int(t[1]):04d}.jpg",
                        f"{root}/{t[2]}/{t[2]}_{int(t[3]):04d}.jpg", 0))
    assert len(out) == folds * 2 * n
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lfw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    root = os.path.abspath(os.path.join(a.lfw, "images"))
    pairs = lfw_pairs(os.path.join(a.lfw, "pairs.txt"), root)
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    rng = np.random.default_rng(a.seed)
    rows, manifest = [], []
    for i, (pa, pb, g) in enumerate(pairs):
        kind = DEGRADATIONS[rng.integers(len(DEGRADATIONS))]
        sev = float(rng.uniform(0.1, 1.0))
        img = cv2.imread(pb, cv2.IMREAD_COLOR)
        if img is None:
            sys.exit(f"{pb}: cannot read")
        out = os.path.abspath(os.path.join(a.out, "images", f"pair{i:04d}.png"))
        cv2.imwrite(out, degrade(img, rng, kind, sev))
        rows.append((pa, out, g))
        manifest.append((i, kind, f"{sev:.4f}"))
    for name, header, data in (("pairs.csv", ("a", "b", "genuine"), rows),
                               ("manifest.csv", ("pair", "kind", "severity"), manifest)):
        tmp = os.path.join(a.out, name + ".tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(data)
        os.replace(tmp, os.path.join(a.out, name))
    print(f"{len(rows)} pairs, second images degraded, in {a.out}")


if __name__ == "__main__":
    main()
