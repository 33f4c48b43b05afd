#!/usr/bin/env python3
"""Synthetic mated pairs from unlabelled aligned faces, for `vitnt calibrate --unlabelled`.

  synthetic_mates.py DIR OUT [--limit N] [--seed S] [--impostors K]

For each face (a seeded random subset of N): a reference, the face under a mild random
geometric / photometric change (a "good-quality capture"), and a probe, another such
change followed in 80 % of cases by one degradation of the tools/eval recipe (blur,
downscale, JPEG, noise, low light, occlusion; severity uniform in [0.1, 1], as
make_degraded_lfw.py). Writes OUT/ref/NNNNN.png, OUT/probe/NNNNN.png (lossless) and
OUT/pairs.csv: `a,b,genuine` with the genuine pair (ref_i, probe_i) and K impostor pairs
(ref_j, probe_i), j != i, per face.

What this over- and under-estimates (README "The scalar"): a synthetic mate is the same
photo, so pose, expression, illumination, age and camera never differ between the two
images; real mates are harder, and a scalar fitted this way is optimistic for real
comparisons, most of all for clean images. Degradations outside the recipe (motion
blur, extreme pose, make-up) are not represented at all.
"""
import argparse
import glob
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "distill"))
from distill import DEGRADATIONS, degrade, warp_and_flip  # noqa: E402


def mild_change(img, rng):
    out = warp_and_flip(img, rng, 6, 0.05)
    f = out.astype(np.float32)
    f = (f - f.mean()) * rng.uniform(0.85, 1.15) + f.mean() * rng.uniform(0.85, 1.15)
    return np.clip(f, 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--impostors", type=int, default=20)
    a = ap.parse_args()
    files = sorted(f for ext in ("jpg", "jpeg", "png", "bmp", "webp")
                   for f in glob.glob(os.path.join(a.dir, "**", "*." + ext), recursive=True))
    if len(files) < 2:
        sys.exit(f"{a.dir}: fewer than 2 images")
    rng = np.random.default_rng(a.seed)
    files = [files[i] for i in sorted(rng.permutation(len(files))[:a.limit])]
    for d in ("ref", "probe"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    refs, probes, used = [], [], []
    for i, f in enumerate(files):
        img = cv2.imread(f, cv2.IMREAD_COLOR)
        if img is None or img.shape[:2] != (112, 112):
            print(f"{f}: not a readable 112x112 crop (skipped)", file=sys.stderr)
            continue
        ref = mild_change(img, rng)
        probe = mild_change(img, rng)
        if rng.random() < 0.8:
            probe = degrade(probe, rng, DEGRADATIONS[rng.integers(len(DEGRADATIONS))],
                            float(rng.uniform(0.1, 1.0)))
        n = len(refs)
        rp = os.path.abspath(os.path.join(a.out, "ref", f"{n:05d}.png"))
        pp = os.path.abspath(os.path.join(a.out, "probe", f"{n:05d}.png"))
        cv2.imwrite(rp, ref)
        cv2.imwrite(pp, probe)
        refs.append(rp)
        probes.append(pp)
        used.append(f)
    n = len(refs)
    tmp = os.path.join(a.out, ".pairs.csv.tmp")
    with open(tmp, "w") as out:
        out.write("a,b,genuine\n")
        for i in range(n):
            out.write(f"{refs[i]},{probes[i]},1\n")
            others = rng.choice(n - 1, size=min(a.impostors, n - 1), replace=False)
            for j in others:
                j = int(j) + (j >= i)
                out.write(f"{refs[j]},{probes[i]},0\n")
    os.replace(tmp, os.path.join(a.out, "pairs.csv"))
    with open(os.path.join(a.out, "sources.txt"), "w") as s:
        s.write("\n".join(used) + "\n")
    print(f"{n} synthetic mated pairs, {n * min(a.impostors, n - 1)} impostor pairs -> {a.out}")


if __name__ == "__main__":
    main()
