#!/usr/bin/env python3
"""Markdown tables of `vitnt eval --groups` summaries (docs/fairness.md).

    fairness_table.py runs/fairness/val/summary.json [--cuts "discard 5 %,discard 20 %"]
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("summary")
    ap.add_argument("--cuts", default="discard 5 %,discard 20 %")
    a = ap.parse_args()
    g = json.load(open(a.summary))["groups"]
    cuts = a.cuts.split(",")
    print(f"{g['images']} images; differential = highest / lowest group rejection share at a "
          "global cut, [95 % interval of that pair's ratio], permutation p.\n")
    print("| method | attribute | " + " | ".join(cuts) + " |")
    print("|---|---|" + "---|" * len(cuts))
    for m in g["methods"]:
        for at in m["attributes"]:
            cells = []
            for c in cuts:
                d = [x for x in at["differentials"] if x["cut"] == c]
                if not d:
                    cells.append("—")
                    continue
                d = d[0]
                cells.append(f"{d['ratio_text']} [{d['lo_text']}, {d['hi_text']}] p {d['p_value']:.3f}"
                             f" ({d['highest']} / {d['lowest']})")
            print(f"| {m['method']} | {at['attribute']} | " + " | ".join(cells) + " |")
    print("\nShare rejected at the 20 % cut, per group:\n")
    for m in g["methods"]:
        for at in m["attributes"]:
            k = [c["name"] for c in m["cuts"]].index("discard 20 %")
            print(f"- {m['method']}, {at['attribute']}: " + ", ".join(
                f"{x['group']} {100 * x['rejected'][k]:.0f} % (n {x['n']})" for x in at["groups"]))


if __name__ == "__main__":
    main()
