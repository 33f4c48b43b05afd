#!/usr/bin/env bash
# Issue #20 (items 2, 3, 5): ViTNT against trained peers (LightQNet, ModelScope FQA) and the
# training-free baselines on CFP-FP and CFP-FF (official 10 folds), LFW and LFW-degraded,
# comparisons by two FR models independent of the quality model and of its teacher
# (EdgeFace-XS, EdgeFace-XXS), plus the per-degradation breakdown of LFW-degraded.
# Usage: tools/eval/peer_benchmarks.sh [MODEL.safetensors] [CONTROL.safetensors]
#   MODEL: default the bundled models/vitnt-s16.safetensors
#   CONTROL: the random-initialisation control; default runs/vitnt-s16-init.safetensors,
#            written by tools/eval/make_control.py when missing (bundled model only)
#   PEER_STAGES (env): which parts, in this order by default: "cfp-xs lfw-xs perdeg xxs"
#   PEER_REPORT=1 (env): also write each eval's report.html and EDC plots (slower)
#   PEER_EXTRA="NAME=M.safetensors ..." (env): candidate models scored beside MODEL on the
#            same sets, in the same tables as method vitnt-NAME (e.g. a distillation run)
# Every image set is scored ONCE per method (runs/bench/q_*.csv); each FR model embeds
# each set once (its scores.csv is reused). Outputs in runs/bench/peers/ (not committed);
# the tables: tools/eval/bench_tables.py runs/bench/peers/*/summary.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${VITNT_SHARED:-../shared}
MODEL=${1:-models/vitnt-s16.safetensors}
CONTROL=${2:-runs/vitnt-s16-init.safetensors}
STAGES=${PEER_STAGES:-cfp-xs lfw-xs perdeg xxs}
V=${VITNT_BIN:-build/vitnt}
PY=/usr/bin/python3
OUT=runs/bench
P=$OUT/peers
mkdir -p "$P"
CFP=$SHARED/data/cfp112
REPORT=(--no-report); [ "${PEER_REPORT:-0}" = 1 ] && REPORT=()
t0=$(date +%s)
stamp() { echo "$(date -u +%H:%M:%S) +$(( $(date +%s) - t0 ))s $*" | tee -a "$P/timing.txt"; }

# the machine, with the run
{ date -u; grep -m1 'model name' /proc/cpuinfo; grep -m1 'cpu family' /proc/cpuinfo; nproc
  $V bench --matmul-peak --batch 1 --iters 1; } > "$P/machine.txt" 2>&1 || true
stamp "start: $MODEL, control $CONTROL, stages: $STAGES"

if [ ! -f "$CONTROL" ] && [ "$MODEL" = models/vitnt-s16.safetensors ]; then
  $PY tools/eval/make_control.py --model "$MODEL" --out "$CONTROL"
fi

score() {  # NAME LIST [score flags...]: one quality file per method and image set
  local name=$1 list=$2; shift 2
  [ -f "$OUT/q_$name.csv" ] || { $V score "$@" -o "$OUT/q_$name.csv" "@$list"; stamp "scored $name"; }
}
peer() {  # NAME LIST DESC.json
  score "$1" "$2" --method external --quality-model "$3"
}
EDGE_XS=(--fr onnx --fr-model "$SHARED/models/edgeface_xs.onnx" --fr-order RGB --fr-mean 127.5 --fr-std 127.5)
EDGE_XXS=(--fr onnx --fr-model "$SHARED/models/edgeface_xxs.onnx" --fr-order RGB --fr-mean 127.5 --fr-std 127.5)
ev() {  # NAME PAIRS ROOT QUAL-ARRAY-NAME FR-FLAGS...: FR embeddings once, then from scores.csv
  local name=$1 pairs=$2 root=$3; local -n qual=$4; shift 4
  if [ -f "$P/$name/scores.csv" ]; then
    $V eval --pairs "$P/$name/scores.csv" "${qual[@]}" --baseline laplacian --fmr 1e-3 1e-4 "${REPORT[@]}" -o "$P/$name"
  else
    $V eval --pairs "$pairs" ${root:+--images-root "$root"} "$@" "${qual[@]}" --baseline laplacian \
      --fmr 1e-3 1e-4 "${REPORT[@]}" -o "$P/$name"
  fi > "$P/$name.txt"
  stamp "eval $name"
}

