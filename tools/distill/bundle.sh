#!/usr/bin/env bash
# Makes a distilled candidate the bundled default model: fits its 0-100 scalar on glint12's
# real mates for its own embedding and for EdgeFace-XS (tools/eval/calibrate_glint12.sh,
# FMR 1e-3: docs/calibration.md), embeds the blocks and writes models/vitnt-s16.{safetensors,json,settings.json}. Nothing here looks at LFW or
# CFP. The candidate must be a `distill.py export` (with its .settings.json beside it) of
# the vitnt-s16 architecture. Afterwards the benchmarks, calibration check and model card
# are redone (the steps are printed at the end).
# Usage: tools/distill/bundle.sh RUN/NAME.safetensors
set -euo pipefail
cd "$(dirname "$0")/../.."
C=${1:?usage: tools/distill/bundle.sh CANDIDATE.safetensors}
S=${VITNT_SHARED:-../shared} V=${VITNT_BIN:-build/vitnt} W=${BUNDLE_WORK:-runs/bundle}
PY=/usr/bin/python3
[ -f "$C" ] || { echo "bundle: $C: no such file" >&2; exit 1; }
SETTINGS=${C%.safetensors}.settings.json
[ -f "$SETTINGS" ] || { echo "bundle: $SETTINGS missing (distill.py export writes it)" >&2; exit 1; }
name=$($V info --model "$C" --print-config | $PY -c "import json,sys; print(json.load(sys.stdin)['name'])")
[ "$name" = vitnt-s16 ] || { echo "bundle: $C is '$name', not a vitnt-s16 export" >&2; exit 1; }
mkdir -p "$W"
# the scalar: real mates of glint12 (calibration data, no weights trained on it), one
# block for the model's own embedding (the default) and one for EdgeFace-XS
VITNT_BIN=$V tools/eval/calibrate_glint12.sh "$C" "$W/vitnt-s16.safetensors" "$W/glint12"
$V info --model "$W/vitnt-s16.safetensors" --print-config |
  $PY -c "import json,sys; print(json.dumps(json.load(sys.stdin), indent=2, sort_keys=True))" \
  > "$W/vitnt-s16.json"
cp "$W/vitnt-s16.safetensors" "$W/vitnt-s16.json" models/
cp "$SETTINGS" models/vitnt-s16.settings.json
echo "bundled $C as models/vitnt-s16 (calibration fits: $W/glint12). Next:"
echo "  tools/distill/bundle_report.sh PREVIOUS.safetensors (benchmarks, calibration check, sweeps, regions, bf16, LFW, speed)"
echo "  then MODEL_CARD.md, docs/benchmarks.md, docs/calibration.md, docs/performance.md"
