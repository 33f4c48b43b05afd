#!/usr/bin/env bash
# Load test of `vitnt serve` with wrk (Debian package): POST /v1/quality with aligned LFW
# crops at 1, 8 and 64 connections, with dynamic batching (--max-batch 32, waiting up to
# --max-wait-ms 5 for a batch to fill, and not waiting: the default) and without
# (--max-batch 1), next to `vitnt bench --batch 1 32` (offline throughput) in the same run;
# per point the mean batch size (/metrics) and the CPU the load generator (wrk) took.
# Usage: tools/bench/serve_load.sh [SECONDS_PER_POINT [MODEL [ARCH]]]   (from the repository
# root, after building build/vitnt; VITNT_SHARED: the shared data folder, default ../shared;
# MODEL: weights, default the bundled model; ARCH: a shipped description for them, e.g.
# cvlface-vit-b for random ViT-B weights made as in tools/bench/perf_suite.sh)
set -euo pipefail
DUR=${1:-10}
MODEL_ARGS=()
[ -n "${2:-}" ] && MODEL_ARGS+=(--model "$2")
[ -n "${3:-}" ] && MODEL_ARGS+=(--arch "$3")
VITNT=${VITNT:-build/vitnt}
SHARED=${VITNT_SHARED:-../shared}
mapfile -t IMAGES < <(find "$SHARED/data/lfw112/images" -name '*.jpg' | sort | sed -n 1,64p)
[ "${#IMAGES[@]}" -gt 0 ] || { echo "no LFW crops under $SHARED/data/lfw112"; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }

echo "== machine"
grep -m1 'model name' /proc/cpuinfo
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== vitnt bench ${MODEL_ARGS[*]} --matmul-peak --batch 1 --iters 1"
"$VITNT" bench "${MODEL_ARGS[@]}" --matmul-peak --batch 1 --iters 1
echo "== vitnt bench --batch 1 32 (offline)"
"$VITNT" bench "${MODEL_ARGS[@]}" --batch 1 32

echo "== serve (wrk, ${DUR}s per point): mode connections req/s p50_ms p99_ms errors" \
  "| mean batch | wrk CPU (cores, the load generator shares this machine)"
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
for mode in 32:0 32:5 1:0; do
  max_batch=${mode%:*} wait_ms=${mode#*:}
  "$VITNT" serve "${MODEL_ARGS[@]}" --port 0 --no-detector --max-batch "$max_batch" --max-wait-ms "$wait_ms" \
    --queue 1024 > /tmp/serve_load.$$.out 2> /tmp/serve_load.$$.err &
  pid=$!
  for _ in $(seq 600); do grep -q '^listening on' /tmp/serve_load.$$.out && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' /tmp/serve_load.$$.out)
  [ -n "$url" ] || { cat /tmp/serve_load.$$.err; kill "$pid"; exit 1; }
  for c in 1 8 64; do
    t=$((c < 2 ? 1 : 2))
    s0=$(metric "$url" vitnt_batch_size_sum) n0=$(metric "$url" vitnt_batch_size_count)
    r=$(/usr/bin/time -f "TIME %U %S" wrk -t "$t" -c "$c" -d "${DUR}s" --timeout 30s \
        -s tools/bench/serve_load.lua "$url" -- "${IMAGES[@]}" 2>&1)
    s1=$(metric "$url" vitnt_batch_size_sum) n1=$(metric "$url" vitnt_batch_size_count)
    cpu=$(echo "$r" | awk -v d="$DUR" '/^TIME/ {printf "%.2f", ($2 + $3) / d}')
    batch=$(awk -v a="$s0" -v b="$s1" -v x="$n0" -v y="$n1" \
            'BEGIN {printf "%.1f", (y > x) ? (b - a) / (y - x) : 0}')
    echo "max-batch=$max_batch max-wait-ms=$wait_ms c=$c $(echo "$r" | sed -n 's/^RESULT //p')" \
      "| $batch | $cpu"
  done
  kill -TERM "$pid"; wait "$pid" || true
done
rm -f /tmp/serve_load.$$.out /tmp/serve_load.$$.err
