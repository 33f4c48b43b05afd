#!/usr/bin/env bash
# Set up and run the main job: install packages, build, score faces with the bundled
# model. Usage: tools/quickstart.sh [INPUTS...] (default: the LFW crops in ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
SHARED=${VITNT_SHARED:-../shared}
if [ $# -eq 0 ]; then set -- "$SHARED/data/lfw112/images"; fi
build/vitnt score --patch-map -o scores.csv "$@"
echo "lowest-quality faces:"
tail -n +2 scores.csv | sort -t, -k2,2g | sed -n 1,5p | cut -d, -f1,2
