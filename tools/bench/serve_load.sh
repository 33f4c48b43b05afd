#!/usr/bin/env bash
# Load test of `vitnt serve` with wrk (Debian package): POST /v1/quality with aligned LFW
# crops at 1, 8 and 64 connections, with dynamic batching (--max-batch 32, waiting up to
# --max-wait-ms 5 for a batch to fill, and not waiting: the default) and without
# (--max-batch 1), next to `vitnt bench --batch 1 32` (offline throughput) in the same run;
# per point the mean batch size (/metrics) and the CPU the load generator (wrk) took.
# A shared 2-core VM drifts by 10-20 % from minute to minute, so every serve point is
# preceded by its own offline `vitnt bench --batch 1 32` (the server idle meanwhile), the
# whole set runs ROUNDS times, and the summary gives per point the medians over the rounds
# of req/s, latency and of the ratios to the offline figures measured just before it.
# Usage: tools/bench/serve_load.sh [SECONDS_PER_POINT [MODEL [ARCH]]]   (from the repository
# root, after building build/vitnt; VITNT_SHARED: the shared data folder, default ../shared;
# MODEL: weights, default the bundled model; ARCH: a shipped description for them, e.g.
# cvlface-vit-b for random ViT-B weights made as in tools/bench/perf_suite.sh; ROUNDS:
# default 3; CLIENTS: default "1 8 64"; MODES: max-batch:max-wait-ms, default "32:0 32:5 1:0")
# SPLIT_CORES=1: the model gets all CPUs but the last (`vitnt serve --engine-cpus`; the
# offline bench runs on the same CPUs with as many threads), the request threads and wrk
# share the last one: the targets on a machine with CPU to spare for the HTTP side.
set -euo pipefail
DUR=${1:-10}
ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-1 8 64}
MODES=${MODES:-32:0 32:5 1:0}
MODEL_ARGS=()
[ -n "${2:-}" ] && MODEL_ARGS+=(--model "$2")
[ -n "${3:-}" ] && MODEL_ARGS+=(--arch "$3")
VITNT=${VITNT:-build/vitnt}
ENGINE_PIN=() SIDE_PIN=() SERVE_ARGS=()
if [ "${SPLIT_CORES:-0}" = 1 ]; then
  n=$(nproc)
  [ "$n" -ge 2 ] || { echo "SPLIT_CORES=1 needs 2 CPUs or more"; exit 1; }
  ENGINE_PIN=(taskset -c "0-$((n - 2))") SIDE_PIN=(taskset -c "$((n - 1))")
  MODEL_ARGS+=(--threads "$((n - 1))") SERVE_ARGS=(--engine-cpus "0-$((n - 2))")
