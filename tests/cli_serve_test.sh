#!/usr/bin/env bash
# `vitnt serve` end to end: real servers on ephemeral loopback ports, a stdlib Python client
# (tests/serve_client.py) checking results against `vitnt score` on the same bytes, every
# response against docs/openapi.yaml, the bad-request corpus, API keys, 16 parallel
# clients and SIGTERM; /v1/best against `vitnt best` on the same burst.
# Usage: cli_serve_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
DET=$SHARED/models/yunet_s_640_640.onnx
LFW=$SHARED/data/lfw112/images
RAW=$SHARED/data/raw/lfw
for need in "$DET" "$LFW" "$RAW"; do
  if [ ! -e "$need" ]; then
    echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77
  fi
done
rm -rf "$WORK" && mkdir -p "$WORK"
# 20 aligned crops and 2 raw photos, and what `vitnt score` says about them
find "$LFW" -name '*.jpg' | sort | sed -n 1,20p > "$WORK/crops.txt"
find "$RAW" -name '*.jpg' | sort | sed -n 1,2p > "$WORK/photos.txt"
"$VITNT" score -o "$WORK/ref.csv" "@$WORK/crops.txt" 2> "$WORK/score.err" ||
  { cat "$WORK/score.err"; echo "FAIL: vitnt score"; exit 1; }
"$VITNT" score --detect --detector-model "$DET" --format jsonl -o "$WORK/ref_det.jsonl" \
  "@$WORK/photos.txt" 2> "$WORK/score_det.err" ||
  { cat "$WORK/score_det.err"; echo "FAIL: vitnt score --detect"; exit 1; }
# a 12-frame burst of two people (JPEG files) and what `vitnt best` keeps of it
"$PY" "$SRC/tools/video/make_clips.py" pair "$WORK/pair.mkv" "$RAW" --frames 12
"$PY" - "$WORK/pair.mkv" "$WORK/burst" <<'PY'
import os, sys
import cv2
cap, out = cv2.VideoCapture(sys.argv[1]), sys.argv[2]
os.makedirs(out)
for i in range(12):
    ok, frame = cap.read()
    assert ok, "cannot read the clip back"
    cv2.imwrite(os.path.join(out, f"{i:03d}.jpg"), frame)
PY
"$VITNT" best --detector-model "$DET" --no-plot --top 2 --fps 10 -o "$WORK/best_ref" \
  "$WORK/burst" 2> "$WORK/best.err" || { cat "$WORK/best.err"; echo "FAIL: vitnt best"; exit 1; }
exec "$PY" "$SRC/tests/serve_client.py" "$VITNT" "$SRC" "$WORK" "$DET"
