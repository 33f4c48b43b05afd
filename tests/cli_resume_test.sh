#!/usr/bin/env bash
# Long runs lose nothing when stopped: `vitnt score` and `vitnt align` killed with -9 mid-way,
# or stopped by SIGTERM / SIGINT, then resumed with --resume, give the same bytes as an
# uninterrupted run; a resume with other options is refused.
# Usage: cli_resume_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
LFW=$SHARED/data/lfw112/images RAW=$SHARED/data/raw/lfw
DET=$SHARED/models/yunet_s_640_640.onnx
for need in "$LFW" "$RAW" "$DET"; do
  [ -e "$need" ] || { echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77; }
done
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
rows() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
# starts "$@" in the background, waits until FILE has N lines, sends SIGNAL; sets rc
stop_after() {
  local file=$1 n=$2 sig=$3; shift 3
  "$@" 2>> "$WORK/log.txt" &
  local pid=$! t=0
  while [ "$(rows "$file")" -lt "$n" ]; do
    kill -0 $pid 2>/dev/null || fail "finished before $n rows: the test cannot stop it mid-way"
    sleep 0.02; t=$((t + 1)); [ $t -lt 6000 ] || fail "no progress in $file"
  done
  kill -"$sig" $pid
  set +e; wait $pid; rc=$?; set -e
}

find "$LFW" -name '*.jpg' | sort | sed -n 1,1000p > "$WORK/list.txt"
S=("$VITNT" score --threads 1 --embedding --patch-map)

# 1. kill -9 mid-way (and a cut last line), resume with another batch size: same bytes
"${S[@]}" -o "$WORK/full.csv" "@$WORK/list.txt" 2> /dev/null
stop_after "$WORK/a.csv.partial" 150 9 "${S[@]}" --batch 4 -o "$WORK/a.csv" "@$WORK/list.txt"
[ $rc -eq 137 ] || fail "kill -9: rc $rc"
[ -e "$WORK/a.csv" ] && fail "killed run left a final output"
truncate -s -7 "$WORK/a.csv.partial"  # as if killed inside a write
"${S[@]}" --batch 32 --resume -o "$WORK/a.csv" "@$WORK/list.txt" 2> "$WORK/resume.txt"
grep -q "resuming" "$WORK/resume.txt" || fail "no resume message: $(cat "$WORK/resume.txt")"
cmp "$WORK/full.csv" "$WORK/a.csv" || fail "resumed output differs from the uninterrupted run"
[ -e "$WORK/a.csv.partial" ] || [ -e "$WORK/a.csv.partial.json" ] && fail "partial files left behind"

# 1b. the same with oneDNN limited to AVX2 (the path AVX2-only CPUs take, where a GEMM's
# rounding depends on its row count unless every call has one image's rows), the
# uninterrupted run in batches of 32 on 2 threads, the stopped one in 7s, the resumed
# one in 5s on 1 thread: same bytes
A=(env ONEDNN_MAX_CPU_ISA=AVX2)  # for these commands only: the rest keep the caller's ISA
"${A[@]}" "$VITNT" score --threads 2 --batch 32 --embedding --patch-map -o "$WORK/avx2_full.csv" \
  "@$WORK/list.txt" 2> /dev/null
stop_after "$WORK/d.csv.partial" 150 9 "${A[@]}" "${S[@]}" --batch 7 -o "$WORK/d.csv" "@$WORK/list.txt"
[ $rc -eq 137 ] || fail "kill -9 (AVX2): rc $rc"
"${A[@]}" "${S[@]}" --batch 5 --resume -o "$WORK/d.csv" "@$WORK/list.txt" 2> /dev/null
cmp "$WORK/avx2_full.csv" "$WORK/d.csv" || fail "AVX2: resumed output differs from the uninterrupted run"

