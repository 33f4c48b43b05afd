#!/usr/bin/env bash
# Soak test of `vitnt serve`: wrk at 64 connections for SECONDS (default 600) POSTing
# aligned LFW crops, every 50th body a truncated JPEG (the per-image error path), while the
# server's resident memory is sampled every 15 s. At the end: requests by status code from
# /metrics, and RSS first/last/max. Fails (exit 1) on any 5xx or on RSS growing more than
# 10 % from the first sample after warm-up to the last.
# Usage: tools/bench/serve_soak.sh [SECONDS]   (repository root, after building build/vitnt;
# SERVE_ARGS: more `vitnt serve` options, e.g. "--engine-cpus 0")
set -euo pipefail
DUR=${1:-600}
VITNT=${VITNT:-build/vitnt}
SHARED=${VITNT_SHARED:-../shared}
read -ra EXTRA <<< "${SERVE_ARGS:-}"
mapfile -t IMAGES < <(find "$SHARED/data/lfw112/images" -name '*.jpg' | sort | sed -n 1,64p)
[ "${#IMAGES[@]}" -gt 0 ] || { echo "no LFW crops under $SHARED/data/lfw112"; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

echo "== machine"
grep -m1 'model name' /proc/cpuinfo
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg); serve options: ${EXTRA[*]}"

"$VITNT" serve --port 0 --no-detector --max-batch 32 --queue 1024 "${EXTRA[@]}" \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 600); do grep -q '^listening on' "$tmp/out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$tmp/out")
[ -n "$url" ] || { cat "$tmp/err"; exit 1; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "== serve ready: RSS $(rss) kB"

SOAK_BAD_EVERY=50 wrk -t 2 -c 64 -d "${DUR}s" --timeout 30s -s tools/bench/serve_load.lua \
  "$url" -- "${IMAGES[@]}" >"$tmp/wrk" &
wrk_pid=$!
echo "== RSS (kB) every 15 s"
samples=()
while kill -0 "$wrk_pid" 2>/dev/null; do
  sleep 15
  kill -0 "$wrk_pid" 2>/dev/null || break
  samples+=("$(rss)")
  echo "t=$((${#samples[@]} * 15))s rss=${samples[-1]}"
done
wait "$wrk_pid"
echo "== wrk: req/s p50_ms p99_ms non2xx+socket_errors"
sed -n 's/^RESULT //p' "$tmp/wrk"
echo "== /metrics requests by code"
curl -s "$url/metrics" | grep '^vitnt_requests_total'
five=$(curl -s "$url/metrics" | awk -F'[ "]' '/^vitnt_requests_total\{code="5/ {n += $NF} END {print n + 0}')
# The first sample is taken 15 s in (after warm-up allocations); compare the last with it.
first=${samples[0]} last=${samples[-1]}
max=$(printf '%s\n' "${samples[@]}" | sort -n | tail -1)
echo "RSS first=${first} kB last=${last} kB max=${max} kB; 5xx responses: ${five}"
ok=1
[ "$five" -eq 0 ] || { echo "FAIL: 5xx responses"; ok=0; }
[ "$last" -le $((first * 110 / 100)) ] || { echo "FAIL: RSS grew more than 10 %"; ok=0; }
kill -TERM "$pid"; wait "$pid" || true
[ "$ok" -eq 1 ] && echo "soak passed"
[ "$ok" -eq 1 ]
