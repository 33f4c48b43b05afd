#!/usr/bin/env bash
# `vitnt calibrate` round trip and the scalar column (with the calibration it comes from): (b) synthetic mates on FairFace val
# -> a calibration block and a model with it embedded; scoring with the embedded block
# and with --calibration gives the same scalars, monotone in Q, 0..100; (a) the same
# pairs with comparison scores from `vitnt eval` give the same fit; an uncalibrated
# model leaves the column empty and says how to calibrate.
# Usage: cli_calibrate_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
FF=$SHARED/data/fairface112/val LFW=$SHARED/data/lfw112/images
for need in "$FF" "$LFW"; do
  [ -d "$need" ] || { echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77; }
done
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
M=$SRC/models/vitnt-s16.safetensors

# (b) fit, embed
"$VITNT" calibrate --model "$M" --unlabelled "$FF" --limit 300 --fmr 1e-2 --work "$WORK/mates" \
  -o "$WORK/cal.json" --embed-into "$WORK/cal.safetensors" --make-default 2> "$WORK/fit.txt" ||
  { cat "$WORK/fit.txt"; fail "calibrate (b)"; }
grep -q "300 genuine pairs, .*; 300 fitted" "$WORK/fit.txt" || fail "no fit summary: $(cat "$WORK/fit.txt")"
"$VITNT" info --model "$WORK/cal.safetensors" --json > "$WORK/info.json"
# clean LFW crops alone all get ~100 from a good model: half of the list are the
# synthetic probes (FairFace val, 80 % degraded), so the scalars span the range
{ find "$LFW" -name '*.jpg' | sort | sed -n 1,100p; find "$WORK/mates/probe" -name '*.png' | sort | sed -n 1,100p; } > "$WORK/list.txt"
"$VITNT" score --model "$WORK/cal.safetensors" -o "$WORK/embedded.csv" "@$WORK/list.txt" 2> /dev/null
"$VITNT" score --model "$M" --calibration "$WORK/cal.json" -o "$WORK/flag.csv" "@$WORK/list.txt" 2> /dev/null
cmp "$WORK/embedded.csv" "$WORK/flag.csv" || fail "embedded and --calibration scalars differ"
# (a) the same pairs, scores from vitnt eval (own embedding): the same fit
"$VITNT" eval --pairs "$WORK/mates/pairs.csv" --fr vit --model "$M" --fmr 1e-2 --no-report \
  -o "$WORK/eval" > /dev/null 2>&1
"$VITNT" calibrate --model "$M" --pairs "$WORK/eval/scores.csv" --fmr 1e-2 --name own -o "$WORK/cal_a.json" \
  2> /dev/null
"$PY" - "$WORK" <<'PY'
import csv, json, sys
w = sys.argv[1]
info = json.load(open(f"{w}/info.json"))
cal = json.load(open(f"{w}/cal.json"))
c = info["model"]["config"]
assert c["default_calibration"] == "own" and cal["name"] == "own", "the unlabelled fit is not 'own'"
own = [b for b in c["calibrations"] if b["name"] == "own"]
assert len(own) == 1 and own[0]["knots"] == cal["knots"], "info does not show the block"
rows = list(csv.DictReader(open(f"{w}/embedded.csv")))
assert len(rows) == 200 and all(r["scalar"] != "" for r in rows), "scalar column empty"
pairs = sorted((float(r["quality"]), int(r["scalar"])) for r in rows)
assert all(0 <= s <= 100 for _, s in pairs)
assert all(r["scalar_for"] == "own" for r in rows), "the scalar_for column does not name 'own'"

assert all(b[1] >= a[1] for a, b in zip(pairs, pairs[1:])), "scalar not monotone in Q"
assert len({s for _, s in pairs}) > 3, "scalar barely varies: the test would be blind"
a = json.load(open(f"{w}/cal_a.json"))
# eval writes scores with 9 significant digits: the threshold agrees to that
assert abs(a["threshold"] - cal["threshold"]) < 1e-6, (a["threshold"], cal["threshold"])
qa, qb = a["knots"]["q"], cal["knots"]["q"]
assert len(qa) == len(qb) and max(abs(x - y) for x, y in zip(qa, qb)) < 1e-6, "fits (a), (b) differ"
print("scalars", pairs[0][1], "..", pairs[-1][1], "knots", len(qb))
PY
# --pairs needs a name; a second block beside the first (another FMR: other scalars)
set +e; "$VITNT" calibrate --model "$M" --pairs "$WORK/eval/scores.csv" -o "$WORK/x.json" 2> "$WORK/n.txt"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q -- "--pairs needs --name" "$WORK/n.txt" || fail "unnamed --pairs: rc $rc $(cat "$WORK/n.txt")"
"$VITNT" calibrate --model "$WORK/cal.safetensors" --pairs "$WORK/eval/scores.csv" --fmr 1e-1 \
  --name other-fr -o "$WORK/cal_o.json" --embed-into "$WORK/two.safetensors" 2> "$WORK/two.txt" ||
  { cat "$WORK/two.txt"; fail "calibrate --name --embed-into"; }
grep -q "own (default).* other-fr)" "$WORK/two.txt" || fail "blocks not kept: $(cat "$WORK/two.txt")"
"$VITNT" info --model "$WORK/two.safetensors" > "$WORK/two_info.txt"
grep -q "^    other-fr: comparison scores of" "$WORK/two_info.txt" || fail "info does not list the blocks"
"$VITNT" score --model "$WORK/two.safetensors" -o "$WORK/def.csv" "@$WORK/list.txt" 2> /dev/null
cmp "$WORK/def.csv" "$WORK/embedded.csv" || fail "the default block changed with a second one"
"$VITNT" score --model "$WORK/two.safetensors" --calibration-for other-fr -o "$WORK/other.csv" \
  "@$WORK/list.txt" 2> "$WORK/other.txt"
