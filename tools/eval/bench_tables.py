#!/usr/bin/env python3
"""Markdown tables from `vitnt eval` summary.json files (one table per file).

  bench_tables.py DIR/summary.json... [--order vitnt,vitnt-uniform,...]

Per method: pAUC@0.2 / pAUC@0.3 (x1e-3, not normalised, lower is better) at each FMR of
the run, and pAUC@0.3 relative to the seeded random quality; the comparison model's
10-fold verification accuracy (folds from the pairs file) and TAR@FAR=1e-3 on top.
"""
import argparse
import json
import os

ORDER = ["vitnt", "vitnt-attention-all", "vitnt-uniform", "vitnt-early-half", "vitnt-all-blocks",
         "vitnt-late-half", "vitnt-random-init", "lightqnet", "fqa", "embedding-norm", "ser-fiq",
         "laplacian-variance", "random", "oracle"]


def table(path):
    s = json.load(open(path))
    v = s["verification"]
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
