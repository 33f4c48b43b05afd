"""vitnt.best_frames against `vitnt best`: the same rows (tracks, ranks, frames, quality,
boxes) and the same crops for a video and for a burst given as a list of frames; errors
as exceptions (or warnings) naming the source.

Usage: test_best.py VITNT SOURCE_DIR WORK_DIR   (with `vitnt` importable)
Exit 77 (skipped) when the shared folder (LFW photos, YuNet) is missing.
"""

import csv
import os
import shutil
import subprocess
import sys
import warnings

import cv2
import numpy as np

import vitnt

from test_setup import setup  # noqa: E402

VITNT, SRC, WORK, LFW, MODEL = setup(sys.argv)
SHARED = os.path.dirname(os.path.dirname(os.path.dirname(LFW)))
DET = os.path.join(SHARED, "models", "yunet_s_640_640.onnx")
RAW = os.path.join(SHARED, "data", "raw", "lfw")
for p in (DET, RAW):
    if not os.path.exists(p):
        print(f"SKIP: {p} missing (set VITNT_SHARED to the shared folder)")
        sys.exit(77)


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)


def cli_best(inputs, out, *args):
    subprocess.run([VITNT, "best", "--detector-model", DET, "--threads", "2", "--no-plot",
                    "-o", out, *args, *inputs], check=True, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "best.csv")) as f:
        best = list(csv.DictReader(f))
    with open(os.path.join(out, "tracks.csv")) as f:
        tracks = list(csv.DictReader(f))
    return best, tracks


def same_rows(py_rows, cli_rows, what):
    check(len(py_rows) == len(cli_rows), f"{what}: {len(py_rows)} rows vs {len(cli_rows)}")
    for p, c in zip(py_rows, cli_rows):
        for k in ("track", "rank", "frame"):
            check(p[k] == int(c[k]), f"{what}: {k} {p[k]} vs {c[k]}")
        # The CLI prints quality with 9 significant digits: exact for a float32.
        check(np.float32(p["quality"]) == np.float32(float(c["quality"])),
              f"{what}: quality {p['quality']} vs {c['quality']}")
        check((p["scalar"] is None) == (c["scalar"] == "") and
              (p["scalar"] is None or p["scalar"] == int(c["scalar"])), f"{what}: scalar")
        for k in ("box_x", "box_y", "box_w", "box_h"):
            check(abs(p[k] - float(c[k])) <= 0.006, f"{what}: {k} {p[k]} vs {c[k]}")
        check(abs(p["time_s"] - float(c["time_s"])) <= 6e-5, f"{what}: time_s")


model = vitnt.Model(MODEL, threads=2)
det = vitnt.FaceDetector(DET)
check(det.path.endswith("yunet_s_640_640.onnx"), "FaceDetector.path")

# 1. a video with two people: the same kept faces and crops as `vitnt best`
clip = os.path.join(WORK, "pair.mkv")
subprocess.run([sys.executable, os.path.join(SRC, "tools", "video", "make_clips.py"), "pair",
                clip, RAW, "--frames", "30"], check=True)
best, tracks = cli_best([clip], os.path.join(WORK, "out"), "--top", "2")
rows = vitnt.best_frames(clip, model, det, top=2)
same_rows(rows, best, "video")
check(len({r["track"] for r in rows}) == 2, "two people: not two tracks")
stem = os.path.join(WORK, "out", "pair")
for r in rows:
    png = cv2.imread(os.path.join(stem, f"track{r['track']}_rank{r['rank']}.png"))
    check(r["crop"].shape == (112, 112, 3) and r["crop"].dtype == np.uint8, "crop shape")
    check(np.array_equal(r["crop"], png[:, :, ::-1]), "crop differs from the CLI's PNG (RGB)")
bgr = vitnt.best_frames(clip, model, DET, top=2, channel_order="BGR")  # detector as a path
check(np.array_equal(bgr[0]["crop"], rows[0]["crop"][:, :, ::-1]), "channel_order='BGR'")
# a kept crop re-scored by Model.score gives its quality
q = model.score(np.stack([r["crop"] for r in rows])).quality
check(np.abs(q - np.array([r["quality"] for r in rows], np.float32)).max() < 1e-5,
      "re-scored crops differ")
timeline = vitnt.best_frames(clip, model, det, top=2, timeline=True)
same_rows(timeline, tracks, "timeline")
check(sum(r["rank"] > 0 for r in timeline) == len(rows) and
      all((r["crop"] is None) == (r["rank"] == 0) for r in timeline), "timeline ranks/crops")

# 2. a burst as a list of frame files = `vitnt best` on the folder of the same frames
burst = os.path.join(WORK, "burst")
os.makedirs(burst)
cap = cv2.VideoCapture(clip)
for i in range(12):
    ok, frame = cap.read()
    check(ok, "cannot read the clip back")
    cv2.imwrite(os.path.join(burst, f"{i:03d}.png"), frame)
frames = sorted(os.path.join(burst, f) for f in os.listdir(burst))
bbest, _ = cli_best([burst], os.path.join(WORK, "out_burst"), "--top", "1", "--fps", "10")
brows = vitnt.best_frames(frames, model, det, fps=10)
same_rows(brows, bbest, "burst")
check(all(r["source"] == "burst" for r in brows), "burst source name")

# 3. errors: named sources, bad options
def raises(exc, pattern, fn):
    try:
        fn()
    except exc as e:
        check(pattern in str(e), f"message {e!r} lacks {pattern!r}")
        return
    check(False, f"no {exc.__name__} ({pattern})")


raises(vitnt.Error, "missing.mp4", lambda: vitnt.best_frames(os.path.join(WORK, "missing.mp4"),
                                                            model, det))
size = os.path.getsize(clip)
cut = os.path.join(WORK, "cut.mkv")
with open(clip, "rb") as f, open(cut, "wb") as g:
    g.write(f.read(size // 2))
raises(vitnt.Error, "cut.mkv", lambda: vitnt.best_frames(cut, model, det))
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    partial = vitnt.best_frames(cut, model, det, errors="warn")
check(len(w) == 1 and issubclass(w[0].category, RuntimeWarning) and "cut.mkv" in str(w[0].message),
      f"errors='warn': {[str(x.message) for x in w]}")
check(0 < len(partial) and all(r["frame"] < 30 for r in partial), "cut clip: no faces kept")
raises(ValueError, "errors must be", lambda: vitnt.best_frames(clip, model, det, errors="x"))
raises(vitnt.Error, "nope", lambda: vitnt.best_frames(clip, model, det, faces="nope"))
raises(TypeError, "path", lambda: vitnt.best_frames(3, model, det))
saved = os.environ.pop("VITNT_DETECTOR", None)
raises(ValueError, "VITNT_DETECTOR", lambda: vitnt.best_frames(clip, model))
os.environ["VITNT_DETECTOR"] = DET
check(len(vitnt.best_frames(clip, model, top=2)) == len(rows), "VITNT_DETECTOR not used")
if saved is None:
    del os.environ["VITNT_DETECTOR"]
else:
    os.environ["VITNT_DETECTOR"] = saved
raises(vitnt.Error, "nodet.onnx", lambda: vitnt.FaceDetector(os.path.join(WORK, "nodet.onnx")))
shutil.rmtree(WORK, ignore_errors=True)
print("python_best: OK")
