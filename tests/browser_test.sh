#!/usr/bin/env bash
# `vitnt serve`'s page in a real browser: Debian's chromium driven by playwright-core
# (tests/browser, pinned by its package-lock.json) against real servers on loopback ports.
# Prepares the photos and the `vitnt best` reference here; tests/browser/page_test.mjs
# does the rest. VITNT_SCREENSHOT=docs/serve_page.png also saves a screenshot of the page.
# Usage: browser_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$(readlink -f "$1") PY=$2 SRC=$(readlink -f "$3") WORK=$(readlink -m "$4")  # absolute: node runs elsewhere
SHARED=${VITNT_SHARED:-$SRC/../shared}
DET=$SHARED/models/yunet_s_640_640.onnx
RAW=$SHARED/data/raw/lfw
CHROMIUM=${VITNT_CHROMIUM:-/usr/bin/chromium}
for need in "$DET" "$RAW"; do
  if [ ! -e "$need" ]; then
    echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77
  fi
done
missing=()
command -v node >/dev/null || missing+=("node (Debian package nodejs)")
command -v npm >/dev/null || missing+=("npm (Debian package npm)")
[ -x "$CHROMIUM" ] || missing+=("$CHROMIUM (Debian package chromium; or set VITNT_CHROMIUM)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "SKIP: the browser test needs: ${missing[*]} (tools/install_deps.sh installs them)"
  exit 77
fi
# playwright-core at the lockfile's version, once (npm's cache makes later installs offline)
BROWSER_DIR=$SRC/tests/browser
if [ ! -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ]; then
  echo "browser test: npm ci in $BROWSER_DIR"
  if ! (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund); then
    echo "SKIP: npm ci failed in $BROWSER_DIR (no network to the npm registry and nothing in the npm cache?)"
    exit 77
  fi
fi

rm -rf "$WORK" && mkdir -p "$WORK/burst"
# A sharp raw LFW photo and the same blurred; a 4-frame burst of one person (the photo
# blurred by different amounts, the sharp one third) and what `vitnt best` keeps of it.
SHARP=$(find "$RAW" -name '*.jpg' | sort | head -1)
"$PY" - "$SHARP" "$WORK" <<'PY'
import os, sys
import cv2
src, work = sys.argv[1:3]
img = cv2.imread(src)
assert img is not None, f"cannot read {src}"
cv2.imwrite(os.path.join(work, "sharp.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
cv2.imwrite(os.path.join(work, "blurred.jpg"), cv2.GaussianBlur(img, (0, 0), 4),
            [cv2.IMWRITE_JPEG_QUALITY, 95])
for i, sigma in enumerate([3.0, 1.5, 0, 5.0]):
    frame = cv2.GaussianBlur(img, (0, 0), sigma) if sigma else img
    cv2.imwrite(os.path.join(work, "burst", f"{i:03d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
PY
printf 'this is a text file, not a photo\n' > "$WORK/notes.txt"
printf 'right-key\n' > "$WORK/keys.txt"
"$VITNT" best --detector-model "$DET" --no-plot --top 1 -o "$WORK/best_ref" "$WORK/burst" \
  2> "$WORK/best.err" || { cat "$WORK/best.err"; echo "FAIL: vitnt best"; exit 1; }
cd "$BROWSER_DIR"
exec node page_test.mjs "$VITNT" "$SRC" "$WORK" "$DET" "$CHROMIUM"
