#!/usr/bin/env bash
# Reproduces docs/benchmarks.md: LFW and LFW-degraded, every quality method, two
# independent FR models for the comparisons.
# Then tools/eval/peer_benchmarks.sh: CFP-FP, CFP-FF, EdgeFace-XXS, per-degradation.
# Usage: tools/eval/benchmarks.sh [MODEL.safetensors] [CONTROL.safetensors]
#   MODEL: the ViT to evaluate (default: the bundled models/vitnt-s16.safetensors)
#   CONTROL: the same architecture at random initialisation (optional)
# Outputs in runs/bench/ (not committed); the tables are printed and in each summary.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${VITNT_SHARED:-../shared}
MODEL=${1:-models/vitnt-s16.safetensors}
CONTROL=${2:-}
V=${VITNT_BIN:-build/vitnt}
OUT=runs/bench
mkdir -p "$OUT"
[ -f runs/lfw_degraded/pairs.csv ] || /usr/bin/python3 tools/eval/make_degraded_lfw.py --lfw "$SHARED/data/lfw112" --out runs/lfw_degraded

# every image of both benchmarks, once
find "$SHARED/data/lfw112/images" -name '*.jpg' | sort > "$OUT/lfw.txt"
find runs/lfw_degraded/images -name '*.png' | sort > "$OUT/degraded.txt"
cat "$OUT/lfw.txt" "$OUT/degraded.txt" > "$OUT/all.txt"

score() {  # NAME MODEL [score flags...]
  local name=$1 model=$2; shift 2
  [ -f "$OUT/q_$name.csv" ] || $V score --model "$model" "$@" -o "$OUT/q_$name.csv" "@$OUT/all.txt"
}
score vitnt "$MODEL" --patch-map
score vitnt-uniform "$MODEL" --aggregation uniform
score vitnt-attention-all "$MODEL" --aggregation attention-all
DEPTH=$($V info --model "$MODEL" --print-config | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['depth'])")
score vitnt-all-blocks "$MODEL" --blocks "0:$((DEPTH - 1))"
score vitnt-early-half "$MODEL" --blocks "0:$((DEPTH / 2 - 1))"
score vitnt-late-half "$MODEL" --blocks "$((DEPTH / 2)):$((DEPTH - 1))"
score embedding-norm "$MODEL" --method embedding-norm
score ser-fiq "$MODEL" --method ser-fiq --serfiq-passes 10
QUAL=(-q vitnt="$OUT/q_vitnt.csv" -q vitnt-uniform="$OUT/q_vitnt-uniform.csv"
      -q vitnt-attention-all="$OUT/q_vitnt-attention-all.csv" -q vitnt-all-blocks="$OUT/q_vitnt-all-blocks.csv"
      -q vitnt-early-half="$OUT/q_vitnt-early-half.csv" -q vitnt-late-half="$OUT/q_vitnt-late-half.csv"
      -q embedding-norm="$OUT/q_embedding-norm.csv" -q ser-fiq="$OUT/q_ser-fiq.csv")
# the trained peers (models/peers/*.json), scored once per image like the rest
for peer in lightqnet:lightqnet fqa:modelscope_fqa; do
  [ -f "$OUT/q_${peer%%:*}.csv" ] || $V score --method external --quality-model "models/peers/${peer#*:}.json" \
    -o "$OUT/q_${peer%%:*}.csv" "@$OUT/all.txt"
  QUAL+=(-q "${peer%%:*}=$OUT/q_${peer%%:*}.csv")
done
if [ -n "$CONTROL" ]; then
  score vitnt-random-init "$CONTROL"
  QUAL+=(-q vitnt-random-init="$OUT/q_vitnt-random-init.csv")
fi

run_eval() {  # NAME PAIRS ROOT FR-FLAGS...
  local name=$1 pairs=$2 root=$3; shift 3
  if [ -f "$OUT/$name/scores.csv" ]; then  # comparison scores from an earlier run
    $V eval --pairs "$OUT/$name/scores.csv" "${QUAL[@]}" --baseline laplacian -o "$OUT/$name"
  else
    $V eval --pairs "$pairs" ${root:+--images-root "$root"} "$@" "${QUAL[@]}" --baseline laplacian -o "$OUT/$name"
  fi
}
EDGE=(--fr onnx --fr-model "$SHARED/models/edgeface_xs.onnx" --fr-order RGB --fr-mean 127.5 --fr-std 127.5)
TEACHER=(--fr onnx --fr-model "$SHARED/models/fr_feature.onnx" --fr-order BGR --fr-mean 127.5 --fr-std 128)
run_eval lfw_edgeface "$SHARED/data/lfw112/pairs.txt" "$SHARED/data/lfw112/images" "${EDGE[@]}"
run_eval lfw_degraded_edgeface runs/lfw_degraded/pairs.csv "" "${EDGE[@]}"
run_eval lfw_degraded_frfeature runs/lfw_degraded/pairs.csv "" "${TEACHER[@]}"
# the ViT's own verification accuracy on LFW (its embeddings as the comparison model)
$V eval --pairs "$SHARED/data/lfw112/pairs.txt" --images-root "$SHARED/data/lfw112/images" \
  --fr vit --model "$MODEL" --no-report -o "$OUT/lfw_vit_fr" | sed -n 1p
# CFP-FP / CFP-FF, the trained peers, EdgeFace-XXS, per-degradation (reuses the files above)
bash tools/eval/peer_benchmarks.sh "$MODEL" "${CONTROL:-runs/vitnt-s16-init.safetensors}"
