#!/usr/bin/env bash
# `vitnt eval` end to end on synthetic pairs with known scores, checked against an
# independent NumPy implementation of the documented EDC/pAUC definition; the report
# files exist; bad input is refused with the file named.
# Usage: cli_eval_test.sh VITNT PYTHON WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 WORK=$3
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
"$PY" - "$WORK" <<'PY'
import numpy as np, sys
w = sys.argv[1]
rng = np.random.default_rng(1)
n_img = 400
q = rng.uniform(0, 1, n_img)
with open(f"{w}/quality.csv", "w") as f:
    f.write("path,quality\n")
    for i in range(n_img):
        f.write(f"{w}/img{i}.png,{q[i]:.6f}\n")
with open(f"{w}/pairs.csv", "w") as f:
    f.write("a,b,genuine,score\n")
    for k in range(1500):
        a, b = rng.integers(0, n_img, 2)
        g = k % 2
        # genuine scores depend on quality: low quality -> low score
        s = (0.3 + 0.6 * min(q[a], q[b]) + rng.normal(0, 0.15)) if g else rng.normal(0.05, 0.1)
        f.write(f"{w}/img{a}.png,{w}/img{b}.png,{g},{s:.6f}\n")
PY
"$VITNT" eval --pairs "$WORK/pairs.csv" -q mine="$WORK/quality.csv" --fmr 0.01 0.001 -o "$WORK/out" > "$WORK/log.txt"
cat "$WORK/log.txt"
for f in summary.json report.html edc_fmr0.01.png edc_fmr0.01.svg; do
  [ -s "$WORK/out/$f" ] || fail "missing $f"
done
"$PY" - "$WORK" <<'PY'
import csv, json, sys
import numpy as np
w = sys.argv[1]
q = {r["path"]: float(r["quality"]) for r in csv.DictReader(open(f"{w}/quality.csv"))}
rows = list(csv.DictReader(open(f"{w}/pairs.csv")))
imp = np.array([float(r["score"]) for r in rows if r["genuine"] == "0"])
gen = [(float(r["score"]), min(q[r["a"]], q[r["b"]])) for r in rows if r["genuine"] == "1"]
s = json.load(open(f"{w}/out/summary.json"))
for res in s["results"]:
    fmr = res["fmr"]
    # smallest impostor score t with #(imp > t)/n <= fmr
    t = min(x for x in imp if (imp > x).sum() / len(imp) <= fmr)
    assert abs(res["threshold"] - t) < 1e-12, (res["threshold"], t)
    for name, key in (("mine", lambda i: gen[i][1]), ("oracle", lambda i: gen[i][0])):
        order = sorted(range(len(gen)), key=lambda i: (key(i), i))  # ties by input order
        G = len(gen)
        fnmr = []
        for step in range(301):
            k = step * G // 1000
            kept = order[k:]
            fnmr.append(sum(gen[i][0] <= t for i in kept) / len(kept))
        r = np.arange(301) / 1000
        pauc3 = np.trapz(fnmr, r)
        pauc2 = np.trapz(fnmr[:201], r[:201])
        m = [x for x in res["methods"] if x["name"] == name][0]
        assert abs(m["pauc_0.3"] - pauc3) < 1e-9 and abs(m["pauc_0.2"] - pauc2) < 1e-9, (name, m["pauc_0.3"], pauc3)
        assert abs(m["fnmr_at_0"] - fnmr[0]) < 1e-12
    names = [x["name"] for x in res["methods"]]
    assert names == ["mine", "random", "oracle"], names
    mine = [x for x in res["methods"] if x["name"] == "mine"][0]["pauc_0.3"]
    rand = [x for x in res["methods"] if x["name"] == "random"][0]["pauc_0.3"]
    assert mine < rand, "an informative quality must beat random here"
