#!/usr/bin/env bash
# `vitnt align` and `vitnt score --detect` end to end: the raw LFW photos against the
# independent reference crops; group and no-face photos; a folder of awkward files
# generated here (grayscale, 16-bit, alpha, CMYK, EXIF-rotated, bomb, truncated);
# exit codes; atomic manifest; scoring detected faces = scoring the aligned crops.
# Usage: cli_align_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
RAW=$SHARED/data/raw
DET=$SHARED/models/yunet_s_640_640.onnx
for need in "$RAW/lfw" "$RAW/other/group1.jpg" "$SHARED/data/lfw112/manifest.tsv" "$DET"; do
  if [ ! -e "$need" ]; then
    echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77
  fi
done
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }

# 1. raw LFW: every photo aligned, same relative names, the reference's landmarks and
#    crops (JPEG q92 noise aside)
"$VITNT" align --detector-model "$DET" -o "$WORK/lfw" "$RAW/lfw" 2> "$WORK/err1.txt" ||
  { cat "$WORK/err1.txt"; fail "align on raw LFW failed"; }
[ "$(find "$WORK/lfw" -name '*.png' | wc -l)" -eq 155 ] || fail "expected 155 crops"
ls "$WORK/lfw" | grep -q '\.tmp\.' && fail "temporary file left behind"
"$PY" - "$WORK/lfw" "$SHARED/data/lfw112" <<'PY'
import csv, sys
import cv2, numpy as np
out, ref = sys.argv[1], sys.argv[2]
refs = {r["path"]: r for r in csv.DictReader(open(f"{ref}/manifest.tsv"), delimiter="\t")}
rows = list(csv.DictReader(open(f"{out}/manifest.tsv"), delimiter="\t"))
assert len(rows) == 155, len(rows)
diffs, lm = [], []
for r in rows:
    rel = "images/" + r["crop"][:-4] + ".jpg"
    a = cv2.imread(f"{out}/{r['crop']}").astype(float)
    b = cv2.imread(f"{ref}/{rel}").astype(float)
    assert a.shape == (112, 112, 3), a.shape
    diffs.append(np.abs(a - b).mean())
    lm.append(max(abs(float(r[k]) - float(refs[rel][k])) for k in
                  ("x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4", "x5", "y5")))
    assert r["face"] == "0" and int(r["width"]) == 250
d = np.array(diffs)
print(f"vitnt align vs reference crops: {len(d)} images, mean |pixel diff| {d.mean():.3f}, "
      f"max {d.max():.3f}, {(d > 3).sum()} above 3 gray levels; landmarks max |diff| {max(lm):.3f} px")
assert d.mean() < 2 and (d > 3).sum() <= 2 and max(lm) < 0.02
PY

# 2. group photos: --faces all gives every face with its index; largest/central one each;
#    photos without a face are reported, no crop invented, exit code 2
mkdir -p "$WORK/other"
cp "$RAW/other/group1.jpg" "$RAW/other/group2.jpg" "$RAW/other/group3.jpg" \
   "$RAW/other/coffee.png" "$RAW/other/chelsea.png" "$WORK/other/"
for choice in all largest central; do
  set +e
  VITNT_DETECTOR="$DET" "$VITNT" align --faces $choice --format jpg -o "$WORK/g_$choice" \
    "$WORK/other" 2> "$WORK/err_$choice.txt"
  rc=$?
  set -e
  [ $rc -eq 2 ] || { cat "$WORK/err_$choice.txt"; fail "--faces $choice: exit $rc, expected 2"; }
  grep -q "coffee.png: no face" "$WORK/err_$choice.txt" || fail "coffee.png not reported"
  grep -q "chelsea.png: no face" "$WORK/err_$choice.txt" || fail "chelsea.png not reported"
  grep -q "2 failed" "$WORK/err_$choice.txt" || fail "failures not counted"
  ls "$WORK/g_$choice" | grep -Eq 'coffee|chelsea' && fail "a crop was invented"
