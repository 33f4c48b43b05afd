#!/usr/bin/env python3
"""Plots and a self-contained report.html for a `vitnt eval` summary.json (matplotlib).

  report.py OUT_DIR/summary.json [--log]

Writes, next to summary.json: edc_fmr<F>.png/.svg (all methods on one chart),
quality_hist.png, and report.html (plots, the table, score distributions, galleries of
the lowest- and highest-quality faces with their ViTNT patch maps overlaid when the
quality file has them). Called by `vitnt eval`; Debian's /usr/bin/python3.
"""
import argparse
import base64
import csv
import html
import io
import json
import os

import matplotlib

matplotlib.use("Agg")
import cv2  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_quality(path):
    """path -> (quality, patch map or None, {region: value}, scalar or None) from a vitnt
    score CSV/JSONL (or any path,quality CSV)."""
    out = {}
    with open(path) as f:
        first = f.readline()
        f.seek(0)
        if first.startswith("{"):
            for line in f:
                j = json.loads(line)
                out[j["path"]] = (j["quality"], j.get("patch_quality"), j.get("regions") or {},
                                  j.get("scalar"))
        else:
            r = csv.reader(f)
            head = next(r)
            qi, pi = head.index("quality"), head.index("path")
            si = head.index("scalar") if "scalar" in head else None
            qcols = [i for i, h in enumerate(head) if h.startswith("q_")]
            rcols = [(i, h[len("region_"):]) for i, h in enumerate(head) if h.startswith("region_")]
            for row in r:
                pm = [float(row[i]) for i in qcols] if qcols else None
                reg = {name: float(row[i]) for i, name in rcols}
                sc = int(row[si]) if si is not None and row[si] else None
                out[row[pi]] = (float(row[qi]), pm, reg, sc)
    return out


def region_caption(regions):
    """The four main regions' values, lowest marked: where the face is worst."""
    four = [(k, regions[k]) for k in ("left_eye", "right_eye", "nose", "mouth") if k in regions]
    if not four:
        return ""
    low = min(four, key=lambda kv: kv[1])[0]
    short = {"left_eye": "L eye", "right_eye": "R eye", "nose": "nose", "mouth": "mouth"}
    return "<br>" + " ".join((f"<b>{short[k]} {v:.4f}</b>" if k == low else f"{short[k]} {v:.4f}")
                             for k, v in four)