print("eval matches the independent implementation")
PY
# the log's honesty: fold wording (this CSV has no folds), TAR@FAR=1e-3, and FMRs that too
# few impostors support (750 impostors: FMR 0.01 leaves 7 above the threshold)
grep -q "in-sample: the pairs carry no folds" "$WORK/log.txt" || fail "no in-sample wording"
grep -q "TAR@FAR=1e-3" "$WORK/log.txt" || fail "no TAR in the log"
grep -q "UNRELIABLE" "$WORK/log.txt" || fail "no unreliable-FMR mark in the log"
# scalars: the equal-count ECE against numpy, and reliable FMRs where enough impostors are
"$PY" - "$WORK" <<'PY'
import csv, sys
w = sys.argv[1]
rows = list(csv.DictReader(open(f"{w}/quality.csv")))
with open(f"{w}/scalar.csv", "w") as f:
    f.write("path,quality,scalar,scalar_for\n")
    for r in rows:
        q = float(r["quality"])
        f.write(f"{r['path']},{q},{min(100, int(40 + 60 * q))},test-fr\n")
PY
# the scalar says it is calibrated for test-fr; the pairs' scores are named so (--fr-name)
"$VITNT" eval --pairs "$WORK/pairs.csv" --fr-name test-fr -q mine="$WORK/scalar.csv" --fmr 0.1 0.001 --no-report \
  -o "$WORK/out3" > "$WORK/log3.txt" 2> "$WORK/err3.txt"
