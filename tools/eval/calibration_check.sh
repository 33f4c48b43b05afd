#!/usr/bin/env bash
# The held-out check of a model's calibrated scalars (docs/calibration.md): reliability
# and ECE (10 equal-count bins) of scalar/100 as the match probability of mated
# comparisons at FMR 1e-3, on LFW-degraded and CFP-FP (evaluation sets: nothing is fitted
# on them), for each FR system the model carries a calibration for: its own embedding
# (block "own") and EdgeFace-XS (block "edgeface-xs").
# Usage: tools/eval/calibration_check.sh [MODEL] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:-models/vitnt-s16.safetensors} OUT=${2:-runs/calibration_check}
S=${VITNT_SHARED:-../shared} V=build/vitnt
EDGE=(--fr onnx --fr-model "$S/models/edgeface_xs.onnx" --fr-order RGB --fr-mean 127.5 --fr-std 127.5)
mkdir -p "$OUT"
[ -f runs/lfw_degraded/pairs.csv ] ||
  /usr/bin/python3 tools/eval/make_degraded_lfw.py --lfw "$S/data/lfw112" --out runs/lfw_degraded
tail -n +2 runs/lfw_degraded/pairs.csv | cut -d, -f1,2 | tr , '\n' | sort -u > "$OUT/lfwdeg.txt"
for cal in own edgeface-xs; do  # the same Q, the scalar of each block
  $V score --model "$M" --threads 2 --calibration-for $cal -o "$OUT/lfwdeg_q_$cal.csv" "@$OUT/lfwdeg.txt"
  $V score --model "$M" --threads 2 --calibration-for $cal -o "$OUT/cfp_q_$cal.csv" "$S/data/cfp112/images"
done
for set in lfwdeg cfpfp; do
  if [ $set = lfwdeg ]; then P=(--pairs runs/lfw_degraded/pairs.csv); Q=$OUT/lfwdeg_q
  else P=(--pairs "$S/data/cfp112/pairs_fp_folds.csv" --images-root "$S/data/cfp112"); Q=$OUT/cfp_q; fi
  $V eval "${P[@]}" --fr vit --model "$M" -q vitnt="${Q}_own.csv" --fmr 1e-3 --no-report -o "$OUT/${set}_own"
  $V eval "${P[@]}" "${EDGE[@]}" -q vitnt="${Q}_edgeface-xs.csv" --fmr 1e-3 --no-report -o "$OUT/${set}_edgeface"
done
/usr/bin/python3 tools/eval/calibration_report.py "$OUT" "$M"
