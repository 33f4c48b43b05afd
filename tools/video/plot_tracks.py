#!/usr/bin/env python3
"""Quality over time per face track, for a `vitnt best` output folder (matplotlib).

  plot_tracks.py OUT_DIR

Reads OUT_DIR/summary.json and OUT_DIR/tracks.csv and writes, per source with faces,
OUT_DIR/<dir>/quality.png: one line per track, the kept faces marked with their rank.
Written atomically (temporary file, then rename). Called by `vitnt best`; Debian's
/usr/bin/python3.
"""
import csv
import json
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(out_dir):
    with open(os.path.join(out_dir, "summary.json")) as f:
        dirs = {s["source"]: s["dir"] for s in json.load(f)["sources"]}
    tracks = defaultdict(lambda: defaultdict(list))  # source -> track -> rows
    with open(os.path.join(out_dir, "tracks.csv"), newline="") as f:
        for r in csv.DictReader(f):
            tracks[r["source"]][int(r["track"])].append(r)
    for source, by_track in tracks.items():
        fig, ax = plt.subplots(figsize=(9, 3.2))
        for k in sorted(by_track):
            rows = by_track[k]
            t = [float(r["time_s"]) for r in rows]
            q = [float(r["quality"]) for r in rows]
            (line,) = ax.plot(t, q, marker=".", markersize=3, linewidth=1, label=f"track {k}")
            for r in rows:
                if int(r["rank"]) > 0:
                    x, y = float(r["time_s"]), float(r["quality"])
                    ax.plot([x], [y], marker="*", markersize=12, color=line.get_color(),
                            markeredgecolor="black")
                    ax.annotate(f"#{r['rank']}", (x, y), textcoords="offset points",
                                xytext=(4, 6), fontsize=8)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("quality Q")
        ax.set_title(os.path.basename(source.rstrip("/")) + ": quality per track (* kept)",
                     fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best", ncol=max(1, len(by_track) // 6 + 1))
        path = os.path.join(out_dir, dirs[source], "quality.png")
        tmp = f"{path}.tmp.{os.getpid()}"
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        os.replace(tmp, path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
