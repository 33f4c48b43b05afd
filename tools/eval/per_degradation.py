#!/usr/bin/env python3
"""Per-degradation breakdown of LFW-degraded: pAUC per degradation kind.

  per_degradation.py --manifest runs/lfw_degraded/manifest.csv \
      --scores EVAL_DIR/scores.csv --out OUT [--vitnt build/vitnt] [--fmr 1e-3] \
      -q vitnt=q_vitnt.csv -q lightqnet=q_lightqnet.csv ...

For each kind in the manifest (pair index, kind, severity; tools/eval/make_degraded_lfw.py)
writes OUT/pairs_KIND.csv: the genuine pairs whose second image got that degradation plus
ALL impostor pairs, with the comparison scores of an earlier `vitnt eval` (its
scores.csv), so the FMR threshold is the same for every kind and no FR model runs again.
Then `vitnt eval` on each file (random and oracle always included) and OUT/table.md:
pAUC@0.3 (x1e-3) at the FMR, and its ratio to the random quality's.
"""
import argparse
import csv
import json
import os
import re
import subprocess
from collections import defaultdict


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", required=True)
    p.add_argument("--scores", required=True, help="scores.csv of a vitnt eval on pairs.csv")
    p.add_argument("--out", required=True)
    p.add_argument("--vitnt", default="build/vitnt")
    p.add_argument("--fmr", default="1e-3")
    p.add_argument("-q", action="append", default=[], help="NAME=FILE quality file (repeat)")
    a = p.parse_args()
    kind = {int(r["pair"]): r["kind"] for r in csv.DictReader(open(a.manifest))}
    rows = list(csv.DictReader(open(a.scores)))
    gen, imp = defaultdict(list), []
    for r in rows:
        m = re.search(r"pair(\d+)\.png$", r["b"])
        if not m:
            raise SystemExit(f"{a.scores}: second image {r['b']} is not a degraded pairNNNN.png")
        (gen[kind[int(m.group(1))]] if r["genuine"] == "1" else imp).append(r)
    os.makedirs(a.out, exist_ok=True)
    names = [q.split("=", 1)[0] for q in a.q]
    cols = names + ["random", "oracle"]
    out = [f"pAUC@0.3 (x1e-3) at FMR {a.fmr}, and vs random; genuine pairs of each kind + all "
           f"{len(imp)} impostor pairs (one threshold)", "",
           "| degradation | genuine | FNMR at 0 | " + " | ".join(cols) + " |",
           "|---|---|---|" + "---|" * len(cols)]
    for k in sorted(gen):
        path = os.path.join(a.out, f"pairs_{k}.csv")
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["a", "b", "genuine", "score", "fold"])
            w.writeheader()
            for r in gen[k] + imp:
                w.writerow({c: r[c] for c in w.fieldnames})
        d = os.path.join(a.out, k)
        cmd = [a.vitnt, "eval", "--pairs", path, "--fmr", a.fmr, "--no-report", "-o", d]
        for q in a.q:
            cmd += ["-q", q]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        s = json.load(open(os.path.join(d, "summary.json")))
        by = {m["name"]: m for m in s["results"][0]["methods"]}
        rnd = by["random"]["pauc_0.3"]
        out.append(f"| {k} | {len(gen[k])} | {100 * by['random']['fnmr_at_0']:.1f} % | " + " | ".join(
            f"{1e3 * by[c]['pauc_0.3']:.2f} ({by[c]['pauc_0.3'] / rnd:.2f}x)" for c in cols) + " |")
    text = "\n".join(out) + "\n"
    open(os.path.join(a.out, "table.md"), "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
