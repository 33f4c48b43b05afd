#!/usr/bin/env bash
# Every measurement the model card needs after `bundle.sh`, in one run, the previous
# default beside the new one where the figure compares them: the benchmarks (LFW,
# LFW-degraded, CFP, peers, control; `tools/eval/benchmarks.sh`), the held-out calibration
# check, severity sweeps, the region check, bf16 vs fp32 over LFW, LFW accuracy of both
# models' own embeddings, and `vitnt bench` of both (fp32 and bf16, batch 1 and 32) with
# the matmul peak of the same run. Outputs under runs/ (printed at the end).
# Usage: tools/distill/bundle_report.sh PREVIOUS.safetensors
#   PREVIOUS: the model the bundle replaced, e.g. from git:
#   git show ed38d7a:models/vitnt-s16.safetensors > runs/v1.safetensors
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=${1:?usage: tools/distill/bundle_report.sh PREVIOUS.safetensors}
[ -f "$OLD" ] || { echo "bundle_report: $OLD: no such file" >&2; exit 1; }
S=${VITNT_SHARED:-../shared} V=${VITNT_BIN:-build/vitnt} PY=/usr/bin/python3
NEW=models/vitnt-s16.safetensors CONTROL=runs/vitnt-s16-init.safetensors OUT=runs/bundle_report
for need in "$S/data/lfw112/images" "$S/data/cfp112" "$V"; do
  [ -e "$need" ] || { echo "bundle_report: $need missing" >&2; exit 1; }
done
mkdir -p "$OUT"
step() { echo "== $(date -u +%H:%M:%S) $*"; }
[ -f "$CONTROL" ] || $PY tools/eval/make_control.py --out "$CONTROL"

# the comparison models' scores do not depend on the quality model: keep them, move the
# rest to runs/bench.prev (replacing an older one there)
if [ -d runs/bench ]; then
  rm -rf runs/bench.prev && mv runs/bench runs/bench.prev
  (cd runs/bench.prev && find . -name scores.csv) | while read -r f; do
    mkdir -p "runs/bench/$(dirname "$f")" && cp "runs/bench.prev/$f" "runs/bench/$f"
  done
fi
step benchmarks; bash tools/eval/benchmarks.sh "$NEW" "$CONTROL" > "$OUT/benchmarks.log" 2>&1
step calibration check; bash tools/eval/calibration_check.sh "$NEW" runs/calibration_check \
  > "$OUT/calibration_check.log" 2>&1
step severity sweeps
$PY tools/eval/severity_sweep.py --vitnt "$V" --model "$NEW" --control "$CONTROL" \
  --lfw "$S/data/lfw112" > "$OUT/severity_sweep.md" 2> "$OUT/severity_sweep.log"
step regions
PYTHONPATH=build/python $PY tools/eval/region_occlusion.py --model "$NEW" --every 15 \
  --out "$OUT/region_occlusion.json" > "$OUT/region_occlusion.md" 2>&1
step bf16 vs fp32
$V score --model "$NEW" --threads 2 -o "$OUT/lfw_fp32.csv" "$S/data/lfw112/images" 2> /dev/null
$V score --model "$NEW" --threads 2 --precision bf16 -o "$OUT/lfw_bf16.csv" "$S/data/lfw112/images" 2> /dev/null
$PY tools/bench/bf16_accuracy.py "$OUT/lfw_fp32.csv" "$OUT/lfw_bf16.csv" > "$OUT/bf16_accuracy.txt"
step LFW accuracy of both embeddings  # the new model's: benchmarks.sh measured it
$V eval --pairs "$S/data/lfw112/pairs.txt" --images-root "$S/data/lfw112/images" --fr vit \
  --model "$OLD" --no-report -o "$OUT/lfw_own_previous" > /dev/null 2>&1
for m in "$OLD=$OUT/lfw_own_previous" "$NEW=runs/bench/lfw_vit_fr"; do
  $PY -c "import json,sys; v=json.load(open(sys.argv[1]))['verification']; print(sys.argv[2], \
f\"LFW 10-fold {100*v['accuracy_mean']:.2f} % +- {100*v['accuracy_std']:.2f}, TAR@FAR1e-3 {100*v['tar_at_far_1e-3']:.1f} %\")" \
    "${m#*=}/summary.json" "${m%%=*}"
done > "$OUT/lfw_accuracy.txt"
step speed
for p in fp32 bf16; do
  for m in "$OLD" "$NEW"; do
    echo "== $m $p"
    $V bench --model "$m" --threads 2 --precision "$p" --batch 1 32 --iters 7 --matmul-peak 2>&1
  done
done > "$OUT/speed.txt"
step done
cat "$OUT/lfw_accuracy.txt" "$OUT/bf16_accuracy.txt"
grep -v '^model ready' "$OUT/speed.txt"
cat "$OUT/severity_sweep.md"
sed -n '/^| occluded/,/^$/p' "$OUT/region_occlusion.md"
sed -n '/^| set | comparisons by/,/^$/p' "$OUT/calibration_check.log"
echo "tables: runs/bench/peers/tables.md, runs/bench/*/summary.json; logs: $OUT/"
