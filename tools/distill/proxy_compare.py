#!/usr/bin/env python3
"""Where a quality score stands on the settings set (FairFace val, each image clean and
under every degradation of distill.py, utility = teacher cosine to the mirrored clean
image): the Spearman of each method's score with the utility, over all variants and per
degradation kind. The same set `export` chooses the ViTNT settings on, so a model's
figure here is the `rho` it prints; peers are scored by `vitnt score --method external`.
FairFace only: comparing here tunes nothing on the evaluation sets.

    /usr/bin/python3 tools/distill/proxy_compare.py --set runs/v1-cont120/settings_set.npz \
        v1=models/vitnt-s16.safetensors lightqnet=models/peers/lightqnet.json ...

A NAME=PATH ending in .safetensors is scored as a ViTNT model with its own settings, a
.json as an external quality network. Scores are cached in --work (one CSV per name).
"""
import argparse
import csv
import os
import subprocess
import sys

import cv2
import numpy as np
from scipy.stats import spearmanr

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import distill  # noqa: E402

KINDS = ["clean"] + distill.DEGRADATIONS  # the interleaving of distill.settings_set


def write_images(rgb, work):
    listing = os.path.join(work, "list.txt")
    if os.path.exists(listing):
        with open(listing) as f:
            n = len(f.read().split())
        if n != len(rgb):  # the PNGs and cached scores are of another set
            sys.exit(f"{listing}: {n} images, this set has {len(rgb)}: use another --work")
        return listing
    paths = []
    for i, im in enumerate(rgb):
        p = os.path.join(work, f"{i:05d}.png")
        cv2.imwrite(p, np.ascontiguousarray(im[..., ::-1]))  # the set holds RGB
        paths.append(p)
    with open(listing + ".tmp", "w") as f:
        f.write("\n".join(paths) + "\n")
    os.replace(listing + ".tmp", listing)
    return listing


def score(vitnt, name, path, listing, work):
    """Scores in the listing's order (joined by path: the CSV's row order is not relied on)."""
    out = os.path.join(work, f"q_{name}.csv")
    if not os.path.exists(out):
        flags = (["--model", path] if path.endswith(".safetensors")
                 else ["--method", "external", "--quality-model", path])
        subprocess.run([vitnt, "score", *flags, "-o", out, "@" + listing], check=True)
    with open(out) as f:
        by_path = {r["path"]: r["quality"] for r in csv.DictReader(f)}
    with open(listing) as f:
        paths = f.read().split()
    missing = [p for p in paths if not by_path.get(p)]
    if missing:
        sys.exit(f"{out}: no score for {len(missing)} of {len(paths)} images, e.g. {missing[0]}")
    return np.array([float(by_path[p]) for p in paths])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--set", required=True, help="settings_set.npz written by distill.py export")
    p.add_argument("--work", default="runs/proxy", help="PNGs and score CSVs")
    p.add_argument("--vitnt", default="build/vitnt")
    p.add_argument("--extra-kinds", default="",
                   help="comma-separated train-only degradations (distill."
                   "TRAIN_ONLY_DEGRADATIONS) to rank as well: each a set of its own, the "
                   "FairFace-val images under that kind, built the same way (seed 3)")
    p.add_argument("methods", nargs="+", help="NAME=PATH (.safetensors or peer .json)")
    a = p.parse_args()
    extra = [k for k in a.extra_kinds.split(",") if k]
    for k in extra:
        if k not in distill.TRAIN_ONLY_DEGRADATIONS:
            sys.exit(f"--extra-kinds {k}: not one of {distill.TRAIN_ONLY_DEGRADATIONS}")
    c = np.load(a.set)
    rgb, util = c["rgb"], c["util"]
    if len(rgb) % len(KINDS):
        sys.exit(f"{a.set}: {len(rgb)} variants, not a multiple of {len(KINDS)} kinds")
    os.makedirs(a.work, exist_ok=True)
    listing = write_images(rgb, a.work)
    print(f"{len(rgb) // len(KINDS)} FairFace-val images x {len(KINDS)} variants; "
          "Spearman(Q, utility):")
    extra_sets = [extra_set(k, a.work) for k in extra]
    print(f"{'method':<14}{'all':>8}" + "".join(f"{k:>10}" for k in KINDS + extra))
    for spec in a.methods:
        name, path = spec.split("=", 1)
        q = score(a.vitnt, name, path, listing, a.work)
        if len(q) != len(util):
            sys.exit(f"{name}: {len(q)} scores for {len(util)} variants")
        per = [spearmanr(q[k::len(KINDS)], util[k::len(KINDS)])[0] for k in range(len(KINDS))]
        for lst, work, u in extra_sets:
            per.append(spearmanr(score(a.vitnt, name, path, lst, work), u)[0])
        print(f"{name:<14}{spearmanr(q, util)[0]:>8.4f}" + "".join(f"{r:>10.3f}" for r in per))


def extra_set(kind, work):
    """(listing, work folder, utility) of FairFace val under one train-only kind; made once."""
    d = os.path.join(work, kind)
    os.makedirs(d, exist_ok=True)
    cache = os.path.join(d, "set.npz")
    if not os.path.exists(cache):
        rgb, util = distill.settings_set(distill.Teacher(), kinds=[kind], clean=False)
        distill.save_npz_atomic(cache, rgb=rgb, util=util)
    c = np.load(cache)
    return write_images(c["rgb"], d), d, c["util"]


if __name__ == "__main__":
    main()