fi
SHARED=${VITNT_SHARED:-../shared}
mapfile -t IMAGES < <(find "$SHARED/data/lfw112/images" -name '*.jpg' | sort | sed -n 1,64p)
[ "${#IMAGES[@]}" -gt 0 ] || { echo "no LFW crops under $SHARED/data/lfw112"; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

echo "== machine"
grep -m1 'model name' /proc/cpuinfo
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== vitnt bench ${MODEL_ARGS[*]} --matmul-peak --batch 1 --iters 1 ${ENGINE_PIN[*]}"
"${ENGINE_PIN[@]}" "$VITNT" bench "${MODEL_ARGS[@]}" --matmul-peak --batch 1 --iters 1

metric() { curl -s "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
# every measurement is one line of $tmp/all: round kind key value...
for round in $(seq "$ROUNDS"); do
  echo "== round $round: serve (wrk, ${DUR}s per point): mode clients req/s p50_ms p99_ms" \
    "errors | mean batch | wrk CPU (cores; the load generator shares this machine)" \
    "| offline img/s at batch 1, 32 just before"
  for mode in $MODES; do
    max_batch=${mode%:*} wait_ms=${mode#*:}
    "$VITNT" serve "${MODEL_ARGS[@]}" "${SERVE_ARGS[@]}" --port 0 --no-detector \
      --max-batch "$max_batch" \
      --max-wait-ms "$wait_ms" --queue 1024 > "$tmp/out" 2> "$tmp/err" &
    pid=$!
    for _ in $(seq 600); do grep -q '^listening on' "$tmp/out" && break; sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$tmp/out")
    [ -n "$url" ] || { cat "$tmp/err"; exit 1; }
    for c in $CLIENTS; do
      t=$((c < 2 ? 1 : 2))
      "${ENGINE_PIN[@]}" "$VITNT" bench "${MODEL_ARGS[@]}" --batch 1 32 > "$tmp/bench"
      off=$(awk '/^batch/ {printf "%s ", $5}' "$tmp/bench")
      awk -v r="$round" '/^batch/ {sub(":", "", $2); print r, "offline", $2, $5}' "$tmp/bench" \
        >> "$tmp/all"
      s0=$(metric "$url" vitnt_batch_size_sum) n0=$(metric "$url" vitnt_batch_size_count)
      r=$(/usr/bin/time -f "TIME %U %S" "${SIDE_PIN[@]}" wrk -t "$t" -c "$c" -d "${DUR}s" --timeout 30s \
          -s tools/bench/serve_load.lua "$url" -- "${IMAGES[@]}" 2>&1)
      s1=$(metric "$url" vitnt_batch_size_sum) n1=$(metric "$url" vitnt_batch_size_count)
      cpu=$(echo "$r" | awk -v d="$DUR" '/^TIME/ {printf "%.2f", ($2 + $3) / d}')
      batch=$(awk -v a="$s0" -v b="$s1" -v x="$n0" -v y="$n1" \
              'BEGIN {printf "%.1f", (y > x) ? (b - a) / (y - x) : 0}')
      res=$(echo "$r" | sed -n 's/^RESULT //p')
      echo "max-batch=$max_batch max-wait-ms=$wait_ms c=$c $res | $batch | $cpu | $off"
      echo "$round serve $mode:$c $res $batch $cpu $off" >> "$tmp/all"
    done
    kill -TERM "$pid"; wait "$pid" || true
    pid=
  done
done

# Medians over the rounds; serve req/s against the offline batch-32 figure and serve p50
# against the offline batch-1 call (ms), each measured just before the point.
echo "== summary: medians over $ROUNDS rounds (ratios to the offline bench run just before each point)"
awk -v modes="$MODES" -v clients="$CLIENTS" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) {
      t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  $2 == "offline" { off[$3] = off[$3] " " $4 }
  $2 == "serve" { rps[$3] = rps[$3] " " $4; p50[$3] = p50[$3] " " $5; p99[$3] = p99[$3] " " $6
                  err[$3] += $7; bat[$3] = bat[$3] " " $8
                  share[$3] = share[$3] " " 100 * $4 / $11; lat[$3] = lat[$3] " " $5 * $10 / 1000 }
  END {
    b1 = median(off[1]); b32 = median(off[32])
    printf "offline batch 1: median %.1f img/s (%.2f ms a call), all:%s\n", b1, 1000 / b1, off[1]
    printf "offline batch 32: median %.1f img/s, all:%s\n", b32, off[32]
    printf "%-27s %7s %8s %8s %9s %6s %6s %9s %9s  %s\n", "mode", "clients", "req/s",
           "p50 ms", "p99 ms", "errors", "batch", "% off32", "p50/off1", "req/s by round"
    nm = split(modes, m, " "); nc = split(clients, cl, " ")
    for (i = 1; i <= nm; i++) for (j = 1; j <= nc; j++) {
      k = m[i] ":" cl[j]; split(m[i], mb, ":")
      r = median(rps[k]); p = median(p50[k])
      printf "max-batch=%-2s max-wait-ms=%-4s %7s %8.1f %8.2f %9.2f %6d %6.1f %8.0f%% %9.2f %s\n",
             mb[1], mb[2], cl[j], r, p, median(p99[k]), err[k], median(bat[k]),
             median(share[k]), median(lat[k]), rps[k]
    }
  }' "$tmp/all"