def png_b64(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def overlay(path, patch_map, vmin, vmax):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        return None
    rgb = img[..., ::-1]
    fig, ax = plt.subplots(figsize=(1.6, 1.6))
    ax.imshow(rgb)
    if patch_map:
        g = int(round(len(patch_map) ** 0.5))
        pm = np.array(patch_map).reshape(g, g)
        ax.imshow(pm, cmap="RdYlGn", alpha=0.45, extent=(0, 112, 112, 0),
                  vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.axis("off")
    return png_b64(fig)


def groups_section(g, out_dir):
    """Per method and attribute: the share of each group rejected at the two global
    quality cuts (bars), and the differentials with their intervals (table)."""
    parts = [f"<h2>Quality by group ({html.escape(g['file'])}, {g['images']} images)</h2>",
             f"<p><small>{html.escape(g['definition'])}</small></p>"]
    for m in g["methods"]:
        attrs = m["attributes"]
        fig, axes = plt.subplots(1, len(attrs), figsize=(5 * len(attrs), 3.5), squeeze=False)
        for ax, at in zip(axes[0], attrs):
            names = [x["group"] for x in at["groups"]]
            xs = np.arange(len(names))
            for k, (cut, w) in enumerate(((0, -0.2), (1, 0.2))):
                ax.bar(xs + w, [x["rejected"][cut] for x in at["groups"]], width=0.4,
                       label=m["cuts"][cut]["name"])
            ax.set_xticks(xs)
            ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
            ax.set_ylabel("share of the group rejected")
            ax.set_title(f"{m['method']}: {at['attribute']}", fontsize=10)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, f"groups_{m['method']}.png"), bbox_inches="tight")
        parts.append(f"<h3>{html.escape(m['method'])}</h3>"
                     f"<img src='data:image/png;base64,{png_b64(fig)}'>")
        rows = "".join(
            f"<tr><td>{html.escape(at['attribute'])}</td><td>{html.escape(d['cut'])}</td>"
            f"<td>{d['ratio_text']}</td><td>[{d['lo_text']}, {d['hi_text']}]</td>"
            f"<td>{d['p_value']:.3f}</td>"
            f"<td>{html.escape(d['highest'])}</td><td>{html.escape(d['lowest'])}</td></tr>"
            for at in attrs for d in at["differentials"])
        parts.append("<table border=1 cellpadding=4><tr><th>attribute</th><th>cut</th>"
                     "<th>differential (highest / lowest rejection)</th><th>95 % interval</th>"
                     "<th>permutation p</th>"
                     "<th>most rejected</th><th>least rejected</th></tr>" + rows + "</table>")
    return parts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("summary")
    ap.add_argument("--log", action="store_true")
    a = ap.parse_args()
    out_dir = os.path.dirname(os.path.abspath(a.summary))
    s = json.load(open(a.summary))
    parts = ["<h1>vitnt eval</h1>"]
    if s["pairs_file"]:
        parts += [f"<p>{html.escape(s['pairs_file'])}: {s['pairs']} pairs "
                  f"({s['genuine']} genuine, {s['impostor']} impostor); comparison model: "
                  f"{html.escape(json.dumps(s['fr']))}; verification accuracy "
                  f"{s['verification']['accuracy_mean']:.4f} &plusmn; "
                  f"{s['verification']['accuracy_std']:.4f}"
                  + (f", TAR@FAR=1e-3 {s['verification']['tar_at_far_1e-3']:.4f}"
                     if 'tar_at_far_1e-3' in s['verification'] else "") + "</p>",
                  f"<p><small>{html.escape(s['definition'])}</small></p>"]
    for r in s["results"]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for m in r["methods"]:
            style = "--" if m["name"] in ("random", "oracle") else "-"
            ax.plot(m["discard"], m["fnmr"], style,
                    label=f"{m['name']} (pAUC@0.3 {m['pauc_0.3']:.4f})")
        ax.set_xlabel("fraction of genuine pairs discarded (lowest quality first)")
        ax.set_ylabel("FNMR")
        if a.log:
            ax.set_yscale("log")
        ax.set_title(f"EDC at FMR = {r['fmr']:g} (threshold {r['threshold']:.4f})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        tag = f"{r['fmr']:g}"
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out_dir, f"edc_fmr{tag}.{ext}"), bbox_inches="tight")
        parts.append(f"<h2>FMR {tag}</h2><img src='data:image/png;base64,{png_b64(fig)}'>")
        rows = "".join(
            f"<tr><td>{html.escape(m['name'])}</td><td>{m['fnmr_at_0']:.5f}</td>"
            f"<td>{m['pauc_0.2']:.5f}</td><td>{m['pauc_0.3']:.5f}</td>"
            f"<td>{html.escape(m['cost'])}</td></tr>" for m in r["methods"])
        parts.append("<table border=1 cellpadding=4><tr><th>method</th><th>FNMR@0</th>"
                     "<th>pAUC@0.2</th><th>pAUC@0.3</th><th>cost</th></tr>" + rows +
                     "</table>")
    # score distributions and galleries, for methods that come from quality files
    sources = [(m["name"], m["source"]) for m in s["results"][0]["methods"] if m["source"]] \
        if s["results"] else []
    if sources:
        fig, axes = plt.subplots(1, len(sources), figsize=(4 * len(sources), 3), squeeze=False)
        for ax, (name, src) in zip(axes[0], sources):
            q = np.array([v[0] for v in read_quality(src).values()])
            ax.hist(q, bins=60)
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("quality")
        fig.savefig(os.path.join(out_dir, "quality_hist.png"), bbox_inches="tight")
        parts.append("<h2>Score distributions</h2>"
                     f"<img src='data:image/png;base64,{png_b64(fig)}'>")
        for name, src in sources:
            q = read_quality(src)
            order = sorted(q, key=lambda p: q[p][0])
            # one colour scale for the whole gallery, so patches compare across faces
            maps = [v[1] for v in q.values() if v[1]]
            vmin = float(np.percentile(np.concatenate(maps), 1)) if maps else 0.0
            vmax = float(np.percentile(np.concatenate(maps), 99)) if maps else 1.0
            parts.append(f"<h2>{html.escape(name)}: lowest and highest quality</h2>")
            for label, sel in (("lowest", order[:8]), ("highest", order[-8:][::-1])):
                cells = []
                for p in sel:
                    b64 = overlay(p, q[p][1], vmin, vmax)
                    if b64:
                        cells.append(f"<figure style='display:inline-block;margin:2px'>"
                                     f"<img src='data:image/png;base64,{b64}'><figcaption>"
                                     f"<small>{q[p][0]:.4f}"
                                     + (f" (scalar {q[p][3]})" if q[p][3] is not None else "")
                                     + f"<br>{html.escape(os.path.basename(p))}"
                                     f"{region_caption(q[p][2])}"
                                     f"</small></figcaption></figure>")
                parts.append(f"<h3>{label}</h3>" + "".join(cells))
            parts.append("<p><small>Overlay: per-patch quality q_p (green high, red low) when "
                         "the quality file has patch maps (vitnt score --patch-map); region "
                         "values (vitnt score --regions) under each face, the lowest in bold."
                         "</small></p>")
    if "groups" in s:
        parts += groups_section(s["groups"], out_dir)
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>vitnt eval</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
            "td,th{font-size:13px}</style></head><body>" + "\n".join(parts) + "</body></html>")
    tmp = os.path.join(out_dir, "report.html.tmp")
    with open(tmp, "w") as f:
        f.write(page)
    os.replace(tmp, os.path.join(out_dir, "report.html"))


if __name__ == "__main__":
    main()
