#!/usr/bin/env python3
"""Synthetic clips for `vitnt best` tests and benchmarks, made from raw LFW photos
(250x250, one face each). Debian's /usr/bin/python3 (numpy, OpenCV) and ffmpeg.

  make_clips.py KIND OUT LFW_DIR [--faces N] [--frames N] [--codec x264|mjpg|vp9]

KIND:
  degraded  one person, 40 frames, all degraded (Gaussian blur, noise, low light,
            occlusion, motion blur at known severities) except frames 7, 22 and 33;
            OUT.json lists each frame's degradation
  pair      two people side by side with small per-frame shifts, 30 frames; the left one
            is clean only at frame 5, the right one only at frame 20 (blurred elsewhere)
  reenter   one person for frames 0-14, nobody for 15-34, the person again for 35-49
  noface    30 frames of a cat photo, no face
  bench     1280x720, --faces N people spread over the frame, drifting, --frames frames
Photos are picked by sorted name from LFW_DIR (the same ones every run).
"""
import argparse
import json
import subprocess

import cv2
import numpy as np


def photos(lfw, n):
    import glob

    paths = sorted(glob.glob(f"{lfw}/**/*.jpg", recursive=True))
    # spread over the list, so the people differ
    return [cv2.imread(paths[(i * 37) % len(paths)]) for i in range(n)]


def write(out, frames, fps, codec):
    h, w = frames[0].shape[:2]
    if codec == "mjpg":  # OpenCV's own AVI muxer, MJPG
        vw = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        assert vw.isOpened(), out
        for f in frames:
            vw.write(f)
        vw.release()
        return
    enc = {"x264": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"],
           "vp9": ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "30", "-deadline", "realtime"]}[codec]
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
           "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"] + enc + [out]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for f in frames:
        p.stdin.write(np.ascontiguousarray(f).tobytes())
    p.stdin.close()
    assert p.wait() == 0, cmd


def shift(img, dx, dy):
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def degrade(img, kind, level, rng):
    """level 1..3. The mildest levels are chosen where the bundled model already tells them
    from a clean frame: milder ones (blur sigma 2.5, 9 px motion, noise sigma 25) score
    within the spread that a 1 px shift and H.264 give clean frames (docs/best_shot.md)."""
    if kind == "gaussian_blur":
        return cv2.GaussianBlur(img, (0, 0), [4.0, 6.0, 8.0][level - 1])
    if kind == "noise":
        n = rng.normal(0, [40, 55, 70][level - 1], img.shape)
        return np.clip(img + n, 0, 255).astype(np.uint8)
    if kind == "low_light":  # darker and noisier, as a sensor at high gain
        dark = img.astype(np.float32) * [0.15, 0.10, 0.06][level - 1]
        return np.clip(dark + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)
    if kind == "occlusion":  # a grey band over the eyes and nose (of a centred face)
        out = img.copy()
        h, w = img.shape[:2]
        top = int(h * 0.36)
        out[top:top + int(h * [0.15, 0.22, 0.3][level - 1]), int(w * 0.2):int(w * 0.8)] = 110
        return out
    if kind == "motion_blur":
        k = [23, 31, 41][level - 1]
        ker = np.zeros((k, k), np.float32)
        ker[k // 2, :] = 1.0 / k
        return cv2.filter2D(img, -1, ker)
    raise ValueError(kind)


KINDS = ["gaussian_blur", "noise", "low_light", "occlusion", "motion_blur"]


def degraded(out, lfw, codec):
    base = cv2.copyMakeBorder(photos(lfw, 1)[0], 35, 35, 35, 35, cv2.BORDER_REPLICATE)
    rng = np.random.default_rng(1)
    frames, info = [], []
    clean = {7, 22, 33}
    for i in range(40):
        f = shift(base, (i % 5) - 2, (i % 3) - 1)
        if i in clean:
            info.append({"frame": i, "degradation": "none", "level": 0})
        else:
            kind, level = KINDS[i % 5], 1 + (i // 5) % 3
            f = degrade(f, kind, level, rng)
            info.append({"frame": i, "degradation": kind, "level": level})
        frames.append(f)
    write(out, frames, 30, codec)
    json.dump(info, open(out + ".json", "w"), indent=1)


def pair(out, lfw, codec):
    a, b = photos(lfw, 2)
    frames = []
    for i in range(30):
        left = a if i == 5 else cv2.GaussianBlur(a, (0, 0), 4.0 + 1.5 * (i % 3))
        right = b if i == 20 else cv2.GaussianBlur(b, (0, 0), 4.0 + 1.5 * ((i + 1) % 3))
        frames.append(shift(np.hstack([left, right]), (i % 7) - 3, (i % 5) - 2))
    write(out, frames, 30, codec)


def reenter(out, lfw, codec):
    a = photos(lfw, 1)[0]
    empty = np.full_like(a, 128)
    frames = [shift(a, i % 3, 0) if (i < 15 or i >= 35) else empty for i in range(50)]
    write(out, frames, 30, codec)


def noface(out, lfw, codec):
    import os

    cat = cv2.imread(os.path.join(lfw, "..", "other", "chelsea.png"))
    frames = [shift(cat, i % 4, 0) for i in range(30)]
    write(out, frames, 30, codec)


def bench(out, lfw, codec, faces, nframes):
    people = photos(lfw, faces)
    W, H = 1280, 720
    bg = np.full((H, W, 3), 90, np.uint8)
    cv2.rectangle(bg, (0, 500), (W, H), (60, 70, 80), -1)
    frames = []
    for i in range(nframes):
        f = bg.copy()
        for k, p in enumerate(people):
            cx = int((k + 0.5) * W / faces - 125 + 30 * np.sin(i / 20 + k))
            cy = int(H / 2 - 125 + 15 * np.cos(i / 15 + k))
            f[cy:cy + 250, cx:cx + 250] = p
        frames.append(f)
    write(out, frames, 30, codec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["degraded", "pair", "reenter", "noface", "bench"])
    ap.add_argument("out")
    ap.add_argument("lfw")
    ap.add_argument("--faces", type=int, default=1)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--codec", default="x264", choices=["x264", "mjpg", "vp9"])
    a = ap.parse_args()
    if a.kind == "bench":
        bench(a.out, a.lfw, a.codec, a.faces, a.frames)
    else:
        globals()[a.kind](a.out, a.lfw, a.codec)


if __name__ == "__main__":
    main()
