#!/usr/bin/env python3
"""How true the calibrated scalar is, and what the fit should be made of (docs/calibration.md).

Input: per-pair comparison scores (`vitnt eval ... -o DIR` writes DIR/scores.csv) and Q
files (`vitnt score`) of a calibration set with identities (glint12) and of held-out
evaluation sets; nothing here is fitted on an evaluation set. For one FR system:

  - the fit (the same isotonic fit as `vitnt calibrate`: equal-count bins of MIN_BIN
    mated pairs, pool-adjacent-violators, linear between knots) on glint12's real mates,
    optionally with FairFace synthetic mates added;
  - glint12 by leave-one-identity-out cross-validation (the fit's MIN_BIN chosen there);
  - each held-out set: ECE over 10 equal-count bins of genuine pairs (pair scalar = the
    lower of the two), at the set's own FMR threshold and at the fit's fixed threshold;
    the ECE left after matching the set's mean (the base-rate shift removed), and the
    scalar's distribution;
  - ECE against the number of genuine pairs fitted on (subsamples of glint12).

    /usr/bin/python3 tools/eval/calibration_study.py --system own --calib runs/cal/glint_own \\
        --calib-q runs/cal/glint_q.csv --eval lfwdeg=runs/cal/lfwdeg_own:runs/cal/lfwdeg_q.csv \\
        --eval cfpfp=runs/cal/cfpfp_own:runs/cal/cfp_q.csv [--mates runs/cal/mates_own:...] \\
        --json out.json
"""
import argparse
import csv
import json
import os
import sys

import numpy as np


def read_q(path):
    """canonical path -> Q of a `vitnt score` CSV."""
    with open(path) as f:
        return {os.path.realpath(r["path"]): float(r["quality"]) for r in csv.DictReader(f)}


def read_pairs(folder, q):
    """(score, genuine, pair Q = min of the two, identity of a) of DIR/scores.csv."""
    s, g, pq, hi, ident, seen = [], [], [], [], [], {}
    with open(os.path.join(folder, "scores.csv")) as f:
        for r in csv.DictReader(f):
            a, b = os.path.realpath(r["a"]), os.path.realpath(r["b"])
            if a not in q or b not in q:
                sys.exit(f"{folder}: no Q for {a if a not in q else b}")
            s.append(float(r["score"]))
            g.append(r["genuine"] == "1")
            pq.append(min(q[a], q[b]))
            hi.append(max(q[a], q[b]))
            seen[a], seen[b] = q[a], q[b]
            ident.append(os.path.basename(os.path.dirname(a)))
    return dict(score=np.array(s), genuine=np.array(g), q=np.array(pq), hi=np.array(hi),
                ident=np.array(ident), images=np.array(list(seen.values())))  # Q of the pairs' images


def threshold_at(impostor_scores, fmr):
    """As vitnt: the score exceeded by a fraction fmr of the impostors."""
    imp = np.sort(impostor_scores)[::-1]
    k = int(np.floor(fmr * len(imp)))
    return float(imp[min(k, len(imp) - 1)])


def fit(q, match, min_bin):
    """vitnt's fit_calibration: equal-count bins (equal Q never split, no tiny last bin),
    pool-adjacent-violators, one knot per pooled block at its mean Q."""
    order = np.argsort(q, kind="stable")
    qs, ms = q[order], match[order].astype(float)
    blocks, k, n = [], 0, len(qs)
    while k < n:
        end = min(n, k + min_bin)
        while end < n and qs[end] == qs[end - 1]:
            end += 1
        if n - end < min_bin // 2:
            end = n
        blocks.append([qs[k:end].sum(), ms[k:end].sum(), end - k])
        k = end
    pooled = []
    for b in blocks:
        pooled.append(list(b))
        while len(pooled) > 1 and pooled[-2][1] / pooled[-2][2] > pooled[-1][1] / pooled[-1][2]:
            last = pooled.pop()
            for i in range(3):
                pooled[-1][i] += last[i]
    kq, kp = [], []
    for qsum, hits, cnt in pooled:
        x = np.float32(qsum / cnt)
        if kq and not x > kq[-1]:
            continue
        kq.append(x)
        kp.append(np.float32(hits / cnt))
    return np.array(kq, np.float64), np.array(kp, np.float64)


def scalar(knots, q):
    """round(100 * P) as vitnt: linear between knots, constant outside."""
    kq, kp = knots
    return np.clip(np.round(100 * np.interp(q, kq, kp)), 0, 100)


