#!/usr/bin/env bash
# Frames per second of `vitnt best` on generated 1280x720 H.264 clips (30 fps, 10 s) with
# one and with four faces, 2 threads, every frame and with --stride; where the time goes
# (decode, detection, tracking+alignment, scoring: `vitnt best`'s summary.json); and the
# machine: CPU model and family, the oneDNN matmul peak of this run. For docs/best_shot.md.
# Usage: tools/bench/best_speed.sh [VITNT_BINARY] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
V=${1:-build/vitnt}
WORK=${2:-/tmp/vitnt_best_speed}
SHARED=${VITNT_SHARED:-../shared}
DET=$SHARED/models/yunet_s_640_640.onnx
mkdir -p "$WORK"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), family" \
  "$(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
$V bench --matmul-peak --threads 2 --batch 1 --iters 1 | grep "oneDNN matmul" || true
for n in 1 4; do
  [ -f "$WORK/faces$n.mp4" ] || /usr/bin/python3 tools/video/make_clips.py bench "$WORK/faces$n.mp4" \
    "$SHARED/data/raw/lfw" --faces $n --frames 300
done
row() {  # clip stride [extra options...]
  local clip=$1 stride=$2; shift 2
  local out="$WORK/out_${clip}_s${stride}$(echo "$*" | tr -c 'a-z0-9' '_')"
  "$V" best --detector-model "$DET" --threads 2 --stride "$stride" --no-plot "$@" -o "$out" \
    "$WORK/$clip.mp4" 2> "$out.log" || { cat "$out.log"; exit 1; }
  /usr/bin/python3 - "$out/summary.json" "$clip" "$stride" "$*" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
src, st = s["sources"][0], s["settings"]
t = src["times"]
tot = sum(t.values())
parts = " | ".join(f"{t[k] / st['frames'] * 1000:.1f} ({100 * t[k] / tot:.0f}%)"
                   for k in ("decode_s", "detect_s", "track_s", "score_s"))
rt = st["frames_per_s"] / 30
print(f"| {sys.argv[2]} | {sys.argv[3]} {sys.argv[4]} | {st['frames']} | {src['faces']} | "
      f"{st['frames_per_s']:.1f} | {rt:.2f}x | {parts} |")
PY
}
echo
echo "| clip | stride | frames | faces scored | frames/s | x real time | decode ms/frame | detect | track+align | score |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for clip in faces1 faces4; do
  for stride in 1 2 3; do row $clip $stride; done
done
row faces1 1 --detector-side 320
row faces4 1 --detector-side 320
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
