#!/usr/bin/env bash
# Renders a `vitnt eval` report.html in headless Chromium and saves a PNG: the
# documented check that the report opens in a browser (Debian package `chromium`).
# Usage: tools/eval/screenshot.sh REPORT.html OUT.png
set -euo pipefail
report=$(readlink -f "$1") out=$(readlink -f "$2")
command -v chromium >/dev/null || { echo "chromium not installed (apt-get install chromium)"; exit 77; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1200,2400 --screenshot="$out" "file://$report" 2>/dev/null
[ -s "$out" ] || { echo "no screenshot written"; exit 1; }
echo "screenshot: $out"
