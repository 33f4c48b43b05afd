#!/usr/bin/env bash
# Fits a model's calibration blocks on real mates (docs/calibration.md): glint12's genuine
# pairs (12 people) compared by the model's own embedding ("own", the default) and by
# EdgeFace-XS ("edgeface-xs"), at FMR 1e-3 of glint12's 40,000 impostors, on the pairs
# whose better image is in the upper half of glint12's Q (the scalar promises a comparison
# against a good image); each fit's bin size chosen by leave-one-identity-out ECE
# (tools/eval/calibration_study.py). glint12 is calibration data: no weights are trained
# on it, and no evaluation set (LFW, CFP) is read here.
# Usage: tools/eval/calibrate_glint12.sh MODEL.safetensors OUT.safetensors [WORK]
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:?usage: calibrate_glint12.sh MODEL OUT [WORK]} OUT=${2:?usage: calibrate_glint12.sh MODEL OUT [WORK]}
W=${3:-runs/glint12_calibration}
S=${VITNT_SHARED:-../shared} V=${VITNT_BIN:-build/vitnt} PY=/usr/bin/python3
G=$S/data/glint12
[ -f "$G/pairs.csv" ] || { echo "calibrate_glint12: $G/pairs.csv missing (set VITNT_SHARED)" >&2; exit 1; }
EDGE=(--fr onnx --fr-model "$S/models/edgeface_xs.onnx" --fr-order RGB --fr-mean 127.5 --fr-std 127.5)
PQ=0.5
mkdir -p "$W"
$V score --model "$M" -o "$W/glint_q.csv" "$G/images"
$V eval --pairs "$G/pairs.csv" --images-root "$G" --fr vit --model "$M" --fmr 1e-3 --no-report -o "$W/own" > /dev/null
$V eval --pairs "$G/pairs.csv" --images-root "$G" "${EDGE[@]}" --fmr 1e-3 --no-report -o "$W/edgeface" > /dev/null
name=$($V info --model "$M" --print-config | $PY -c "import json,sys; print(json.load(sys.stdin)['name'])")
cp "$M" "$W/model.safetensors"
for sys in own edgeface; do
  $PY tools/eval/calibration_study.py --system $sys --calib "$W/$sys" --calib-q "$W/glint_q.csv" \
    --partner-quantile $PQ --json "$W/study_$sys.json" > "$W/study_$sys.txt"
  mb=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['chosen']['min_bin'])" "$W/study_$sys.json")
  if [ $sys = own ]; then
    args=(--name own --fr-name "own embedding of $name, cosine" --drop-others --make-default)
  else
    args=(--name edgeface-xs --fr-name "EdgeFace-XS (edgeface_xs.onnx, RGB, (x-127.5)/127.5), cosine")
  fi
  $V calibrate --model "$W/model.safetensors" --pairs "$W/$sys/scores.csv" --quality "$W/glint_q.csv" \
    --data "glint12 (../shared/data/glint12): 4,800 genuine pairs of 12 people, 40,000 impostor pairs" \
    --fmr 1e-3 --min-bin "$mb" --partner-quantile $PQ "${args[@]}" -o "$W/calibration_$sys.json" \
    --embed-into "$W/next.safetensors"
  mv "$W/next.safetensors" "$W/model.safetensors"
  # the block is the study's fit (an independent implementation of the same fit)
  $PY - "$W/calibration_$sys.json" "$W/study_$sys.json" <<'PY'
import json, sys
c, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
dq = max(abs(a - b) for a, b in zip(c["knots"]["q"], s["knots"]["q"]))
dp = max(abs(a - b) for a, b in zip(c["knots"]["p"], s["knots"]["p"]))
assert len(c["knots"]["q"]) == len(s["knots"]["q"]) and dq < 1e-6 and dp < 1e-6, (dq, dp)
print(f"{c['name']}: {c['mated']} mated pairs fitted, {len(c['knots']['q'])} knots, "
      f"scalar {round(100 * c['knots']['p'][0])}..{round(100 * c['knots']['p'][-1])}; "
      f"study agrees (|dq| {dq:.1e}, |dp| {dp:.1e})")
PY
done
mv "$W/model.safetensors" "$OUT"
echo "calibrated -> $OUT (blocks own, edgeface-xs; fits in $W)"
