#!/usr/bin/env bash
# External quality models (models/peers/*.json) end to end: `vitnt eval --quality-model`
# runs both peers and reports their cost; `vitnt score --method external` gives exactly
# the qualities eval used; LightQNet and FQA checked against the same contract computed
# independently in Python with cv2.dnn; bad descriptions are refused with the file named.
# Usage: cli_peers_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
for need in "$SHARED/data/lfw112/pairs.txt" "$SHARED/models/lightqnet-dm100.pb" \
            "$SHARED/models/modelscope_fqa.onnx" "$SHARED/models/edgeface_xxs.onnx"; do
  [ -e "$need" ] || { echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77; }
done
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
LQ=$SRC/models/peers/lightqnet.json FQA=$SRC/models/peers/modelscope_fqa.json

# 10 LFW pairs (5 genuine, 5 impostor) of 20 distinct crops
IMG=$SHARED/data/lfw112/images
"$PY" - "$SHARED/data/lfw112/pairs.txt" "$WORK/pairs.csv" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()[1:]
used, rows = set(), []
for want in (3, 4):  # genuine lines "name i j", then impostor lines "name1 i name2 j"
    k = 0
    for l in lines:
        t = l.split()
        if len(t) != want or k == 5:
            continue
        a, b = f"{t[0]}/{t[0]}_{int(t[1]):04d}.jpg", (
            f"{t[0]}/{t[0]}_{int(t[2]):04d}.jpg" if want == 3 else f"{t[2]}/{t[2]}_{int(t[3]):04d}.jpg")
        if a in used or b in used:
            continue
        used |= {a, b}
        rows.append(f"{a},{b},{1 if want == 3 else 0}")
        k += 1
open(sys.argv[2], "w").write("a,b,genuine\n" + "\n".join(rows) + "\n")
PY
"$VITNT" eval --pairs "$WORK/pairs.csv" --images-root "$IMG" --fr onnx \
  --fr-model "$SHARED/models/edgeface_xxs.onnx" --quality-model lightqnet="$LQ" \
  --quality-model fqa="$FQA" --baseline laplacian --fmr 0.2 -o "$WORK/eval" > "$WORK/log.txt"
[ -s "$WORK/eval/report.html" ] || fail "no report.html"
cat "$WORK/log.txt"
"$PY" - "$WORK/eval/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
m = {x["name"]: x for x in s["results"][0]["methods"]}
for name in ("lightqnet", "fqa"):
    assert m[name]["forward_passes_per_face"] == 1, m[name]
    assert m[name]["ms_per_face"] > 0, m[name]
    assert "1 forward pass of" in m[name]["cost"], m[name]["cost"]
    assert m[name]["quality_model"].endswith(".json") and m[name]["source"].endswith(f"quality_{name}.csv")
    print(f"{name}: {m[name]['cost']}, {m[name]['ms_per_face']:.2f} ms per face")
assert m["laplacian-variance"]["forward_passes_per_face"] == 0
assert m["random"]["ms_per_face"] is None and m["oracle"]["forward_passes_per_face"] is None
PY

# score --method external = what eval used, to the last digit
cut -d, -f1 "$WORK/eval/quality_lightqnet.csv" | tail -n +2 > "$WORK/list.txt"
[ "$(wc -l < "$WORK/list.txt")" = 20 ] || fail "expected 20 images"
for m in lightqnet:$LQ fqa:$FQA; do
  "$VITNT" score --method external --quality-model "${m#*:}" -o "$WORK/${m%%:*}.csv" @"$WORK/list.txt"
  cmp "$WORK/${m%%:*}.csv" "$WORK/eval/quality_${m%%:*}.csv" || fail "${m%%:*}: score differs from eval"
done

# the same contracts computed independently in Python (cv2.dnn, cv2.resize bilinear)
"$PY" - "$WORK" "$SHARED/models" <<'PY'
import csv, sys, cv2, numpy as np
w, models = sys.argv[1], sys.argv[2]
worst = {}
rows = list(csv.DictReader(open(f"{w}/lightqnet.csv")))
net = cv2.dnn.readNetFromTensorflow(f"{models}/lightqnet-dm100.pb")
for r in rows[:3]:
    x = cv2.resize(cv2.imread(r["path"]), (96, 96), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    net.setInput(((x - 128) / 128).transpose(2, 0, 1)[None].copy(), "input")
    q = float(net.forward("UncertaintyModule/Sigmoid").ravel()[0])
    assert abs(q - float(r["quality"])) < 1e-5, (r, q)
    worst["LightQNet"] = max(worst.get("LightQNet", 0), abs(q - float(r["quality"])))
fqa = cv2.dnn.readNetFromONNX(f"{models}/modelscope_fqa.onnx")
rows = list(csv.DictReader(open(f"{w}/fqa.csv")))
for r in rows[:3]:
    x = cv2.imread(r["path"])[..., ::-1].astype(np.float32)  # RGB
    fqa.setInput(((x / 255 - 0.5) / 0.5).transpose(2, 0, 1)[None].copy())
    q = float(fqa.forward().mean())
    assert abs(q - float(r["quality"])) < 1e-5, (r, q)
    worst["FQA"] = max(worst.get("FQA", 0), abs(q - float(r["quality"])))
print("LightQNet and FQA equal the independent cv2.dnn computation to 1e-5: max |diff|", worst)
PY

# bad descriptions name the file and the problem
echo '{"file": "nothere.pb", "format": "tensorflow"}' > "$WORK/bad.json"
set +e
env -u VITNT_SHARED "$VITNT" score --method external --quality-model "$WORK/bad.json" -o "$WORK/b.csv" \
  @"$WORK/list.txt" 2> "$WORK/err.txt"; rc=$?
set -e
[ $rc -eq 1 ] || fail "missing model file: exit $rc"
grep -q "bad.json: model file 'nothere.pb' not found" "$WORK/err.txt" || fail "$(cat "$WORK/err.txt")"
set +e
"$VITNT" score --method external -o "$WORK/b.csv" @"$WORK/list.txt" 2> "$WORK/err.txt"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "needs --quality-model" "$WORK/err.txt" || fail "$(cat "$WORK/err.txt")"
echo "cli_peers: OK"
