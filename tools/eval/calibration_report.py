#!/usr/bin/env python3
"""Markdown tables and a reliability diagram from calibration_check.sh's eval runs.

  calibration_report.py OUT_DIR MODEL   -> OUT_DIR/reliability.png, markdown on stdout
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SETS = [("lfwdeg", "LFW-degraded"), ("cfpfp", "CFP-FP")]
FRS = [("own", "own embedding (block own)"), ("edgeface", "EdgeFace-XS (block edgeface-xs)")]


def vitnt_row(path):
    s = json.load(open(path))
    r = [x for x in s["results"] if abs(x["fmr"] - 1e-3) < 1e-12][0]
    return s, r, [m for m in r["methods"] if m["name"] == "vitnt"][0]


def main():
    out, model = sys.argv[1], sys.argv[2]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    print(f"Model `{os.path.basename(model)}`, FMR 1e-3, pair scalar = the lower of the two.\n")
    print("| set | comparisons by | genuine pairs | threshold (impostors above) | observed match "
          "rate | mean predicted | ECE, 10 equal-count bins | ECE, equal-width |")
    print("|---|---|---|---|---|---|---|---|")
    tables = []
    k = 0
    for tag, set_name in SETS:
        for fr, fr_name in FRS:
            s, r, m = vitnt_row(os.path.join(out, f"{tag}_{fr}", "summary.json"))
            if "reliability_equal_count" not in m:
                sys.exit(f"{tag}_{fr}: no ECE: {m.get('reliability_not_shown', 'no scalar')}")
            wide = m["reliability"]
            rel = m["reliability_equal_count"]
            bins = [b for b in rel["bins"] if b["n"]]
            n = sum(b["n"] for b in bins)
            obs = sum(b["n"] * b["observed"] for b in bins) / n
            pred = sum(b["n"] * b["predicted"] for b in bins) / n
            print(f"| {set_name} | {fr_name} | {n} | {r['threshold']:.4f} "
                  f"({r['impostors_above_threshold']}) | {obs:.3f} | "
                  f"{pred:.3f} | **{rel['ece']:.3f}** | {wide['ece']:.3f} |")
            ax = axes[k]
            k += 1
            ax.plot([0, 1], [0, 1], "k--", lw=0.8)
            ax.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], "o-",
                    label="bin: mean prediction vs observed")
            ax.set_title(f"{set_name}, {fr}: ECE {rel['ece']:.3f}", fontsize=10)
            ax.set_xlabel("scalar / 100 (10 equal-count bins of genuine pairs)")
            ax.set_ylabel("observed match rate")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
            tables.append((set_name, fr, bins, m))
    fig.tight_layout()
    fig.savefig(os.path.join(out, "reliability.png"), dpi=100)
    for set_name, fr, bins, m in tables:
        print(f"\n**{set_name}, {fr}**: per equal-count bin of the pair scalar — [lo, hi] n / "
              "mean predicted / observed: " + "; ".join(f"[{b['lo']:.2f}, {b['hi']:.2f}] {b['n']} / "
                                                        f"{b['predicted']:.2f} / {b['observed']:.2f}"
                                                        for b in bins))
        cuts = ", ".join(f"scalar >= {c['scalar_at_least']}: discard {100 * c['discarded']:.1f} %"
                         f", FNMR {c['fnmr_kept']:.4f}" for c in m["scalar_cutoffs"])
        th = ", ".join(f"discard {100 * t['discard']:.0f} %: Q < {t['quality_below_discarded']:.5f}"
                       f", FNMR {t['fnmr_kept']:.4f}" for t in m["thresholds"])
        print(f"  Cut-offs: {cuts}. NIST points: {th}.")


if __name__ == "__main__":
    main()
