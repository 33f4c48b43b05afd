#!/usr/bin/env python3
"""Do the --regions values point at the bad part of a face? One region at a time is
covered by a filled rectangle (the template region itself, a seeded random colour) on
LFW crops; for each occluded region, how often is it the lowest of the four (left_eye,
right_eye, nose, mouth)? Prints the confusion table (markdown) and writes JSON.

  PYTHONPATH=build/python region_occlusion.py [--model W] [--every 15] [--out F.json]

Evaluation only (LFW): nothing is tuned on it.
"""
import argparse
import glob
import json
import os
import sys

import cv2
import numpy as np

import vitnt

SHARED = os.environ.get("VITNT_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                                     "shared"))
FOUR = ["left_eye", "right_eye", "nose", "mouth"]
# the rectangles of vitnt's face_regions() (template pixels), as the library defines them
RECTS = {"left_eye": (24, 41, 53, 62), "right_eye": (59, 41, 88, 62), "nose": (46, 62, 66, 82),
         "mouth": (34, 83, 78, 102)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "models", "vitnt-s16.safetensors"))
    ap.add_argument("--every", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out")
    a = ap.parse_args()
    names = vitnt.region_names()
    assert names[:4] == FOUR, names
    files = sorted(glob.glob(os.path.join(SHARED, "data", "lfw112", "images", "*", "*.jpg")))
    files = files[::a.every]
    if not files:
        sys.exit(f"no LFW crops under {SHARED}/data/lfw112 (set VITNT_SHARED)")
    model = vitnt.Model(a.model, threads=a.threads)
    rng = np.random.default_rng(0)
    clean = np.stack([cv2.imread(f)[..., ::-1] for f in files])  # RGB
    base = model.score(clean, regions=True).regions[:, :4]
    table = {r: {c: 0 for c in FOUR} for r in FOUR}
    drop = {}
    for r in FOUR:
        x0, y0, x1, y1 = RECTS[r]
        occ = clean.copy()
        for i in range(len(occ)):
            occ[i, y0:y1, x0:x1] = rng.integers(0, 256, 3)
        reg = model.score(occ, regions=True).regions[:, :4]
        for low in np.argmin(reg, axis=1):
            table[r][FOUR[low]] += 1
        drop[r] = float(np.mean(base[:, FOUR.index(r)] - reg[:, FOUR.index(r)]))
    n = len(files)
    print(f"{n} LFW crops (every {a.every}th), model {os.path.basename(a.model)}\n")
    print("| occluded \\ lowest | " + " | ".join(FOUR) + " | correct | mean drop of its value |")
    print("|---" * (len(FOUR) + 3) + "|")
    for r in FOUR:
        cells = " | ".join(f"{table[r][c]}" for c in FOUR)
        print(f"| {r} | {cells} | **{100 * table[r][r] / n:.1f} %** | {drop[r]:.5f} |")
    clean_low = np.bincount(np.argmin(base, axis=1), minlength=4)
    print("\nlowest region on the clean crops: " +
          ", ".join(f"{c} {100 * k / n:.1f} %" for c, k in zip(FOUR, clean_low)))
    if a.out:
        json.dump({"n": n, "every": a.every, "model": a.model, "confusion": table,
                   "correct": {r: table[r][r] / n for r in FOUR}, "mean_drop": drop,
                   "clean_lowest": dict(zip(FOUR, map(int, clean_low)))},
                  open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
