#!/usr/bin/env python3
"""The glint12 gate of the v3 selection protocol (docs/distillation.md, "v3 (issue #38)").

glint12 (../shared/data/glint12: 5,156 in-the-wild photos of 12 people; 4,800 genuine and
40,000 impostor pairs) is a VALIDATION set: nothing is trained on it. For every method the
pair quality is min(Q_a, Q_b) and the figure is pAUC@0.3 of the EDC at FMR 1e-3 (x1e-3,
lower is better), with EdgeFace-XS comparisons and with each ViTNT model's own embedding;
95 % bootstrap intervals over the genuine pairs (impostors, so the threshold, fixed; one
resample for all methods, so differences against --baseline are paired).

    /usr/bin/python3 tools/distill/glint12_gate.py --vitnt runs/vitnt --work runs/glint12 \\
        v2=models/vitnt-s16.safetensors LightQNet=models/peers/lightqnet.json c1=runs/c1/c1.safetensors

NAME=PATH: a .safetensors is a ViTNT model (its Q, and its embedding as one more FR
system), a .json an external quality network (`vitnt score --method external`). Scores,
comparison scores and `vitnt eval` outputs are cached in --work (delete a file to redo
it). The pAUC is computed here from `vitnt eval`'s per-pair scores (scores.csv) and the
quality CSVs, and checked against `vitnt eval`'s own figures (summary.json) for every method
that run scored; a method added later reuses the cached comparison scores (the embeddings
do not depend on the quality method), checked by the same code.
"""
import argparse
import csv
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("VITNT_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))


def threshold(impostor, fmr):
    """vitnt eval's: the smallest impostor score t with #(impostor > t) / #impostor <= fmr."""
    s = np.sort(impostor)
    above = len(s) - np.searchsorted(s, s, side="right")
    ok = np.nonzero(above / len(s) <= fmr)[0]
    return float(s[ok[0]])


def pauc(fail, quality, max_discard=0.3, step=0.001):
    """pAUC of the EDC: discard floor(r G) lowest-quality genuine pairs (ties by input
    order), FNMR of the rest; trapezoid over r = 0..max_discard, not normalised.
    fail: bool per genuine pair (comparison score <= t), quality: per genuine pair."""
    g = len(fail)
    order = np.argsort(quality, kind="stable")
    f = fail[order].astype(np.float64)
    suffix = np.concatenate([np.cumsum(f[::-1])[::-1], [0.0]])  # failures among k..G-1
    r = np.round(np.arange(0, int(round(max_discard / step)) + 1) * step, 6)
    k = np.floor(r * g + 1e-9).astype(int)
    fnmr = suffix[k] / np.maximum(g - k, 1)
    return float(np.sum((fnmr[1:] + fnmr[:-1]) * 0.5 * np.diff(r)))


def bootstrap(fails, qualities, n_boot, seed):
    """fails / qualities: dict name -> per-genuine-pair arrays (same pairs). Returns
    name -> array of n_boot pAUCs on shared resamples (kept in input order, so ties keep
    resolving by input order)."""
    g = len(next(iter(fails.values())))
    rng = np.random.default_rng(seed)
    out = {n: np.empty(n_boot) for n in fails}
    for b in range(n_boot):
        idx = np.sort(rng.integers(0, g, g))
        for n in fails:
            out[n][b] = pauc(fails[n][idx], qualities[n][idx])
    return out


def read_quality(path):
    with open(path) as f:
        return {r["path"]: float(r["quality"]) for r in csv.DictReader(f)}


def read_scores(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return ([r["a"] for r in rows], [r["b"] for r in rows],
            np.array([int(r["genuine"]) for r in rows]), np.array([float(r["score"]) for r in rows]))


def run(cmd):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vitnt", default="build/vitnt")
    p.add_argument("--data", default=os.path.join(SHARED, "data", "glint12"))
    p.add_argument("--edgeface", default=os.path.join(SHARED, "models", "edgeface_xs.onnx"))
    p.add_argument("--work", default="runs/glint12")
    p.add_argument("--fmr", type=float, default=1e-3)
    p.add_argument("--boot", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--baseline", default="v2", help="NAME the differences are taken against")
    p.add_argument("methods", nargs="+", help="NAME=PATH (.safetensors or peer .json)")
    a = p.parse_args()
    methods = [m.split("=", 1) for m in a.methods]
    if any(len(m) != 2 for m in methods):
        sys.exit("methods: NAME=PATH")
    names = [n for n, _ in methods]
    if a.baseline not in names:
        sys.exit(f"--baseline {a.baseline}: not one of {names}")
    root = os.path.realpath(a.data)
    pairs = os.path.join(root, "pairs.csv")
    os.makedirs(a.work, exist_ok=True)
    with open(pairs) as f:
        rows = list(csv.DictReader(f))
    listing = os.path.join(a.work, "list.txt")
    images = sorted({os.path.join(root, r[k]) for r in rows for k in ("a", "b")})
    with open(listing, "w") as f:
        f.write("\n".join(images) + "\n")
    # quality per image
    qfiles = {}
    for name, path in methods:
        out = os.path.join(a.work, f"q_{name}.csv")
        if not os.path.exists(out):
            flags = (["--model", path] if path.endswith(".safetensors")
                     else ["--method", "external", "--quality-model", path])
            run([a.vitnt, "score", *flags, "--threads", str(a.threads), "-o", out + ".tmp",
                 "@" + listing])
            os.replace(out + ".tmp", out)
        qfiles[name] = out
    quality = {n: read_quality(f) for n, f in qfiles.items()}
    rng = np.random.default_rng(a.seed)
    quality["random"] = dict(zip(images, rng.random(len(images))))
    # comparison systems: EdgeFace-XS and each ViTNT model's own embedding
    systems = [("EdgeFace-XS", ["--fr", "onnx", "--fr-model", a.edgeface, "--fr-order", "RGB",
                                "--fr-mean", "127.5", "--fr-std", "127.5"])]
    systems += [(f"own:{n}", ["--fr", "vit", "--model", p]) for n, p in methods
                if p.endswith(".safetensors")]
    qflags = [x for n in names for x in ("-q", f"{n}={qfiles[n]}")]
    report = {"fmr": a.fmr, "boot": a.boot, "seed": a.seed, "systems": {}}
    for sysname, flags in systems:
        d = os.path.join(a.work, "eval_" + sysname.replace(":", "_"))
        summary = os.path.join(d, "summary.json")
        have = set()
        if os.path.exists(summary):
            with open(summary) as f:
                have = {m["name"] for m in json.load(f)["results"][0]["methods"]}
        reuse = have and not set(names) <= have and os.path.exists(os.path.join(d, "scores.csv"))
        if reuse:  # the comparison scores do not depend on the quality methods: reuse them
            print(f"{sysname}: reusing {d}/scores.csv (vitnt eval's check covers "
                  f"{', '.join(sorted(have & set(names)))})", file=sys.stderr)
        elif not set(names) <= have:
            run([a.vitnt, "eval", "--pairs", pairs, "--images-root", root, *flags, *qflags,
                 "--threads", str(a.threads), "--fmr", str(a.fmr), "--no-report", "-o", d])
        with open(summary) as f:
            res = [r for r in json.load(f)["results"] if abs(r["fmr"] - a.fmr) < 1e-12][0]
        theirs = {m["name"]: m["pauc_0.3"] for m in res["methods"]}
        pa, pb, gen, score = read_scores(os.path.join(d, "scores.csv"))
        t = threshold(score[gen == 0], a.fmr)
        fail = score[gen == 1] <= t
        ga = [x for x, g in zip(pa, gen) if g == 1]
        gb = [x for x, g in zip(pb, gen) if g == 1]
        shown = [n for n in names if not sysname.startswith("own:") or
                 n == sysname[4:] or not methods[names.index(n)][1].endswith(".safetensors")]
        shown.append("random")
        qual = {n: np.minimum([quality[n][x] for x in ga], [quality[n][x] for x in gb])
                for n in shown}
        point = {n: pauc(fail, qual[n]) for n in shown}
        if abs(t - res["threshold"]) > 1e-6:
            sys.exit(f"{sysname}: threshold {t} here, {res['threshold']} in {summary}")
        for n in names:  # the same figure as vitnt eval's (its random is its own draw)
            if n in shown and n in theirs and abs(point[n] - theirs[n]) > 1e-9:
                sys.exit(f"{sysname} {n}: pAUC {point[n]:.9f} here, {theirs[n]:.9f} in {summary}")
        boot = bootstrap({n: fail for n in shown}, qual, a.boot, a.seed)
        report["systems"][sysname] = {
            "threshold": t, "genuine": int(gen.sum()), "impostor": int((gen == 0).sum()),
            "fnmr_at_0": float(fail.mean()), "reliable": bool(res.get("reliable", True)),
            "methods": {n: {"pauc_0.3": point[n], "boot": boot[n]} for n in shown}}
    # own embeddings: every ViTNT model under its own system, paired by genuine pair
    own = {n: report["systems"][f"own:{n}"]["methods"][n] for n, p in methods
           if p.endswith(".safetensors")}

    def line(label, m, base):
        lo, hi = np.percentile(m["boot"], [2.5, 97.5]) * 1e3
        txt = f"| {label} | {m['pauc_0.3'] * 1e3:.2f} [{lo:.2f}, {hi:.2f}]"
        if base is not None and m is not base:
            diff = (m["boot"] - base["boot"]) * 1e3
            dlo, dhi = np.percentile(diff, [2.5, 97.5])
            txt += (f" | {(m['pauc_0.3'] - base['pauc_0.3']) * 1e3:+.2f} [{dlo:+.2f}, {dhi:+.2f}]"
                    f" | {100 * np.mean(diff < 0):.1f} %")
        else:
            txt += " | | "
        return txt + " |"

    print(f"\nglint12: pAUC@0.3 at FMR {a.fmr:g} (x1e-3, lower is better); 95 % intervals "
          f"from {a.boot} bootstrap resamples of the genuine pairs (paired); "
          f"'better' = share of resamples where the method is below {a.baseline}\n")
    head = f"| method | pAUC@0.3 [95 %] | minus {a.baseline} [95 %] | better |\n|---|---|---|---|"
    for sysname, s in report["systems"].items():
        if sysname.startswith("own:"):
            continue
        print(f"{sysname} (t = {s['threshold']:.4f}, FNMR@0 {s['fnmr_at_0']:.4f}, "
              f"{s['genuine']} genuine, {s['impostor']} impostor)\n\n{head}")
        for n, m in s["methods"].items():
            print(line(n, m, s["methods"][a.baseline]))
        print()
    if own:
        print(f"own embedding (each ViTNT model's Q with its own embedding; peers with "
              f"{a.baseline}'s embedding)\n\n{head}")
        for n, m in own.items():
            s = report["systems"][f"own:{n}"]
            print(line(f"{n} (FNMR@0 {s['fnmr_at_0']:.4f})", m, own.get(a.baseline)))
        if a.baseline in own:
            for n, m in report["systems"][f"own:{a.baseline}"]["methods"].items():
                if n not in own:
                    print(line(f"{n} ({a.baseline}'s embedding)", m, own[a.baseline]))
        print()
    for s in report["systems"].values():
        for m in s["methods"].values():
            m["boot_95"] = [float(x) for x in np.percentile(m["boot"], [2.5, 97.5])]
            del m["boot"]
    with open(os.path.join(a.work, "gate.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