def ece(pred, match, bins=10):
    """Equal-count bins of the predictions (sorted, ties in input order)."""
    order = np.argsort(pred, kind="stable")
    e = 0.0
    table = []
    for idx in np.array_split(order, bins):
        if len(idx) == 0:
            continue
        p, o = pred[idx].mean(), match[idx].mean()
        e += len(idx) / len(pred) * abs(p - o)
        table.append((len(idx), float(p), float(o)))
    return e, table


def base_rate_matched(pred, match):
    """ECE after shifting the predictions (in logit space, one shift for the set) so that
    their mean equals the set's observed match rate: what is left is not base rate."""
    p = np.clip(pred, 1e-4, 1 - 1e-4)
    logit = np.log(p / (1 - p))
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(logit + mid)))).mean() < match.mean():
            lo = mid
        else:
            hi = mid
    return ece(1 / (1 + np.exp(-(logit + lo))), match)[0], lo


def fitted_pairs(d, partner_quantile):
    """The genuine pairs a fit uses: all, or those whose better image's Q is at least the
    partner_quantile of the set's images."""
    if partner_quantile <= 0:
        return d["genuine"]
    return d["genuine"] & (d["hi"] >= np.quantile(d["images"], partner_quantile))


def genuine_outcomes(d, fmr, threshold=None, partner_quantile=0.0):
    """Genuine pairs' lower Q and match outcome; with partner_quantile, only the pairs
    whose better image's Q is at least that quantile of the set's images (the scalar's
    promise is a comparison against a good image)."""
    t = threshold_at(d["score"][~d["genuine"]], fmr) if threshold is None else threshold
    g = fitted_pairs(d, partner_quantile)
    return d["q"][g], d["score"][g] > t, t


def distribution(s):
    """Share of genuine pairs' scalars per band, and at 100."""
    edges = [0, 20, 40, 60, 80, 100, 101]
    h = np.histogram(s, bins=edges)[0] / len(s)
    return {"0-19": h[0], "20-39": h[1], "40-59": h[2], "60-79": h[3], "80-99": h[4],
            "100": h[5]}