# --- CFP (all 6,999 crops; CFP-FP and CFP-FF use frontal+profile / frontal only)
find "$CFP/images" -name '*.jpg' | sort > "$OUT/cfp.txt"
QCFP=()
cfp_scores() {
  QCFP=()
  score cfp_vitnt "$OUT/cfp.txt" --model "$MODEL"
  score cfp_vitnt-uniform "$OUT/cfp.txt" --model "$MODEL" --aggregation uniform
  score cfp_vitnt-attention-all "$OUT/cfp.txt" --model "$MODEL" --aggregation attention-all
  peer cfp_lightqnet "$OUT/cfp.txt" models/peers/lightqnet.json
  peer cfp_fqa "$OUT/cfp.txt" models/peers/modelscope_fqa.json
  score cfp_embedding-norm "$OUT/cfp.txt" --model "$MODEL" --method embedding-norm
  score cfp_ser-fiq "$OUT/cfp.txt" --model "$MODEL" --method ser-fiq --serfiq-passes 10
  [ -f "$CONTROL" ] && score cfp_vitnt-random-init "$OUT/cfp.txt" --model "$CONTROL"
  for m in vitnt vitnt-uniform vitnt-attention-all vitnt-random-init embedding-norm ser-fiq lightqnet fqa; do
    [ -f "$OUT/q_cfp_$m.csv" ] && QCFP+=(-q "$m=$OUT/q_cfp_$m.csv")
  done
  for e in ${PEER_EXTRA:-}; do
    score "cfp_vitnt-${e%%=*}" "$OUT/cfp.txt" --model "${e#*=}"
    QCFP+=(-q "vitnt-${e%%=*}=$OUT/q_cfp_vitnt-${e%%=*}.csv")
  done
  return 0
}

# --- LFW and LFW-degraded (seed 0, the project's recipe)
[ -f runs/lfw_degraded/pairs.csv ] || $PY tools/eval/make_degraded_lfw.py --lfw "$SHARED/data/lfw112" --out runs/lfw_degraded
find "$SHARED/data/lfw112/images" -name '*.jpg' | sort > "$OUT/lfw.txt"
find runs/lfw_degraded/images -name '*.png' | sort > "$OUT/degraded.txt"
cat "$OUT/lfw.txt" "$OUT/degraded.txt" > "$OUT/all.txt"
QLFW=()
lfw_scores() {
  QLFW=()
  score vitnt "$OUT/all.txt" --model "$MODEL" --patch-map
  peer lightqnet "$OUT/all.txt" models/peers/lightqnet.json
  peer fqa "$OUT/all.txt" models/peers/modelscope_fqa.json
  # the other methods when tools/eval/benchmarks.sh has scored them
  for m in vitnt vitnt-uniform vitnt-attention-all vitnt-all-blocks vitnt-early-half vitnt-late-half \
           vitnt-random-init embedding-norm ser-fiq lightqnet fqa; do
    [ -f "$OUT/q_$m.csv" ] && QLFW+=(-q "$m=$OUT/q_$m.csv")
  done
  for e in ${PEER_EXTRA:-}; do
    score "vitnt-${e%%=*}" "$OUT/all.txt" --model "${e#*=}"
    QLFW+=(-q "vitnt-${e%%=*}=$OUT/q_vitnt-${e%%=*}.csv")
  done
  return 0
}

for s in $STAGES; do
  case $s in
    cfp-xs)
      cfp_scores
      ev cfp_fp_edgeface_xs "$CFP/pairs_fp_folds.csv" "$CFP" QCFP "${EDGE_XS[@]}"
      ev cfp_ff_edgeface_xs "$CFP/pairs_ff_folds.csv" "$CFP" QCFP "${EDGE_XS[@]}" ;;
    lfw-xs)
      lfw_scores
      ev lfw_degraded_edgeface_xs runs/lfw_degraded/pairs.csv "" QLFW "${EDGE_XS[@]}"
      ev lfw_edgeface_xs "$SHARED/data/lfw112/pairs.txt" "$SHARED/data/lfw112/images" QLFW "${EDGE_XS[@]}" ;;
    perdeg)
      lfw_scores
      $PY tools/eval/per_degradation.py --manifest runs/lfw_degraded/manifest.csv \
        --scores "$P/lfw_degraded_edgeface_xs/scores.csv" --out "$P/perdeg_edgeface_xs" \
        --vitnt "$V" -q vitnt="$OUT/q_vitnt.csv" -q lightqnet="$OUT/q_lightqnet.csv" -q fqa="$OUT/q_fqa.csv"
      stamp "per-degradation" ;;
    xxs)
      cfp_scores; lfw_scores
      ev cfp_fp_edgeface_xxs "$CFP/pairs_fp_folds.csv" "$CFP" QCFP "${EDGE_XXS[@]}"
      ev cfp_ff_edgeface_xxs "$CFP/pairs_ff_folds.csv" "$CFP" QCFP "${EDGE_XXS[@]}"
      ev lfw_degraded_edgeface_xxs runs/lfw_degraded/pairs.csv "" QLFW "${EDGE_XXS[@]}"
      ev lfw_edgeface_xxs "$SHARED/data/lfw112/pairs.txt" "$SHARED/data/lfw112/images" QLFW "${EDGE_XXS[@]}" ;;
    *) echo "unknown stage $s" >&2; exit 1 ;;
  esac
done
$PY tools/eval/bench_tables.py "$P"/*/summary.json | tee "$P/tables.md"
stamp "done"
