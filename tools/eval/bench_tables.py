#!/usr/bin/env python3
"""Markdown tables from `vitnt eval` summary.json files (one table per file).

  bench_tables.py DIR/summary.json... [--order vitnt,vitnt-uniform,...]

Per method: pAUC@0.2 / pAUC@0.3 (x1e-3, not normalised, lower is better) at each FMR of
the run, and pAUC@0.3 relative to the seeded random quality; the comparison model's
10-fold verification accuracy (folds from the pairs file) and TAR@FAR=1e-3 on top.
"""
import argparse
import csv
import json
import os

import numpy as np

ORDER = ["vitnt", "vitnt-attention-all", "vitnt-uniform", "vitnt-early-half", "vitnt-all-blocks",
         "vitnt-late-half", "vitnt-random-init", "lightqnet", "fqa", "embedding-norm", "ser-fiq",
         "laplacian-variance", "random", "oracle"]


def fold_accuracy(scores_csv):
    """10-fold accuracy over the folds PRESENT in the pairs (vitnt eval's fold_accuracies
    counts folds 0..max, so 1-based folds 1..10 add an empty fold 0 scored as 0 %): per
    fold, the best-accuracy threshold on the other folds (midway to the next score, as
    src/eval/edc.cpp), applied to that fold."""
    rows = list(csv.DictReader(open(scores_csv)))
    sc = np.array([float(r["score"]) for r in rows])
    g = np.array([r["genuine"] == "1" for r in rows])
    fo = np.array([int(r.get("fold") or 0) for r in rows])
    acc = []
    for f in sorted(set(fo)):
        tr = fo != f if len(set(fo)) > 1 else np.ones_like(g)
        o = np.argsort(sc[tr], kind="stable")
        s_, g_ = sc[tr][o], g[tr][o]
        correct = g_.sum() + np.cumsum(np.where(g_, -1, 1))  # s_[:i+1] predicted impostor
        last = np.r_[s_[1:] > s_[:-1], True]
        cand = np.where(last, correct, -1)
        i = int(np.argmax(cand))
        t = s_.min() - 1 if cand[i] <= g_.sum() else (
            0.5 * (s_[i] + s_[i + 1]) if i + 1 < len(s_) else s_[i])
        acc.append(np.mean((sc[fo == f] > t) == g[fo == f]))
    return len(acc), float(np.mean(acc)), float(np.std(acc))


def table(path):
    s = json.load(open(path))
    v = dict(s["verification"])
    sp = os.path.join(os.path.dirname(path), "scores.csv")
    if os.path.exists(sp):
        v["folds"], v["accuracy_mean"], v["accuracy_std"] = fold_accuracy(sp)
    fr = s["fr"].get("model", s["fr"].get("kind", ""))
    lines = [f"**{os.path.basename(os.path.dirname(path))}** — {s['pairs']} pairs "
             f"({s['genuine']} genuine, {s['impostor']} impostor), FR {os.path.basename(str(fr))}: "
             f"{v['folds']}-fold accuracy {100 * v['accuracy_mean']:.2f} % ± {100 * v['accuracy_std']:.2f}, "
             f"TAR@FAR=1e-3 {100 * v.get('tar_at_far_1e-3', float('nan')):.2f} %", ""]
    res = s["results"]
    head = "| method |" + "".join(f" FMR {r['fmr']:g}: pAUC@0.2 / @0.3 | vs random |" for r in res)
    lines += [head, "|---|" + "---|---|" * len(res)]
    names = [m["name"] for m in res[0]["methods"]]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    for n in names:
        row = f"| {n} |"
        for r in res:
            by = {m["name"]: m for m in r["methods"]}
            m, rnd = by[n], by["random"]
            row += (f" {1e3 * m['pauc_0.2']:.2f} / {1e3 * m['pauc_0.3']:.2f} |"
                    f" {m['pauc_0.3'] / rnd['pauc_0.3']:.2f}x |")
        lines.append(row)
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("summaries", nargs="+")
    a = p.parse_args()
    for path in a.summaries:
        print(table(path))


if __name__ == "__main__":
    main()
