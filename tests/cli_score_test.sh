#!/usr/bin/env bash
# `vitnt score` end to end: a random CVLface-ViT-S-shaped model (F16, `net.` keys as
# downloaded from CVLface) on real LFW crops, checked against the PyTorch reference;
# bad files skipped and reported; exit codes; atomic output.
# Usage: cli_score_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
LFW=$SHARED/data/lfw112/images
if [ ! -d "$LFW" ]; then
  echo "SKIP: $LFW missing (set VITNT_SHARED to the shared folder)"; exit 77
fi
rm -rf "$WORK" && mkdir -p "$WORK/in/sub"
fail() { echo "FAIL: $*"; exit 1; }

# 30 real crops in two folders, plus awkward files
find "$LFW" -name "*.jpg" | sort | sed -n 1,30p > "$WORK/all.txt"
head -20 "$WORK/all.txt" | xargs -I{} cp {} "$WORK/in/"
tail -10 "$WORK/all.txt" | xargs -I{} cp {} "$WORK/in/sub/"
head -c 3000 "$(head -1 "$WORK/all.txt")" > "$WORK/in/truncated.jpg"
echo "not an image" > "$WORK/in/notes.png"
"$PY" -c "import cv2,sys; im=cv2.imread(sys.argv[1]); cv2.imwrite(sys.argv[2], cv2.resize(im,(100,100)))" \
  "$(head -1 "$WORK/all.txt")" "$WORK/in/small.png"

"$VITNT" info --arch cvlface-vit-s --print-config > "$WORK/vit_s.json"
"$PY" "$SRC/tools/reference/reference_score.py" --config "$WORK/vit_s.json" \
  --random-model "$WORK/vit_s.safetensors" --dtype F16 --seed 3

# 1. a folder with bad files: they are reported, the rest scored, exit code 2
set +e
"$VITNT" score --model "$WORK/vit_s.safetensors" --arch cvlface-vit-s --threads 2 \
  -o "$WORK/out.csv" "$WORK/in" 2> "$WORK/err.txt"
rc=$?
set -e
cat "$WORK/err.txt"
[ $rc -eq 2 ] || fail "exit code $rc, expected 2 (some inputs failed)"
grep -q "truncated.jpg" "$WORK/err.txt" || fail "truncated.jpg not reported"
grep -q "notes.png" "$WORK/err.txt" || fail "notes.png not reported"
grep -q "small.png.*100x100" "$WORK/err.txt" || fail "wrong-size crop not reported"
[ "$(head -1 "$WORK/out.csv")" = "path,quality,scalar,scalar_for" ] || fail "bad CSV header"
[ "$(tail -n +2 "$WORK/out.csv" | wc -l)" -eq 30 ] || fail "expected 30 scored rows"
ls "$WORK" | grep -q '\.tmp\.' && fail "temporary output left behind"

# 2. the same numbers as the reference (quality 1e-5, patch map 1e-5, embedding 1e-4)
find "$WORK/in" -name '*.jpg' ! -name truncated.jpg | sort > "$WORK/list.txt"
"$VITNT" score --model "$WORK/vit_s.safetensors" --arch cvlface-vit-s --embedding --patch-map \
  --format jsonl --batch 7 -o "$WORK/out.jsonl" "@$WORK/list.txt"
"$PY" "$SRC/tools/reference/reference_score.py" --config "$WORK/vit_s.json" \
  --weights "$WORK/vit_s.safetensors" --output "$WORK/ref.jsonl" $(cat "$WORK/list.txt")
"$PY" - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
ours = [json.loads(l) for l in open(f"{w}/out.jsonl")]
ref = [json.loads(l) for l in open(f"{w}/ref.jsonl")]
csv = {l.split(",")[0]: float(l.split(",")[1]) for l in list(open(f"{w}/out.csv"))[1:]}
assert len(ours) == len(ref) == 30, (len(ours), len(ref))
dq = dp = de = 0.0
for o, r in zip(ours, ref):
    assert o["path"] == r["path"]
    assert len(o["patch_quality"]) == 196 and len(o["embedding"]) == 512
    dq = max(dq, abs(o["quality"] - r["quality"]), abs(csv[o["path"]] - r["quality"]))
    dp = max(dp, max(abs(a - b) for a, b in zip(o["patch_quality"], r["patch_quality"])))
    de = max(de, max(abs(a - b) for a, b in zip(o["embedding"], r["embedding"])))
print(f"max |dQ| {dq:.2e}  max |dq_p| {dp:.2e}  max |d emb| {de:.2e}")
assert dq < 1e-5 and dp < 1e-5 and de < 1e-4
qs = sorted(r["quality"] for r in ref)
assert qs[-1] - qs[0] > 1e-4, "scores do not vary between images: test would be blind"
PY

# 3. --resize accepts the small crop; fatal errors exit 1 and leave no output
"$VITNT" score --model "$WORK/vit_s.safetensors" --arch cvlface-vit-s --resize \
  -o "$WORK/small.csv" "$WORK/in/small.png"
[ "$(wc -l < "$WORK/small.csv")" -eq 2 ] || fail "--resize did not score the small crop"
set +e
"$VITNT" score --model "$WORK/missing.safetensors" --arch cvlface-vit-s -o "$WORK/x.csv" "$WORK/in" 2> "$WORK/err2.txt"
rc1=$?
"$VITNT" score --model "$WORK/vit_s.safetensors" --arch cvlface-vit-b -o "$WORK/y.csv" "$WORK/in" 2> "$WORK/err3.txt"
rc2=$?
"$VITNT" score --model "$WORK/vit_s.safetensors" --arch cvlface-vit-s --blocks 3 -o "$WORK/z.csv" "$WORK/in" 2> "$WORK/err4.txt"
rc3=$?
set -e
[ $rc1 -eq 1 ] && grep -q "missing.safetensors" "$WORK/err2.txt" || fail "missing model: rc $rc1"
[ $rc2 -eq 1 ] && grep -q "depth" "$WORK/err3.txt" || fail "wrong arch: rc $rc2 $(cat "$WORK/err3.txt")"
[ $rc3 -eq 1 ] && grep -q "A:B" "$WORK/err4.txt" || fail "bad --blocks: rc $rc3"
[ ! -e "$WORK/x.csv" ] && [ ! -e "$WORK/y.csv" ] || fail "output written despite a fatal error"
# bf16 where oneDNN has no native bf16 (forced on any CPU): exit 1, the missing feature and
# fp32 named, no output; the same for bench
set +e
ONEDNN_MAX_CPU_ISA=AVX2 "$VITNT" score --precision bf16 --model "$WORK/vit_s.safetensors" \
  --arch cvlface-vit-s -o "$WORK/b.csv" "$WORK/in" 2> "$WORK/err5.txt"; rc4=$?
ONEDNN_MAX_CPU_ISA=AVX2 "$VITNT" bench --precision bf16 --batch 1 --iters 1 2> "$WORK/err6.txt" > /dev/null; rc5=$?
set -e
for e in 5 6; do grep -q "AVX512-BF16" "$WORK/err$e.txt" && grep -q "fp32" "$WORK/err$e.txt" ||
  fail "bf16 refusal message: $(cat "$WORK/err$e.txt")"; done
[ $rc4 -eq 1 ] && [ $rc5 -eq 1 ] && [ ! -e "$WORK/b.csv" ] || fail "bf16 without CPU support: rc $rc4 / $rc5"
echo "cli_score: OK"