grep -q "scalar: calibration 'other-fr' (comparison scores of" "$WORK/other.txt" || fail "log: $(cat "$WORK/other.txt")"
"$VITNT" score --model "$WORK/two.safetensors" --calibration-for other-fr --format jsonl \
  -o "$WORK/other.jsonl" "@$WORK/list.txt" 2> /dev/null
set +e; "$VITNT" score --model "$WORK/two.safetensors" --calibration-for arcface -o "$WORK/x.csv" \
  "@$WORK/list.txt" 2> "$WORK/u2.txt"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "no calibration for 'arcface' (it has: own, .*other-fr)" "$WORK/u2.txt" ||
  fail "unknown --calibration-for: rc $rc $(cat "$WORK/u2.txt")"
# eval: the scalar's ECE only where the comparisons are by the system it was calibrated for
"$VITNT" score --model "$WORK/two.safetensors" -o "$WORK/mates_q.csv" "$WORK/mates" 2> /dev/null
"$VITNT" eval --pairs "$WORK/eval/scores.csv" --fr-name own -q v="$WORK/mates_q.csv" --fmr 1e-2 \
  --no-report -o "$WORK/e_own" > "$WORK/e_own.txt" 2>&1
"$VITNT" eval --pairs "$WORK/eval/scores.csv" -q v="$WORK/mates_q.csv" --fmr 1e-2 \
  --no-report -o "$WORK/e_unnamed" > "$WORK/e_unnamed.txt" 2>&1
"$VITNT" eval --pairs "$WORK/eval/scores.csv" --fr-name other-fr -q v="$WORK/mates_q.csv" --fmr 1e-2 \
  --no-report -o "$WORK/e_other" > "$WORK/e_other.txt" 2>&1
grep -q "scalar ECE" "$WORK/e_own.txt" || fail "eval hides the ECE of its own system: $(cat "$WORK/e_own.txt")"
grep -q "scalar calibrated for own, comparisons by other-fr: ECE not shown" "$WORK/e_other.txt" ||
  fail "eval shows an ECE for another system: $(cat "$WORK/e_other.txt")"
grep -q "comparisons by an unnamed system (--fr-name): ECE not shown" "$WORK/e_unnamed.txt" ||
  fail "eval shows an ECE for unnamed comparisons: $(cat "$WORK/e_unnamed.txt")"
"$PY" - "$WORK" <<'PY'
import csv, json, sys
w = sys.argv[1]
d = list(csv.DictReader(open(f"{w}/def.csv")))
o = list(csv.DictReader(open(f"{w}/other.csv")))
j = [json.loads(l) for l in open(f"{w}/other.jsonl")]
assert all(r["scalar_for"] == "other-fr" for r in o) and all(r["scalar_for"] == "other-fr" for r in j)
assert [r["scalar"] for r in o] == [str(r["scalar"]) for r in j], "CSV and JSONL scalars differ"
assert [r["quality"] for r in o] == [r["quality"] for r in d], "Q changed with the calibration"
assert sum(a["scalar"] != b["scalar"] for a, b in zip(o, d)) > 10, "the second block gives the same scalars"
for name in ("e_own", "e_other"):
    s = json.load(open(f"{w}/{name}/summary.json"))
    m = s["results"][0]["methods"][0]
    assert m["scalar_for"] == "own", m.get("scalar_for")
    assert ("reliability" in m) == (name == "e_own"), (name, sorted(m))
    assert ("reliability_not_shown" in m) == (name != "e_own"), (name, sorted(m))
print("named blocks: own / other-fr differ in", sum(a["scalar"] != b["scalar"] for a, b in zip(o, d)), "of", len(d))
PY
# an uncalibrated model: empty scalar column and a note
"$VITNT" info --arch cvlface-vit-s --print-config > "$WORK/vit_s.json"
"$PY" "$SRC/tools/reference/reference_score.py" --config "$WORK/vit_s.json" \
  --random-model "$WORK/vit_s.safetensors" --dtype F16 --seed 3 2> /dev/null
"$VITNT" score --model "$WORK/vit_s.safetensors" --arch cvlface-vit-s --format jsonl \
  -o "$WORK/u.jsonl" "$(head -1 "$WORK/list.txt")" 2> "$WORK/u.txt"
grep -q "has no calibration.*vitnt calibrate" "$WORK/u.txt" || fail "no note: $(cat "$WORK/u.txt")"
grep -q '"scalar":null' "$WORK/u.jsonl" || fail "JSON Lines scalar not null: $(cat "$WORK/u.jsonl")"
# a broken calibration file is refused with its name
echo '{"knots":{"q":[1,2],"p":[0.9,0.1]},"settings":{"blocks":[2,6],"scaling":16,"aggregation":"attention-last"}}' > "$WORK/bad.json"
set +e; "$VITNT" score --calibration "$WORK/bad.json" -o "$WORK/x.csv" "@$WORK/list.txt" 2> "$WORK/b.txt"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "bad.json.*monotone" "$WORK/b.txt" || fail "bad calibration: rc $rc $(cat "$WORK/b.txt")"
echo "cli_calibrate: OK"