def loio(d, fmr, min_bin, extra=None, pq=0.0):
    """Leave one identity out on the calibration set: predictions for every genuine pair
    (with a good partner, as the fit) from a fit on the other identities' (plus `extra`)."""
    q, m, _ = genuine_outcomes(d, fmr, None, pq)
    ident = d["ident"][fitted_pairs(d, pq)]
    pred = np.zeros(len(q))
    for who in np.unique(ident):
        test = ident == who
        fq, fm = q[~test], m[~test]
        if extra is not None:
            fq, fm = np.concatenate([fq, extra[0]]), np.concatenate([fm, extra[1]])
        pred[test] = scalar(fit(fq, fm, min_bin), q[test]) / 100
    return ece(pred, m)[0], pred, m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--system", required=True, help="name of the FR system (for the output)")
    ap.add_argument("--calib", required=True, help="eval output folder of the calibration set")
    ap.add_argument("--calib-q", required=True, help="its Q file")
    ap.add_argument("--mates", help="DIR:QFILE of FairFace synthetic mates (optional)")
    ap.add_argument("--eval", action="append", default=[], help="NAME=DIR:QFILE (repeat)")
    ap.add_argument("--fmr", type=float, default=1e-3)
    ap.add_argument("--min-bins", default="25,50,100,200")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--partner-quantile", type=float, default=0.0,
                    help="fit on the genuine pairs whose better image is at least this "
                         "quantile of the calibration set's Q (0: all)")
    a = ap.parse_args()

    cal = read_pairs(a.calib, read_q(a.calib_q))
    out = {"system": a.system, "fmr": a.fmr, "partner_quantile": a.partner_quantile}
    mates = None
    if a.mates:
        folder, qfile = a.mates.split(":")
        md = read_pairs(folder, read_q(qfile))
        mq, mm, _ = genuine_outcomes(md, a.fmr)
        mates = (mq, mm)
    # the fit's hyper-parameters: min_bin, with or without synthetic mates, by LOIO ECE
    cv = {}
    for mb in [int(x) for x in a.min_bins.split(",")]:
        cv[f"glint12 real mates, min_bin {mb}"] = loio(cal, a.fmr, mb, None, a.partner_quantile)[0]
        if mates is not None:
            cv[f"glint12 + FairFace synthetic mates, min_bin {mb}"] = loio(
                cal, a.fmr, mb, mates, a.partner_quantile)[0]
    out["loio_ece"] = cv
    best = min(cv, key=cv.get)
    min_bin = int(best.rsplit(" ", 1)[1])
    with_mates = "FairFace" in best
    out["chosen"] = {"fit": best, "min_bin": min_bin, "with_synthetic_mates": with_mates}
    cq, cm, ct = genuine_outcomes(cal, a.fmr, None, a.partner_quantile)
    fq, fm = (np.concatenate([cq, mates[0]]), np.concatenate([cm, mates[1]])) if with_mates \
        else (cq, cm)
    knots = fit(fq, fm, min_bin)
    e, pred, m = loio(cal, a.fmr, min_bin, mates if with_mates else None, a.partner_quantile)
    out["glint12_loio"] = {"ece": e, "observed": float(m.mean()), "predicted": float(pred.mean()),
                           "genuine": int(len(m)), "threshold": ct,
                           "bins": ece(pred, m)[1],
                           "scalar_distribution": distribution(pred * 100)}
    out["knots"] = {"q": knots[0].tolist(), "p": knots[1].tolist()}
    # held-out sets
    out["sets"] = {}
    for spec in a.eval:
        name, rest = spec.split("=", 1)
        folder, qfile = rest.split(":")
        d = read_pairs(folder, read_q(qfile))
        row = {}
        for how, thr in (("own_threshold", None), ("fit_threshold", ct)):
            q, m, t = genuine_outcomes(d, a.fmr, thr)
            p = scalar(knots, q) / 100
            e, table = ece(p, m)
            matched, shift = base_rate_matched(p, m)
            row[how] = {"threshold": t, "genuine": int(len(m)),
                        "impostors_above": int((d["score"][~d["genuine"]] > t).sum()),
                        "observed": float(m.mean()), "predicted": float(p.mean()), "ece": e,
                        "ece_base_rate_matched": matched, "logit_shift": shift, "bins": table,
                        "scalar_distribution": distribution(p * 100)}
        out["sets"][name] = row
    # ECE against the number of genuine pairs fitted on: fit on n pairs drawn from 11
    # identities, ECE on the 12th (every identity in turn), 10 draws
    rng = np.random.default_rng(a.seed)
    ident = cal["ident"][fitted_pairs(cal, a.partner_quantile)]
    sizes = {}
    for n in (100, 200, 400, 800, 1600, 3200):
        es = []
        for rep in range(10):
            pred = np.zeros(len(cq))
            for who in np.unique(ident):
                test = ident == who
                pool = np.flatnonzero(~test)
                pick = rng.choice(pool, size=min(n, len(pool)), replace=False)
                pred[test] = scalar(fit(cq[pick], cm[pick], min(min_bin, max(10, n // 8))),
                                    cq[test]) / 100
            es.append(ece(pred, cm)[0])
        sizes[n] = {"mean": float(np.mean(es)), "p10": float(np.percentile(es, 10)),
                    "p90": float(np.percentile(es, 90))}
    out["ece_vs_pairs"] = sizes
    text = json.dumps(out, indent=1, default=float)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    # the summary
    print(f"{a.system}: LOIO ECE by fit: " + ", ".join(f"{k}: {v:.3f}" for k, v in cv.items()))
    print(f"chosen: {best}; glint12 LOIO ECE {out['glint12_loio']['ece']:.3f} "
          f"(observed {out['glint12_loio']['observed']:.3f}, predicted "
          f"{out['glint12_loio']['predicted']:.3f})")
    for name, row in out["sets"].items():
        for how, r in row.items():
            print(f"  {name:8s} {how:13s} t {r['threshold']:.4f} ({r['impostors_above']} imp. above)"
                  f" observed {r['observed']:.3f} predicted {r['predicted']:.3f} ECE {r['ece']:.3f}"
                  f" base-rate-matched {r['ece_base_rate_matched']:.3f}; at 100: "
                  f"{r['scalar_distribution']['100']:.2f}")
    print("ECE vs genuine pairs fitted on: " + ", ".join(
        f"{n}: {v['mean']:.3f} [{v['p10']:.3f}, {v['p90']:.3f}]" for n, v in sizes.items()))


if __name__ == "__main__":
    main()