# 2. SIGTERM: finishes the batch, says how to resume, exit 143; JSON Lines resumed
"$VITNT" score --threads 1 --format jsonl -o "$WORK/full.jsonl" "@$WORK/list.txt" 2> /dev/null
: > "$WORK/log.txt"
stop_after "$WORK/b.jsonl.partial" 100 TERM "$VITNT" score --threads 1 --batch 8 --format jsonl \
  -o "$WORK/b.jsonl" "@$WORK/list.txt"
[ $rc -eq 143 ] || fail "SIGTERM: rc $rc, expected 143"
grep -q "stopped by SIGTERM" "$WORK/log.txt" && grep -q -- "--resume" "$WORK/log.txt" ||
  fail "no stop message: $(cat "$WORK/log.txt")"
[ $(( $(rows "$WORK/b.jsonl.partial") % 8 )) -eq 0 ] || fail "SIGTERM did not finish the batch"
"$VITNT" score --threads 1 --format jsonl --resume -o "$WORK/b.jsonl" "@$WORK/list.txt" 2> /dev/null
cmp "$WORK/full.jsonl" "$WORK/b.jsonl" || fail "SIGTERM + resume differs"

# 3. SIGINT: exit 130; a resume with other options or inputs is refused, nothing changed
stop_after "$WORK/c.csv.partial" 100 INT "$VITNT" score --threads 1 --batch 8 -o "$WORK/c.csv" \
  "@$WORK/list.txt"
[ $rc -eq 130 ] || fail "SIGINT: rc $rc, expected 130"
cp "$WORK/c.csv.partial" "$WORK/c.before"
set +e
"$VITNT" score --threads 1 --blocks 0:6 --resume -o "$WORK/c.csv" "@$WORK/list.txt" 2> "$WORK/e1.txt"; r1=$?
head -500 "$WORK/list.txt" > "$WORK/short.txt"
"$VITNT" score --threads 1 --resume -o "$WORK/c.csv" "@$WORK/short.txt" 2> "$WORK/e2.txt"; r2=$?
"$VITNT" score --threads 1 -o "$WORK/c.csv" "@$WORK/list.txt" 2> "$WORK/e3.txt"; r3=$?
"$VITNT" score --threads 1 --resume -o "$WORK/none.csv" "@$WORK/list.txt" 2> "$WORK/e4.txt"; r4=$?
set -e
[ $r1 -eq 1 ] && grep -q 'blocks = ""' "$WORK/e1.txt" || fail "other --blocks: rc $r1 $(cat "$WORK/e1.txt")"
[ $r2 -eq 1 ] && grep -q "inputs" "$WORK/e2.txt" || fail "other inputs: rc $r2 $(cat "$WORK/e2.txt")"
[ $r3 -eq 1 ] && grep -q -- "--resume" "$WORK/e3.txt" || fail "fresh run over a partial: rc $r3"
[ $r4 -eq 1 ] && grep -q "nothing to resume" "$WORK/e4.txt" || fail "resume without partial: rc $r4"
cmp "$WORK/c.before" "$WORK/c.csv.partial" || fail "a refused resume changed the partial output"
"$VITNT" score --threads 1 --resume -o "$WORK/c.csv" "@$WORK/list.txt" 2> /dev/null
cmp <(cut -d, -f1-4 "$WORK/full.csv") "$WORK/c.csv" || fail "SIGINT + resume differs"

# 4. align: killed mid-way, resumed; the same manifest and crops
"$VITNT" align --detector-model "$DET" -o "$WORK/al_full" "$RAW" 2> /dev/null
stop_after "$WORK/al/manifest.tsv.partial" 40 9 "$VITNT" align --detector-model "$DET" -o "$WORK/al" "$RAW"
"$VITNT" align --detector-model "$DET" --resume -o "$WORK/al" "$RAW" 2> /dev/null
cmp <(sed 's/al_full/al/' "$WORK/al_full/manifest.tsv") "$WORK/al/manifest.tsv" ||
  fail "resumed align manifest differs"
diff -r -x manifest.tsv "$WORK/al_full" "$WORK/al" > /dev/null || fail "resumed align crops differ"
echo "cli_resume: OK"
