#!/usr/bin/env bash
# Quality by demographic group on FairFace (docs/fairness.md): the bundled model's ViTNT
# score (and its calibrated scalar), LightQNet and the ModelScope FQA network, each image
# rejected below global cuts; `vitnt eval --groups` per split.
# Usage: tools/eval/fairness.sh [MODEL] [OUT_DIR] [SPLITS]   (SPLITS: "val train")
set -euo pipefail
cd "$(dirname "$0")/../.."
M=${1:-models/vitnt-s16.safetensors} OUT=${2:-runs/fairness} SPLITS=${3:-val train}
S=${VITNT_SHARED:-../shared} V=${VITNT_BIN:-build/vitnt} FF=$S/data/fairface112
mkdir -p "$OUT"
for split in $SPLITS; do
  /usr/bin/python3 tools/eval/fairface_groups.py "$FF" "$split" > "$OUT/groups_$split.csv"
  $V score --model "$M" -o "$OUT/q_$split.csv" "$FF/$split"
  $V eval --groups "$OUT/groups_$split.csv" --images-root "$FF" -q vitnt="$OUT/q_$split.csv" \
    --quality-model lightqnet=models/peers/lightqnet.json \
    --quality-model modelscope-fqa=models/peers/modelscope_fqa.json -o "$OUT/$split"
done