done
for g in group1 group2 group3; do
  n=$(ls "$WORK/g_all" | grep -c "^${g}_[0-9]*\.jpg$")
  [ "$n" -ge 3 ] || fail "$g: $n faces with --faces all, expected at least 3"
  [ -e "$WORK/g_largest/$g.jpg" ] && [ -e "$WORK/g_central/$g.jpg" ] || fail "$g: no single crop"
done
"$PY" - "$WORK" <<'PY'
import csv, sys
w = sys.argv[1]
rows = list(csv.DictReader(open(f"{w}/g_all/manifest.tsv"), delimiter="\t"))
largest = list(csv.DictReader(open(f"{w}/g_largest/manifest.tsv"), delimiter="\t"))
for r in largest:
    same = [a for a in rows if a["source"] == r["source"]]
    assert [int(a["face"]) for a in same] == list(range(len(same)))
    area = lambda a: float(a["box_w"]) * float(a["box_h"])
    assert area(r) == max(area(a) for a in same), r["source"]
    assert len({(a["box_x"], a["box_y"]) for a in same}) == len(same)
print(f"group photos: {len(rows)} faces with --faces all")
PY

# 3. awkward files, generated here: the usable ones aligned like the plain photo, the
#    others refused with their reason
AWK=$WORK/awkward
mkdir -p "$AWK"
"$PY" - "$RAW/lfw/AJ_Lamas/AJ_Lamas_0001.jpg" "$AWK" <<'PY'
import struct, sys, zlib
import cv2, numpy as np
src, d = sys.argv[1], sys.argv[2]
im = cv2.imread(src)
cv2.imwrite(f"{d}/plain.png", im)
cv2.imwrite(f"{d}/gray.png", cv2.cvtColor(im, cv2.COLOR_BGR2GRAY))
cv2.imwrite(f"{d}/deep16.png", im.astype(np.uint16) * 257)
rgba = cv2.cvtColor(im, cv2.COLOR_BGR2BGRA); rgba[:20, :, 3] = 0
cv2.imwrite(f"{d}/alpha.png", rgba)
jpg = open(src, "rb").read()
open(f"{d}/truncated.jpg", "wb").write(jpg[: len(jpg) // 2])
open(f"{d}/notes.jpg", "w").write("not an image\n")
def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
# 100000 x 100000 RGB, i.e. 30 GB of pixels, in a few hundred bytes of zeros
raw = zlib.compress(b"\0" * 300001, 9)
open(f"{d}/bomb.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
                                  + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
try:
    from PIL import Image
except ImportError:
    print("note: PIL missing, no CMYK / EXIF files"); sys.exit(0)
pil = Image.open(src)
pil.convert("CMYK").save(f"{d}/cmyk.jpg", quality=95)
# stored turned a quarter left, EXIF orientation 6 = "turn 90 degrees clockwise to show"
exif = Image.Exif(); exif[0x0112] = 6
pil.rotate(90, expand=True).save(f"{d}/exif_rotated.jpg", quality=95, exif=exif.tobytes())
PY
set +e
"$VITNT" align --detector-model "$DET" -o "$WORK/awk_out" "$AWK" 2> "$WORK/err3.txt"
rc=$?
set -e
cat "$WORK/err3.txt"
[ $rc -eq 2 ] || fail "awkward files: exit $rc, expected 2"
grep -q "bomb.png: image too large.*100000x100000" "$WORK/err3.txt" || fail "bomb not refused"
grep -q "truncated.jpg: truncated JPEG" "$WORK/err3.txt" || fail "truncated JPEG not reported"
grep -q "notes.jpg: not a readable image" "$WORK/err3.txt" || fail "text file not reported"
"$PY" - "$WORK/awk_out" <<'PY'
import csv, sys
d = sys.argv[1]
rows = {r["crop"]: r for r in csv.DictReader(open(f"{d}/manifest.tsv"), delimiter="\t")}
keys = ("x1", "y1", "x2", "y2", "x3", "y3", "x4", "y4", "x5", "y5")
plain = rows["plain.png"]
expected = ["gray", "deep16", "alpha"] + (["cmyk", "exif_rotated"] if len(rows) > 4 else [])
for name in expected:
    r = rows[f"{name}.png"]  # found, upright, in the photo's shown orientation
    diff = max(abs(float(r[k]) - float(plain[k])) for k in keys)
    print(f"{name}: landmarks within {diff:.2f} px of the plain photo's")
    limit = 6 if name == "gray" else 2  # without colour the detector moves a little
    assert diff < limit and (r["width"], r["height"]) == ("250", "250"), (name, diff)
PY

# 4. score --detect: the same numbers as scoring the aligned (lossless) crops
mkdir -p "$WORK/few"
find "$RAW/lfw" -name '*.jpg' | sort | sed -n 1,12p | xargs -I{} cp {} "$WORK/few/"
cp "$RAW/other/coffee.png" "$RAW/other/group1.jpg" "$WORK/few/"
set +e
"$VITNT" score --detect --detector-model "$DET" --faces all --threads 2 --batch 5 \
  -o "$WORK/det.csv" "$WORK/few" 2> "$WORK/err4.txt"
rc=$?
set -e
[ $rc -eq 2 ] || { cat "$WORK/err4.txt"; fail "score --detect: exit $rc, expected 2"; }
grep -q "coffee.png: no face" "$WORK/err4.txt" || fail "score --detect: coffee.png not reported"
[ "$(head -1 "$WORK/det.csv")" = "path,quality,scalar,scalar_for,face,box_x,box_y,box_w,box_h,det_score" ] ||
  fail "bad header: $(head -1 "$WORK/det.csv")"
set +e
"$VITNT" align --detector-model "$DET" --faces all -o "$WORK/few_crops" "$WORK/few" 2> /dev/null
set -e
"$VITNT" score --threads 2 -o "$WORK/crops.csv" "$WORK/few_crops"
"$PY" - "$WORK" <<'PY'
import csv, os, sys
w = sys.argv[1]
det = list(csv.DictReader(open(f"{w}/det.csv")))
crops = {os.path.basename(r["path"]): float(r["quality"]) for r in csv.DictReader(open(f"{w}/crops.csv"))}
assert len(det) == len(crops) >= 15, (len(det), len(crops))
for r in det:
    stem = os.path.splitext(os.path.basename(r["path"]))[0]
    q = crops[f"{stem}_{r['face']}.png"]
    assert abs(float(r["quality"]) - q) < 1e-6, (r, q)
    assert float(r["box_w"]) > 20 and float(r["det_score"]) >= 0.5
assert sum(r["path"].endswith("group1.jpg") for r in det) >= 3
print(f"score --detect: {len(det)} faces, the same qualities as the aligned crops")
PY

# 5. fatal errors: exit 1, nothing written
set +e
"$VITNT" align --detector-model "$WORK/missing.onnx" -o "$WORK/x" "$WORK/few" 2> "$WORK/err5.txt"
rc1=$?
"$VITNT" align --detector-model "$SHARED/models/fr_feature.onnx" -o "$WORK/y" "$WORK/few" 2> "$WORK/err6.txt"
rc2=$?
"$VITNT" align --detector-model "$DET" --faces biggest -o "$WORK/z" "$WORK/few" 2> "$WORK/err7.txt"
rc3=$?
"$VITNT" score --detector-model "$DET" -o "$WORK/w.csv" "$WORK/few" 2> "$WORK/err8.txt"
rc4=$?
set -e
[ $rc1 -eq 1 ] && grep -q "missing.onnx" "$WORK/err5.txt" || fail "missing detector: rc $rc1"
[ $rc2 -eq 1 ] && grep -q "not a YuNet model" "$WORK/err6.txt" || fail "wrong model: rc $rc2"
[ $rc3 -eq 1 ] && grep -q "central, largest or all" "$WORK/err7.txt" || fail "bad --faces: rc $rc3"
[ $rc4 -eq 1 ] && grep -q "requires --detect" "$WORK/err8.txt" || fail "--detector-model without --detect: rc $rc4 $(cat "$WORK/err8.txt")"
[ ! -e "$WORK/x/manifest.tsv" ] && [ ! -e "$WORK/y" ] && [ ! -e "$WORK/w.csv" ] ||
  fail "output written despite a fatal error"
echo "cli_align: OK"
