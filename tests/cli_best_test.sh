#!/usr/bin/env bash
# `vitnt best` end to end on clips made here from raw LFW photos (tools/video/make_clips.py):
# (a) one person, degraded frames but three clean ones: the best is a clean one;
# (b) two people side by side: two tracks, each its own best frame; (c) leaving and
# re-entering: a new track after the gap; (d) truncated files: named, frames before kept,
# exit 2; (e) no face: reported, exit 0. Also bursts, stride, rotation metadata,
# --save-frames, batching across frames, the outputs (CSV, crops, plot, index.html).
# Usage: cli_best_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
LFW=$SHARED/data/raw/lfw
DET=$SHARED/models/yunet_s_640_640.onnx
for need in "$LFW" "$SHARED/data/raw/other/chelsea.png" "$DET"; do
  if [ ! -e "$need" ]; then
    echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77
  fi
done
command -v ffmpeg > /dev/null || { echo "SKIP: ffmpeg missing"; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK/in"
fail() { echo "FAIL: $*"; exit 1; }
MK="$PY $SRC/tools/video/make_clips.py"
IN=$WORK/in
$MK degraded "$IN/degraded.mp4" "$LFW"
$MK pair "$IN/pair.mkv" "$LFW"
$MK reenter "$IN/reenter.avi" "$LFW" --codec mjpg
$MK noface "$IN/noface.webm" "$LFW" --codec vp9
BEST() { "$VITNT" best --detector-model "$DET" --threads 2 "$@"; }
# run CMD... > rc: exit code, stderr in $WORK/err.txt
run() { set +e; "$@" 2> "$WORK/err.txt"; rc=$?; set -e; }

# (a) + (b) + (c) in one run, all good inputs: exit 0
run BEST --top 3 --min-gap-s 0.3 -o "$WORK/out" "$IN/degraded.mp4" "$IN/pair.mkv" "$IN/reenter.avi"
cat "$WORK/err.txt"
[ $rc -eq 0 ] || fail "exit $rc, expected 0"
grep -q "^time: decode" "$WORK/err.txt" || fail "no timing breakdown"
"$PY" - "$WORK/out" "$IN" <<'PY'
import csv, json, os, sys
import cv2
out, inp = sys.argv[1], sys.argv[2]
best = list(csv.DictReader(open(f"{out}/best.csv")))
tl = list(csv.DictReader(open(f"{out}/tracks.csv")))
head = "source,track,rank,frame,time_s,quality,scalar,box_x,box_y,box_w,box_h,det_score,crop"
assert open(f"{out}/best.csv").readline().strip() == head
def rows(rs, name): return [r for r in rs if r["source"].endswith(name)]
def tracks(name):
    t = {}
    for r in rows(tl, name): t.setdefault(int(r["track"]), []).append(r)
    return t
# (a) one track; its best face is one of the clean frames, so are its 3 kept ones
deg = tracks("degraded.mp4")
assert len(deg) == 1 and len(deg[1]) >= 30, {k: len(v) for k, v in deg.items()}
info = {d["frame"]: d for d in json.load(open(f"{inp}/degraded.mp4.json"))}
kept = sorted(rows(best, "degraded.mp4"), key=lambda r: int(r["rank"]))
print("(a) kept:", [(r["rank"], r["frame"], info[int(r["frame"])]["degradation"], r["quality"]) for r in kept])
by_q = sorted(deg[1], key=lambda r: -float(r["quality"]))
print("(a) worst:", [(r["frame"], info[int(r["frame"])]["degradation"], info[int(r["frame"])]["level"]) for r in by_q[-5:]])
assert [r["rank"] for r in kept] == ["1", "2", "3"]
assert int(kept[0]["frame"]) in (7, 22, 33), kept[0]
assert kept[0]["frame"] == by_q[0]["frame"] and kept[0]["quality"] == by_q[0]["quality"]
assert {int(r["frame"]) for r in kept} == {7, 22, 33}, kept
ts = sorted(float(r["time_s"]) for r in kept)
assert all(b - a >= 0.3 - 1e-6 for a, b in zip(ts, ts[1:])), ts
assert abs(float(kept[0]["time_s"]) - int(kept[0]["frame"]) / 30) < 2e-3, kept[0]
for r in kept:
    crop = cv2.imread(f"{out}/{r['crop']}")
    assert crop is not None and crop.shape == (112, 112, 3), r["crop"]
# (b) two tracks, the left person's best is frame 5, the right one's frame 20
pair = tracks("pair.mkv")
assert len(pair) == 2 and all(len(v) >= 28 for v in pair.values()), {k: len(v) for k, v in pair.items()}
for k, v in pair.items():
    b = max(v, key=lambda r: float(r["quality"]))
    want = 5 if float(v[0]["box_x"]) < 250 else 20
    print(f"(b) track {k}: x {float(v[0]['box_x']):.0f}, best frame {b['frame']} (want {want})")
    assert int(b["frame"]) == want, (k, b)
    r1 = [r for r in rows(best, "pair.mkv") if r["track"] == str(k) and r["rank"] == "1"]
    assert len(r1) == 1 and r1[0]["frame"] == b["frame"]
# (c) gone for frames 15-34 (20 frames > --max-gap 15): a second track on re-entry
re = tracks("reenter.avi")
span = {k: (int(v[0]["frame"]), int(v[-1]["frame"])) for k, v in re.items()}
print("(c) tracks:", span)
assert span == {1: (0, 14), 2: (35, 49)}, span
# 0.47 s per track: with --min-gap-s 0.3 two faces fit, not three
assert [int(r["rank"]) for r in rows(best, "reenter.avi")] == [1, 2, 1, 2]
for f in ("index.html", "summary.json", "degraded/quality.png", "pair/quality.png",
          "reenter/quality.png", "pair/track2_rank1.png"):
    assert os.path.getsize(f"{out}/{f}") > 0, f
html = open(f"{out}/index.html").read()
assert html.count("<img") == 3 + len(best), html.count("<img")  # the plots and every kept crop
for f in os.listdir(out):
    assert ".tmp." not in f, f
s = json.load(open(f"{out}/summary.json"))
assert [x["frames_read"] for x in s["sources"]] == [40, 30, 50]
assert all(x["error"] == "" and x["frames_expected"] == x["frames_read"] for x in s["sources"])
print("(a)-(c) OK")
PY

# (c') a longer --max-gap bridges the absence: one track
run BEST --max-gap 30 --no-plot -o "$WORK/out_gap" "$IN/reenter.avi"
[ $rc -eq 0 ] || { cat "$WORK/err.txt"; fail "--max-gap 30: exit $rc"; }
[ "$(tail -n +2 "$WORK/out_gap/best.csv" | wc -l)" -eq 1 ] || fail "--max-gap 30: not one track"

# (d) truncated files: a complete one still opens (index first), read up to the cut; one
#     with its index at the end cannot be opened; both named, the good input kept, exit 2
ffmpeg -hide_banner -loglevel error -y -i "$IN/degraded.mp4" -c copy -movflags +faststart "$WORK/fs.mp4"
size=$(stat -c %s "$WORK/fs.mp4")
head -c $((size * 6 / 10)) "$WORK/fs.mp4" > "$IN/cut_faststart.mp4"
size=$(stat -c %s "$IN/degraded.mp4")
head -c $((size / 2)) "$IN/degraded.mp4" > "$IN/cut_plain.mp4"
size=$(stat -c %s "$IN/reenter.avi")
head -c $((size / 2)) "$IN/reenter.avi" > "$IN/cut.avi"
run BEST --no-plot -o "$WORK/out_cut" "$IN/cut_faststart.mp4" "$IN/cut_plain.mp4" "$IN/cut.avi" \
  "$IN/pair.mkv"
cat "$WORK/err.txt"
[ $rc -eq 2 ] || fail "truncated inputs: exit $rc, expected 2"
grep -q "error: .*cut_faststart.mp4: truncated" "$WORK/err.txt" || fail "cut_faststart.mp4 not named"
grep -q "error: .*cut_plain.mp4: cannot open" "$WORK/err.txt" || fail "cut_plain.mp4 not named"
grep -q "error: .*cut.avi: truncated" "$WORK/err.txt" || fail "cut.avi not named"
grep -q "3 failed" "$WORK/err.txt" || fail "failures not counted"
"$PY" - "$WORK/out_cut" <<'PY'
import csv, json, sys
out = sys.argv[1]
best = list(csv.DictReader(open(f"{out}/best.csv")))
src = {r["source"].rsplit("/", 1)[1] for r in best}
assert src == {"cut_faststart.mp4", "cut.avi", "pair.mkv"}, src  # frames before the cut kept
s = {x["source"].rsplit("/", 1)[1]: x for x in json.load(open(f"{out}/summary.json"))["sources"]}
assert 0 < s["cut_faststart.mp4"]["frames_read"] < 40 and s["cut.avi"]["frames_read"] < 50
assert s["cut_plain.mp4"]["frames_read"] == 0 and "cannot open" in s["cut_plain.mp4"]["error"]
assert s["pair.mkv"]["error"] == ""
print("(d) frames kept before the cut:", s["cut_faststart.mp4"]["frames_read"], s["cut.avi"]["frames_read"])
PY

# (e) no face: reported, not a failure
run BEST -o "$WORK/out_none" "$IN/noface.webm"
cat "$WORK/err.txt"
[ $rc -eq 0 ] || fail "no-face video: exit $rc, expected 0"
grep -q "noface.webm: no face found in 30 frames" "$WORK/err.txt" || fail "no face not reported"
[ "$(wc -l < "$WORK/out_none/best.csv")" -eq 1 ] || fail "no-face video: rows in best.csv"
grep -q "no face found" "$WORK/out_none/index.html" || fail "index.html does not say so"

# bursts: a folder of frames and an @list give the video's faces at index / --fps;
# --stride 2 processes the even frames only; --batch 1 gives the same scores
mkdir -p "$WORK/burst"
ffmpeg -hide_banner -loglevel error -i "$IN/degraded.mp4" "$WORK/burst/f%03d.png"
ls "$WORK"/burst/*.png > "$WORK/burst.txt"
run BEST --no-plot --fps 10 -o "$WORK/out_burst" "$WORK/burst" "@$WORK/burst.txt"
[ $rc -eq 0 ] || { cat "$WORK/err.txt"; fail "bursts: exit $rc"; }
run BEST --no-plot --stride 2 -o "$WORK/out_stride" "$IN/degraded.mp4"
[ $rc -eq 0 ] || { cat "$WORK/err.txt"; fail "--stride 2: exit $rc"; }
run BEST --no-plot --batch 1 --save-frames -o "$WORK/out_b1" "$IN/degraded.mp4"
[ $rc -eq 0 ] || { cat "$WORK/err.txt"; fail "--batch 1: exit $rc"; }
# rotation metadata: frames stored turned a quarter left, tagged "rotate 90" (show turned
# clockwise), as phones write them: they come upright, the faces where pair.mkv has them
ffmpeg -hide_banner -loglevel error -y -i "$IN/pair.mkv" -vf transpose=2 -c:v libx264 -crf 18 \
  "$WORK/sideways.mp4"
ffmpeg -hide_banner -loglevel error -y -i "$WORK/sideways.mp4" -c copy -metadata:s:v:0 rotate=90 \
  "$WORK/rotated.mp4"
run BEST --no-plot -o "$WORK/out_rot" "$WORK/rotated.mp4"
[ $rc -eq 0 ] || { cat "$WORK/err.txt"; fail "rotated: exit $rc"; }
"$PY" - "$WORK" <<'PY'
import csv, sys
import cv2
w = sys.argv[1]
def tl(d): return list(csv.DictReader(open(f"{w}/{d}/tracks.csv")))
video = tl("out")
video = {r["frame"]: r for r in video if r["source"].endswith("degraded.mp4")}
burst = tl("out_burst")
assert {r["source"] for r in burst} == {f"{w}/burst", f"@{w}/burst.txt"}
for r in burst:  # PNG frames of the decoded video: the same faces and scores
    v = video[r["frame"]]
    assert abs(float(r["time_s"]) - int(r["frame"]) / 10) < 1e-4, r
    assert abs(float(r["quality"]) - float(v["quality"])) < 1e-6, (r, v)
assert len(burst) == 2 * len(video)
stride = tl("out_stride")
assert stride and all(int(r["frame"]) % 2 == 0 for r in stride)
assert len(stride) >= len(video) // 2 - 1
for r in stride:
    assert r["quality"] == video[r["frame"]]["quality"], r
b1 = tl("out_b1")
assert [(r["frame"], r["quality"]) for r in b1] == [(r["frame"], r["quality"]) for r in video.values()]
frame = cv2.imread(f"{w}/out_b1/degraded/track1_rank1_frame.png")
assert frame is not None and frame.shape == (320, 320, 3), None if frame is None else frame.shape
rot = tl("out_rot")
pair = {(r["frame"], r["track"]): r for r in tl("out") if r["source"].endswith("pair.mkv")}
assert len(rot) == len(pair) and len({r["track"] for r in rot}) == 2, len(rot)
d = max(abs(float(r[k]) - float(pair[(r["frame"], r["track"])][k])) for r in rot
        for k in ("box_x", "box_y", "box_w", "box_h"))
# re-encoded, so not the same pixels; shown sideways the boxes would be 100s of px off
print(f"rotated: the boxes of pair.mkv within {d:.1f} px")
assert d < 16, d
print("bursts, stride, batch, save-frames, rotation OK")
PY

# fatal errors: exit 1
run BEST -o "$WORK/out_bad" --top 0 "$IN/degraded.mp4"
[ $rc -eq 1 ] || fail "--top 0: exit $rc, expected 1"
run BEST -o "$WORK/out_bad2" --stream rtsp://x --save-frames
[ $rc -eq 1 ] && grep -q "stream" "$WORK/err.txt" || fail "--save-frames with --stream: exit $rc"
echo "cli_best: OK"