grep -q "equal-count" "$WORK/log3.txt" || fail "no equal-count ECE in the log: $(cat "$WORK/log3.txt")"
grep -q "warning: FMR 0.001 rests on" "$WORK/err3.txt" || fail "no impostor warning: $(cat "$WORK/err3.txt")"
"$PY" - "$WORK" <<'PY'
import csv, json, sys
import numpy as np
w = sys.argv[1]
sc = {r["path"]: int(r["scalar"]) for r in csv.DictReader(open(f"{w}/scalar.csv"))}
rows = list(csv.DictReader(open(f"{w}/pairs.csv")))
imp = np.array([float(r["score"]) for r in rows if r["genuine"] == "0"])
s = json.load(open(f"{w}/out3/summary.json"))
for res in s["results"]:
    t = res["threshold"]
    above = int((imp > t).sum())
    assert res["impostors_above_threshold"] == above and res["reliable"] == (above >= 10), res["fmr"]
    assert ("warning" in res) == (above < 10)
    gen = [(min(sc[r["a"]], sc[r["b"]]) / 100, float(r["score"]) > t) for r in rows if r["genuine"] == "1"]
    order = sorted(range(len(gen)), key=lambda i: (gen[i][0], i))
    n = len(gen)
    ece = 0.0
    for b in range(10):
        idx = order[n * b // 10: n * (b + 1) // 10]
        p = np.mean([gen[i][0] for i in idx]); o = np.mean([gen[i][1] for i in idx])
        ece += len(idx) / n * abs(p - o)
    m = [x for x in res["methods"] if x["name"] == "mine"][0]
    assert abs(m["reliability_equal_count"]["ece"] - ece) < 1e-12, (m["reliability_equal_count"]["ece"], ece)
    assert "reliability" in m  # equal-width kept in summary.json
print("eval: equal-count ECE, impostor counts and warnings match")
PY
# a quality file that lacks images is refused, naming it
head -100 "$WORK/quality.csv" > "$WORK/partial.csv"
if "$VITNT" eval --pairs "$WORK/pairs.csv" -q "$WORK/partial.csv" --no-report -o "$WORK/out2" 2> "$WORK/err.txt"; then
  fail "missing qualities accepted"
fi
grep -q "partial.csv: no quality for" "$WORK/err.txt" || fail "$(cat "$WORK/err.txt")"
# --groups: per-group rejection at the global 5 % / 20 % cuts against numpy, with pairs
# (per-group FNMR) and without (--pairs optional); bad groups files refused, named
"$PY" - "$WORK" <<'PY'
import sys
w = sys.argv[1]
with open(f"{w}/groups.csv", "w") as f:
    f.write("path,tone,half\n")
    for i in range(400):
        f.write(f"{w}/img{i}.png,{'abc'[i % 3]},{'lo' if i < 200 else 'hi'}\n")
PY
"$VITNT" eval --pairs "$WORK/pairs.csv" --groups "$WORK/groups.csv" -q mine="$WORK/quality.csv" \
  --fmr 0.01 --bootstrap 200 -o "$WORK/g1" > "$WORK/g1.txt" || fail "eval --groups: $(cat "$WORK/g1.txt")"
"$VITNT" eval --groups "$WORK/groups.csv" -q mine="$WORK/quality.csv" --bootstrap 200 \
  -o "$WORK/g2" > "$WORK/g2.txt" || fail "eval --groups without pairs: $(cat "$WORK/g2.txt")"
grep -q "^  tone:  discard 5 %" "$WORK/g2.txt" || fail "no groups log: $(cat "$WORK/g2.txt")"
[ -s "$WORK/g2/report.html" ] && [ -s "$WORK/g2/groups_mine.png" ] || fail "no groups report"
"$PY" - "$WORK" <<'PY'
import csv, json, sys
import numpy as np
w = sys.argv[1]
q = {r["path"]: float(r["quality"]) for r in csv.DictReader(open(f"{w}/quality.csv"))}
grp = {r["path"]: r for r in csv.DictReader(open(f"{w}/groups.csv"))}
allq = np.sort([q[p] for p in grp])
cut = {k: allq[int(np.floor(s * len(allq)))] for k, s in ((0, 0.05), (1, 0.20))}
rows = list(csv.DictReader(open(f"{w}/pairs.csv")))
imp = np.sort([float(r["score"]) for r in rows if r["genuine"] == "0"])[::-1]
t = imp[int(np.floor(0.01 * len(imp)))]
for run in ("g1", "g2"):
    s = json.load(open(f"{w}/{run}/summary.json"))["groups"]
    m = [x for x in s["methods"] if x["name"] == "mine"] if False else \
        [x for x in s["methods"] if x["method"] == "mine"][0]
    for at in m["attributes"]:
        shares = {}
        for g in at["groups"]:
            members = [p for p in grp if grp[p][at["attribute"]] == g["group"]]
            assert g["n"] == len(members), (g["group"], g["n"], len(members))
            for k in (0, 1):
                want = np.mean([q[p] < cut[k] for p in members])
                assert abs(g["rejected"][k] - want) < 1e-12, (run, g["group"], k, g["rejected"][k], want)
            shares[g["group"]] = g["rejected"][1]
            assert abs(g["quality_quantiles"]["50"] - np.median([q[p] for p in members])) < 1e-9
            gen = [r for r in rows if r["genuine"] == "1" and grp[r["a"]][at["attribute"]] == g["group"]
                   and grp[r["b"]][at["attribute"]] == g["group"]]
            if run == "g1":
                fails = [float(r["score"]) <= t for r in gen]
                kept = [f for r, f in zip(gen, fails) if min(q[r["a"]], q[r["b"]]) >= cut[1]]
                gp = g["genuine_pairs"]
                assert gp["n"] == len(gen) and abs(gp["fnmr_before"] - np.mean(fails)) < 1e-12
                assert abs(gp["fnmr_after_discard_20"] - np.mean(kept)) < 1e-12
            else:
                assert "genuine_pairs" not in g
        d = at["differentials"][1]
        assert abs(d["ratio"] - max(shares.values()) / min(shares.values())) < 1e-12
        assert d["ci95"][0] <= d["ratio"] <= d["ci95"][1], d
print("eval --groups: per-group rejection, quantiles, FNMR and differentials match numpy")
PY
head -3 "$WORK/groups.csv" > "$WORK/g_short.csv"; echo "$WORK/img3.png" >> "$WORK/g_short.csv"
if "$VITNT" eval --groups "$WORK/g_short.csv" -q "$WORK/quality.csv" -o "$WORK/g3" 2> "$WORK/g3.txt"; then
  fail "a short groups row accepted"
fi
grep -q "g_short.csv: line 4: expected 3 fields, got 1" "$WORK/g3.txt" || fail "$(cat "$WORK/g3.txt")"
{ cat "$WORK/groups.csv"; echo "$WORK/nowhere.png,a,lo"; } > "$WORK/g_extra.csv"
if "$VITNT" eval --groups "$WORK/g_extra.csv" -q mine="$WORK/quality.csv" -o "$WORK/g4" 2> "$WORK/g4.txt"; then
  fail "a groups image without quality accepted"
fi
grep -q "mine: no quality for .*nowhere.png" "$WORK/g4.txt" || fail "$(cat "$WORK/g4.txt")"
if "$VITNT" eval -q mine="$WORK/quality.csv" -o "$WORK/g5" 2> "$WORK/g5.txt"; then fail "no --pairs, no --groups accepted"; fi
grep -q "give --pairs" "$WORK/g5.txt" || fail "$(cat "$WORK/g5.txt")"
echo "cli_eval: OK"
