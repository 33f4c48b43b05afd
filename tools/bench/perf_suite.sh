#!/usr/bin/env bash
# The measurements of docs/performance.md, in one run (stop other work first).
# Usage: tools/bench/perf_suite.sh [VITNT_BINARY]   -> runs/perf/*.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
V=${1:-build/vitnt}
OUT=runs/perf
SHARED=${VITNT_SHARED:-../shared}
mkdir -p "$OUT"
export OMP_WAIT_POLICY=PASSIVE  # for the PyTorch side; harmless for ours
# the machine every figure of this run belongs to: CPU model and family, the SIMD flags
# that matter, and the oneDNN matmul peak measured now
{ lscpu | grep -E "Model name|CPU family|^CPU\(s\)"
  echo "Flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512f|avx512_bf16|avx512_vnni|amx_bf16)$' | tr '\n' ' ')"
  $V bench --matmul-peak --threads 2 --batch 1 --iters 1 | grep "oneDNN matmul"; } > "$OUT/machine.txt"
cat "$OUT/machine.txt"

# 1. vitnt fp32 / bf16 vs PyTorch eager fp32, CVLface ViT-S and ViT-B shapes, batch 1 and 32:
# as this CPU runs, and limited to AVX2 (as on Zen 3 / client CPUs), each with its peak
for isa in default avx2; do
  /usr/bin/python3 tools/bench/compare_torch.py --vitnt "$V" --batches 1,32 --iters 5 \
    --isa $isa --out "$OUT/compare_$isa.json" | tee "$OUT/compare_$isa.txt"
done

# random ViT-B weights (F16 file) for the rest
$V info --arch cvlface-vit-b --print-config > "$OUT/vitb.json"
[ -f "$OUT/vitb.safetensors" ] || /usr/bin/python3 tools/reference/reference_score.py \
  --config "$OUT/vitb.json" --random-model "$OUT/vitb.safetensors" --dtype F16
B=(--model "$OUT/vitb.safetensors" --arch cvlface-vit-b)

# 2. batch scaling and threads (ViT-B, score only, blocks 0..19)
for p in fp32 bf16; do
  echo "== ViT-B $p, 2 threads, batch scaling" ; $V bench "${B[@]}" --precision $p --threads 2 --batch 1 8 32 128 --iters 3
done > "$OUT/scaling.txt"
echo "== ViT-B fp32, 1 thread" >> "$OUT/scaling.txt"
$V bench "${B[@]}" --threads 1 --batch 32 --iters 3 >> "$OUT/scaling.txt"
cat "$OUT/scaling.txt"

# 3. start-up: process start to model ready, and in-process load to ready / first batch
# (packing the weights), cold and warm page cache
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || echo "(cannot drop caches: cold = warm)"
{ /usr/bin/time -f "cold: process start + load %e s" $V info "${B[@]}" > /dev/null; } 2>&1 | tee "$OUT/startup.txt"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
echo -n "cold: " >> "$OUT/startup.txt"; $V bench "${B[@]}" --batch 1 --iters 1 | grep "model ready" >> "$OUT/startup.txt"
{ /usr/bin/time -f "warm: process start + load %e s" $V info "${B[@]}" > /dev/null; } 2>&1 | tee -a "$OUT/startup.txt"
echo -n "warm: " >> "$OUT/startup.txt"; $V bench "${B[@]}" --batch 1 --iters 1 | grep "model ready" >> "$OUT/startup.txt"
cat "$OUT/startup.txt"

# 4. memory: peak RSS, ViT-B score-only batch 32, and RSS over a 13,000-image stream
{ /usr/bin/time -f "peak RSS %M KB" $V bench "${B[@]}" --threads 2 --batch 32 --iters 2 > /dev/null; } 2>&1 | tee "$OUT/memory.txt"
find "$SHARED/data/lfw112/images" -name '*.jpg' | sort > "$OUT/stream.txt"
find "$SHARED/data/fairface112/val" -name '*.jpg' | sort >> "$OUT/stream.txt"
find "$SHARED/data/fairface112/train" -name '*.jpg' | sort | sed -n 1,4300p >> "$OUT/stream.txt"
$V score --threads 2 -o "$OUT/stream.csv" "@$OUT/stream.txt" 2> "$OUT/stream.log" &
pid=$!
: > "$OUT/rss.tsv"
t=0
while kill -0 $pid 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || true)
  [ -n "$rss" ] && echo -e "$t\t$rss" >> "$OUT/rss.tsv"
  sleep 1; t=$((t + 1))
done
wait $pid || true
tail -1 "$OUT/stream.log" | tee -a "$OUT/memory.txt"
awk 'NR==1{first=$2} {if($2>max)max=$2; last=$2} END {printf "RSS over the stream (default model): first %d KB, max %d KB, last %d KB, %d samples\n", first, max, last, NR}' "$OUT/rss.tsv" | tee -a "$OUT/memory.txt"

# 5. end to end vs pure inference (default model, aligned JPEGs, batch 32)
$V bench --threads 2 --batch 32 --iters 5 | tee "$OUT/e2e.txt"
$V score --threads 2 -o "$OUT/e2e.csv" "$SHARED/data/lfw112/images" 2>&1 | tail -1 | tee -a "$OUT/e2e.txt"

# 6. bf16 accuracy: the bundled model over all of lfw112 (fp32 side: step 5's e2e.csv),
# a random-weight ViT-B over 320 crops
$V score --threads 2 --precision bf16 -o "$OUT/lfw_bf16.csv" "$SHARED/data/lfw112/images" 2> /dev/null
find "$SHARED/data/lfw112/images" -name '*.jpg' | sort | awk 'NR % 24 == 1' > "$OUT/lfw320.txt"
$V score "${B[@]}" --threads 2 -o "$OUT/vitb_fp32.csv" "@$OUT/lfw320.txt" 2> /dev/null
$V score "${B[@]}" --threads 2 --precision bf16 -o "$OUT/vitb_bf16.csv" "@$OUT/lfw320.txt" 2> /dev/null
{ echo -n "bundled model, lfw112: "; /usr/bin/python3 tools/bench/bf16_accuracy.py "$OUT/e2e.csv" "$OUT/lfw_bf16.csv"
  echo -n "random ViT-B, lfw112 (every 24th): "; /usr/bin/python3 tools/bench/bf16_accuracy.py "$OUT/vitb_fp32.csv" "$OUT/vitb_bf16.csv"; } | tee "$OUT/bf16_accuracy.txt"
