#!/usr/bin/env python3
"""Distil a face ViT (the insightface/CVLface family) from a CNN teacher, on CPU.

  distill.py prepare --out runs/pool --shards 4     # augmented pool + teacher targets
                     [--first 12]                 # (shards 12.. : new variants, new seeds)
  distill.py train   --pool runs/pool --ckpt runs/distill   # resumable, runs until stopped
  distill.py export  --ckpt runs/distill --out models/vitnt-s16.safetensors

Throughput design: augmentation and the teacher run once per pooled variant in
`prepare` (OpenCV); `train` keeps the uint8 pool in memory and its hot loop is batched
torch only. Checkpoints (model, EMA, optimiser, counters) are written atomically, so
`train` can be killed at any time and resumed by running the same command again.

Run with Debian's /usr/bin/python3. Never point it at LFW: LFW is the evaluation set.
"""
import argparse
import glob
import json
import math
import os
import signal
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import torch_env  # noqa: E402  (before torch: OMP_WAIT_POLICY=PASSIVE)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import facevit  # noqa: E402
import st_io  # noqa: E402

SHARED = os.environ.get("VITNT_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
STUDENT = dict(img_size=112, patch_size=16, embed_dim=192, depth=12, num_heads=6,
               mlp_ratio=3.0, num_features=512)  # v1, the bundled vitnt-s16


def student_config(a):
    """The student of a new run: v1's, with --patch-size / --embed-dim / --depth / --heads."""
    c = dict(STUDENT)
    for key, arg in (("patch_size", "patch_size"), ("embed_dim", "embed_dim"),
                     ("depth", "depth"), ("num_heads", "heads")):
        if getattr(a, arg, None):
            c[key] = getattr(a, arg)
    return c


def adapt_state(src, student):
    """Warm start across patch sizes (same width and depth): a finer grid of patch p'
    = p / f sees each p x p patch as f x f sub-patches. The patch-embedding kernel is
    the p kernel summed over f x f blocks (the p-model on the image upsampled f times:
    on a smooth region a sub-token equals its parent token), position embeddings are
    interpolated, and
    the head's per-token weights are split evenly over the f^2 sub-tokens, so an image
    whose sub-tokens equal their parent token gives the same embedding."""
    src = {k: v.float() for k, v in src.items()}
    kw = src["patch_embed.proj.weight"]
    d, p = kw.shape[0], kw.shape[-1]
    q = student["patch_size"]
    if d != student["embed_dim"]:
        if p != q:
            raise SystemExit("--init-from: change the width or the patch size, not both")
        return widen_state(src, student)
    if p == q:
        return src
    if p % q:
        raise SystemExit(f"--init-from: patch {p} is not a multiple of the student's {q}")
    f = p // q
    g0, g1 = 112 // p, 112 // q
    out = dict(src)
    out["patch_embed.proj.weight"] = kw.reshape(d, 3, q, f, q, f).sum((3, 5))
    pe = src["pos_embed"].reshape(1, g0, g0, d).permute(0, 3, 1, 2)
    out["pos_embed"] = F.interpolate(pe, size=(g1, g1), mode="bicubic",
                                     align_corners=False).permute(0, 2, 3, 1).reshape(1, -1, d)
    hw = src["feature.0.weight"].reshape(-1, g0, g0, d)
    hw = hw.repeat_interleave(f, 1).repeat_interleave(f, 2) / (f * f)
    out["feature.0.weight"] = hw.reshape(hw.shape[0], -1)
    return out


def widen_state(src, student, noise=0.01, seed=0):
    """Warm start at k times the width (same patch, depth and head size): every channel
    of the residual stream, of the MLP and of the head is duplicated k times and every
    weight reading duplicated channels is divided by k. Duplicating all channels keeps
    each LayerNorm's mean and variance, each head is copied whole (so k times the
    heads), and the final tokens are k copies of v1's: the embedding and the ViTNT score
    are v1's exactly. Noise of `noise` x each tensor's std then breaks the symmetry that
    would otherwise keep the copies equal under every gradient step."""
    d = src["patch_embed.proj.weight"].shape[0]
    k, r = divmod(student["embed_dim"], d)
    if r or k < 2 or student["num_heads"] % k:
        raise SystemExit(f"--init-from: width {d} -> {student['embed_dim']} with "
                         f"{student['num_heads']} heads is not a whole-copy widening")
    n_tok = (112 // student["patch_size"]) ** 2

    def dup_out(w):  # output channels duplicated
        return torch.cat([w] * k, 0)

    def dup_in(w):  # input channels duplicated: the k copies share each weight
        return torch.cat([w / k] * k, 1)

    out = {}
    for name, w in src.items():
        if name == "patch_embed.proj.weight" or w.dim() == 1 and not name.startswith(
                "feature.3"):
            w = dup_out(w)  # biases, LayerNorm and the first BatchNorm: per channel
        elif name == "pos_embed":
            w = torch.cat([w] * k, 2)
        elif name.endswith("attn.qkv.weight"):  # [3 * d, d]: q, k and v each duplicated
            w = torch.cat([dup_in(dup_out(x)) for x in w.chunk(3, 0)], 0)
        elif name == "feature.0.weight":  # [d, n_tok * d], input token-major
            w = dup_out(w).reshape(k * d, n_tok, d)
            w = torch.cat([w / k] * k, 2).reshape(k * d, -1)
        elif name == "feature.2.weight":  # [512, d]
            w = dup_in(w)
        elif w.dim() == 2:  # attn.proj, mlp.fc1, mlp.fc2
            w = dup_in(dup_out(w))
        out[name] = w
    g = torch.Generator().manual_seed(seed)
    for name, w in out.items():
        if w.is_floating_point() and w.numel() > 1 and "running" not in name:
            w.add_(torch.randn(w.shape, generator=g) * (noise * float(w.std())))
    return out


# ----------------------------------------------------------------------------- augment
def band_mask(bgr):
    """FairFace's black bands: near-black pixels (all channels < 10), slightly grown."""
    m = (bgr.max(axis=2) < 10).astype(np.uint8)
    return cv2.dilate(m, np.ones((3, 3), np.uint8)) > 0


def fill_bands(bgr, donor, rng):
    """Replace the bands so the student cannot learn 'black border = FairFace'."""
    m = band_mask(bgr)
    if not m.any() or rng.random() < 0.1:
        return bgr
    kind = rng.integers(3)
    if kind == 0:  # flat colour + noise
        fill = np.clip(rng.integers(0, 256, 3)[None, None, :] +
                       rng.normal(0, 12, bgr.shape), 0, 255).astype(np.uint8)
    elif kind == 1:  # another photo, heavily blurred: a plausible background
        fill = cv2.GaussianBlur(donor, (0, 0), rng.uniform(3, 10))
    else:  # smear the image's own border outward
        fill = cv2.blur(cv2.inpaint(bgr, m.astype(np.uint8), 3, cv2.INPAINT_TELEA), (5, 5))
    out = bgr.copy()
    out[m] = fill[m]
    return out


# The evaluation recipe's kinds (LFW-degraded, severity sweeps, the settings set): fixed.
DEGRADATIONS = ["blur", "downscale", "jpeg", "noise", "lowlight", "occlusion"]
# Kinds a pool may also use (`prepare --degradations`); not in any evaluation set.
TRAIN_ONLY_DEGRADATIONS = ["misalign", "yaw"]


def degrade(bgr, rng, kind=None, severity=None, kinds=DEGRADATIONS):
    """One quality degradation (`kind`, or one drawn from `kinds`); severity in [0, 1].
    Also used for validation sets."""
    kind = kinds[rng.integers(len(kinds))] if kind is None else kind
    s = rng.uniform(0.1, 1.0) if severity is None else severity
    if kind == "blur":
        return cv2.GaussianBlur(bgr, (0, 0), 0.5 + 3.5 * s)
    if kind == "downscale":
        f = 1.5 + 6.5 * s
        small = cv2.resize(bgr, (max(4, int(112 / f)),) * 2, interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (112, 112), interpolation=cv2.INTER_LINEAR)
    if kind == "jpeg":
        q = int(round(45 - 40 * s))
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, q])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if kind == "noise":
        return np.clip(bgr + rng.normal(0, 4 + 36 * s, bgr.shape), 0, 255).astype(np.uint8)
    if kind == "lowlight":
        g = 1.0 - 0.8 * s
        dark = 255.0 * (bgr / 255.0) ** (1 + s) * g
        return np.clip(dark + rng.normal(0, 2 + 6 * s, bgr.shape), 0, 255).astype(np.uint8)
    if kind == "occlusion":
        out = bgr.copy()
        area = (0.08 + 0.3 * s) * 112 * 112
        w = int(np.clip(math.sqrt(area) * rng.uniform(0.6, 1.6), 8, 110))
        h = int(np.clip(area / w, 8, 110))
        x, y = rng.integers(0, 112 - w + 1), rng.integers(0, 112 - h + 1)
        out[y:y + h, x:x + w] = rng.integers(0, 256, 3)
        return out
    if kind == "misalign":
        # an alignment that went wrong: landmarks off by a rotation, a zoom, a shear and a
        # horizontal squeeze (what a turned head's 5 points do to the similarity fit)
        ang = 25.0 * s * rng.uniform(-1, 1)
        zoom = 1.0 + 0.45 * s * rng.uniform(0, 1)
        shear, squeeze = 0.4 * s * rng.uniform(-1, 1), 1.0 + 0.25 * s * rng.uniform(-1, 1)
        A = cv2.getRotationMatrix2D((0, 0), ang, zoom)[:, :2] @ np.array([[squeeze, shear],
                                                                          [0.0, 1.0]])
        c = np.array([56.0, 56.0])
        M = np.hstack([A, (c + 10.0 * s * rng.uniform(-1, 1, 2) - A @ c)[:, None]])
        return cv2.warpAffine(bgr, M, (112, 112), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT101)
    if kind == "yaw":
        # a turned head, as far as a 2-D warp can show it: the face as a vertical cylinder
        # of radius r rotated by theta, seen from the front (the far side compressed, the
        # near side widened, the side beyond the occluding edge stretched); the
        # background outside the cylinder moves with the cylinder's edge
        theta = math.radians(15.0 + 45.0 * s) * (1 if rng.random() < 0.5 else -1)
        r = 56.0 * rng.uniform(0.8, 1.05)
        cx = 56.0 + rng.uniform(-3, 3)
        xo = np.arange(112, dtype=np.float64) - cx
        inside = np.abs(xo) < r
        def seen_from(x):  # where on the unturned face the point seen at x comes from
            phi = np.arcsin(np.clip(x / r, -1, 1)) - theta
            return r * np.sin(np.clip(phi, -math.pi / 2, math.pi / 2))
        src = np.where(inside, seen_from(xo), 0.0)
        src = np.where(xo <= -r, xo + r + seen_from(-r), src)
        src = np.where(xo >= r, xo - r + seen_from(r), src)
        # mild perspective: the near side a little taller than the far side
        yo = np.arange(112, dtype=np.float64)[:, None] - 56.0
        grow = 1.0 + 0.12 * math.sin(theta) * np.clip(xo / r, -1, 1)[None, :]
        map_x = np.broadcast_to(src + cx, (112, 112)).astype(np.float32)
        map_y = (56.0 + yo / grow).astype(np.float32)
        return cv2.remap(bgr, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    raise ValueError(kind)


# ----------------------------------------------------------- train-only mild family
# The ranking term (`train --q-rank`) compares two variants of one image at two MILD
# severities. Its degradations are this code with these ranges, kept apart from
# `degrade` above, whose kinds and ranges the evaluation sets of tools/eval use
# (LFW-degraded, the severity sweeps, the settings set): a gain measured with the
# training family is no evidence. Severity u in [0, 1] maps linearly to the range
# (u = 0: the image itself); in brackets `degrade`'s range for comparison.
MILD_RANGES = {
    "blur": (0.3, 2.8),     # Gaussian sigma, px at the 112 crop          [0.5-4.0]
    "downup": (1.1, 3.2),   # factor, linear down, cubic up               [1.5-8, area/linear]
    "jpeg": (85.0, 28.0),   # JPEG quality                                [45-5]
    "noise": (1.0, 10.0),   # Gaussian sigma, grey levels                 [4-40]
    "dim": (0.95, 0.45),    # gain, gamma 1 + (1 - gain), noise 5 (1 - gain)  [gain 1-0.2]
}
MILD_KINDS = list(MILD_RANGES)


def mild_param(kind, u):
    lo, hi = MILD_RANGES[kind]
    return lo + (hi - lo) * u


def mild_degrade(rgb, kind, u, field):
    """One train-only mild degradation of an RGB uint8 crop at severity u in [0, 1].
    `field`: standard normal noise of rgb's shape, shared by both variants of a pair,
    so the more degraded one has the same noise, only stronger."""
    if u <= 0:
        return rgb
    p = mild_param(kind, u)
    if kind == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), p)
    if kind == "downup":
        n = max(8, int(round(112 / p)))
        small = cv2.resize(rgb, (n, n), interpolation=cv2.INTER_LINEAR)
        return cv2.resize(small, (112, 112), interpolation=cv2.INTER_CUBIC)
    if kind == "jpeg":
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                               [cv2.IMWRITE_JPEG_QUALITY, int(round(p))])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    if kind == "noise":
        return np.clip(rgb + p * field, 0, 255).astype(np.uint8)
    if kind == "dim":
        dark = 255.0 * p * (rgb / 255.0) ** (2.0 - p)
        return np.clip(dark + 5.0 * (1.0 - p) * field, 0, 255).astype(np.uint8)
    raise ValueError(kind)


def mild_pairs(rgb, rng, min_gap=0.15, p_clean=0.3):
    """For each RGB crop: (less, more) degraded variants by one train-only mild kind, at
    severities u_less < u_more (u_more - u_less >= min_gap; u_less = 0, the crop itself,
    in p_clean of the pairs). Returns two uint8 arrays of rgb's shape."""
    less, more = np.empty_like(rgb), np.empty_like(rgb)
    for i, im in enumerate(rgb):
        kind = MILD_KINDS[rng.integers(len(MILD_KINDS))]
        ua = 0.0 if rng.random() < p_clean else rng.uniform(0.0, 1.0 - min_gap)
        ub = rng.uniform(ua + min_gap, 1.0)
        field = rng.standard_normal(im.shape).astype(np.float32)
        less[i] = mild_degrade(im, kind, ua, field)
        more[i] = mild_degrade(im, kind, ub, field)
    return less, more


def warp_and_flip(img, rng, max_deg, max_scale):
    """A small random rotation (+-max_deg), scale (1 +- max_scale) and shift (+-3 px),
    then a mirror in half of the cases."""
    ang, sc = rng.uniform(-max_deg, max_deg), rng.uniform(1 - max_scale, 1 + max_scale)
    M = cv2.getRotationMatrix2D((56, 56), ang, sc)
    M[:, 2] += rng.uniform(-3, 3, 2)
    img = cv2.warpAffine(img, M, (112, 112), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT101)
    return img[:, ::-1].copy() if rng.random() < 0.5 else img


def augment(bgr, donor, rng, kinds=DEGRADATIONS):
    img = warp_and_flip(fill_bands(bgr, donor, rng), rng, 7, 0.07)
    f = img.astype(np.float32)
    f = (f - f.mean()) * rng.uniform(0.75, 1.25) + f.mean() * rng.uniform(0.75, 1.2)
    gray = f.mean(axis=2, keepdims=True)
    f = gray + (f - gray) * (0.0 if rng.random() < 0.08 else rng.uniform(0.6, 1.4))
    img = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        img = degrade(img, rng, kinds=kinds)
        if rng.random() < 0.2:
            img = degrade(img, rng, kinds=kinds)
    return img


# ----------------------------------------------------------------------------- teacher
class Teacher:
    """fr_feature.onnx through OpenCV DNN: BGR, (x - 127.5) / 128 (models/README.md)."""

    def __init__(self):
        path = os.path.join(SHARED, "models", "fr_feature.onnx")
        if not os.path.exists(path):
            sys.exit(f"teacher model missing: {path} (set VITNT_SHARED)")
        self.net = cv2.dnn.readNetFromONNX(path)

    def __call__(self, bgr_batch):
        out = []
        for i in range(0, len(bgr_batch), 64):
            blob = cv2.dnn.blobFromImages(list(bgr_batch[i:i + 64]), 1 / 128.0, (112, 112),
                                          (127.5, 127.5, 127.5), swapRB=False)
            self.net.setInput(blob)
            out.append(self.net.forward().reshape(len(blob), -1))
        e = np.concatenate(out).astype(np.float32)
        return e / np.linalg.norm(e, axis=1, keepdims=True)


def list_images(split):
    d = os.path.join(SHARED, "data", "fairface112", split)
    files = sorted(glob.glob(os.path.join(d, "*.jpg")),
                   key=lambda p: int(os.path.splitext(os.path.basename(p))[0]))
    if not files:
        sys.exit(f"no FairFace images in {d} (set VITNT_SHARED)")
    return files


def save_npz_atomic(path, **arrays):
    # hidden temporary name: a `prepare` killed mid-write must not leave a file that the
    # pool loader's shard*.npz pattern would pick up
    tmp = os.path.join(os.path.dirname(path), ".tmp-" + os.path.basename(path))
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def cmd_prepare(a):
    if a.first < 0 or a.shards < 1:
        sys.exit(f"prepare: --first must be >= 0 and --shards >= 1 (got {a.first}, {a.shards})")
    kinds = a.degradations.split(",") if a.degradations else DEGRADATIONS
    unknown = set(kinds) - set(DEGRADATIONS + TRAIN_ONLY_DEGRADATIONS)
    if unknown:
        sys.exit(f"prepare: unknown degradation {', '.join(sorted(unknown))} (known: "
                 f"{', '.join(DEGRADATIONS + TRAIN_ONLY_DEGRADATIONS)})")
    cv2.setNumThreads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    files = list_images("train")
    t0 = time.time()
    imgs = np.stack([cv2.imread(f, cv2.IMREAD_COLOR) for f in files])
    print(f"decoded {len(imgs)} train images in {time.time() - t0:.0f}s", flush=True)
    teacher = Teacher()
    val = os.path.join(a.out, "val.npz")
    if not os.path.exists(val):
        vimgs = np.stack([cv2.imread(f, cv2.IMREAD_COLOR) for f in list_images("val")])
        rng = np.random.default_rng(7)
        deg = np.stack([degrade(im, rng) for im in vimgs])
        save_npz_atomic(val, clean=vimgs[..., ::-1].copy(), degraded=deg[..., ::-1].copy(),
                        teacher_clean=teacher(vimgs), teacher_degraded=teacher(deg))
    # shard k is always seeded by k, so --first lets a pool grow with new variants after
    # old shards were moved out of it (rather than recreating them identically)
    for shard in range(a.first, a.first + a.shards):
        path = os.path.join(a.out, f"shard{shard:03d}.npz")
        if os.path.exists(path):
            continue
        t0 = time.time()
        rng = np.random.default_rng(1000 + shard)
        donors = rng.permutation(len(imgs))
        aug = np.stack([augment(imgs[i], imgs[donors[i]], rng, kinds)
                        for i in range(len(imgs))])
        t1 = time.time()
        emb = teacher(aug)
        # stored RGB: the student's input contract
        save_npz_atomic(path, images=aug[..., ::-1].copy(), teacher=emb.astype(np.float16))
        print(f"shard {shard}: augment {t1 - t0:.0f}s, teacher {time.time() - t1:.0f}s",
              flush=True)
    print("pool ready", flush=True)


# ----------------------------------------------------------------------------- train
def npz_shape(path, key):
    """Shape of one array in an .npz, read from its header alone."""
    with zipfile.ZipFile(path) as z, z.open(key + ".npy") as f:
        major, _ = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if major == 1
                else np.lib.format.read_array_header_2_0)
        return read(f)[0]


def load_pool(pool_dir):
    shards = sorted(glob.glob(os.path.join(pool_dir, "shard*.npz")))
    if not shards:
        sys.exit(f"no pool shards in {pool_dir}: run `distill.py prepare` first")
    # filled in place: concatenating a list would need twice the pool's memory
    # (12 shards are 13.5 GB of images)
    sizes = [(npz_shape(s, "images"), npz_shape(s, "teacher")) for s in shards]
    for s, (im, em) in zip(shards, sizes):
        if im[1:] != sizes[0][0][1:] or em[1:] != sizes[0][1][1:] or im[0] != em[0]:
            sys.exit(f"{s}: images {im} / teacher {em} do not match the pool's "
                     f"{sizes[0][0][1:]} / {sizes[0][1][1:]}: re-run `distill.py prepare`")
    n = sum(sz[0][0] for sz in sizes)
    ims = np.empty((n,) + sizes[0][0][1:], np.uint8)
    embs = np.empty((n,) + sizes[0][1][1:], np.float32)
    at = 0
    for s, ((k, *_), _) in zip(shards, sizes):
        with np.load(s) as d:
            ims[at:at + k] = d["images"]
            embs[at:at + k] = d["teacher"]
        at += k
    return torch.from_numpy(ims), torch.from_numpy(embs), len(shards)


def to_input(u8):  # [B,112,112,3] RGB uint8 -> [-1, 1] NCHW
    return u8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def parse_q_settings(text):
    """'2:6:16:attention-last' -> (first, last, s, aggregation): the ViTNT settings that
    the quality-aware loss trains (v1's chosen ones by default)."""
    try:
        first, last, s, agg = text.split(":")
        out = int(first), int(last), float(s), agg
    except ValueError:
        sys.exit(f"--q-settings {text!r}: expected FIRST:LAST:S:AGGREGATION, e.g. 2:6:16:attention-last")
    if agg not in ("uniform", "attention-last", "attention-all") or not 0 <= out[0] < out[1]:
        sys.exit(f"--q-settings {text!r}: blocks FIRST < LAST, aggregation uniform, "
                 "attention-last or attention-all")
    return out


def walk_blocks(model, x, first=0, last=None):
    """The forward pass of method.md: the last block's hidden state, and for blocks
    first..last the tokens after the final LN + L2 normalisation, z[t] (B, P, C), and the
    attention each token receives, w[t] (B, P): the head-averaged softmax summed over
    queries, normalised. One walk for training (differentiable) and the settings search."""
    last = len(model.blocks) - 1 if last is None else last
    h, z, w = model.tokens(x), [], []
    for i, blk in enumerate(model.blocks):
        h, attn = blk(h)
        if first <= i <= last:
            z.append(F.normalize(model.norm(h).float(), dim=-1))
            a = attn.float().mean(1).sum(1)
            w.append(a / a.sum(-1, keepdim=True))
    return h, z, w


def forward_q(model, x, first, last, s, agg):
    """One differentiable pass: (embedding, ViTNT Q) with the settings of method.md (the
    same as facevit.vitnt_score, which the tests compare it with)."""
    h, z, w = walk_blocks(model, x, first, last)
    d = torch.stack([(z[t + 1] - z[t]).norm(dim=-1) for t in range(len(z) - 1)]).mean(0)
    q = 2.0 / (1.0 + torch.exp(s * d))
    if agg == "uniform":
        Q = q.mean(-1)
    elif agg == "attention-last":
        Q = (w[-1] * q).sum(-1)
    else:
        w_sum = torch.stack(w).sum(0)
        Q = (w_sum / w_sum.sum(-1, keepdim=True) * q).sum(-1)
    hn = model.norm(h)
    return model.feature(hn.reshape(hn.shape[0], -1)), Q


def pearson_loss(a, b):
    """1 - Pearson correlation over the batch: scale-free, so Q keeps its own range."""
    a, b = a - a.mean(), b - b.mean()
    return 1.0 - (a * b).sum() / (a.norm() * b.norm() + 1e-8)


def rank_loss(q_less, q_more, scale, margin=0.1, tau=0.1):
    """Label-free ranking of pairs (train --q-rank): the less degraded variant's Q should
    exceed the more degraded one's by `margin` (in units of `scale`, a detached spread of
    Q such as its std over the pooled batch, so the term is as scale-free as the Pearson
    terms). A softened hinge: ~0 when every pair is ordered by more than the margin,
    ~ margin - d (d the difference in scale units) when a pair is reversed."""
    d = (q_less - q_more) / (scale + 1e-8)
    return (tau * F.softplus((margin - d) / tau)).mean()


def train_references(pool_dir, n_train):
    """Teacher embeddings of the mirrored clean FairFace-train images, `ref.npz` in the
    pool (made once, ~4 min): a pooled variant's utility is its teacher cosine to the
    mirrored clean image it was made from, as in the settings set of `export`."""
    path = os.path.join(pool_dir, "ref.npz")
    if not os.path.exists(path):
        files = list_images("train")
        t0 = time.time()
        imgs = np.stack([cv2.imread(f, cv2.IMREAD_COLOR)[:, ::-1] for f in files])
        save_npz_atomic(path, teacher=Teacher()(imgs).astype(np.float16))
        print(f"teacher references of {len(files)} mirrored train images: "
              f"{time.time() - t0:.0f}s", flush=True)
    ref = torch.from_numpy(np.load(path)["teacher"].astype(np.float32))
    if n_train % len(ref):
        sys.exit(f"{path}: {len(ref)} references, but the pool holds {n_train} variants "
                 "(shard row i is made from train image i): remove it to remake it")
    return ref


def clean_set(pool_dir, ref):
    """The clean FairFace-train images (RGB uint8) and their utility, teacher cosine to
    their own mirror image (`clean_ref.npz` in the pool: teacher of the clean images, made
    once). Among clean faces the utility ranks pose, asymmetry and intrinsic difficulty,
    which a batch of pooled variants, dominated by degradations, hardly ranks."""
    files = list_images("train")
    imgs = np.stack([cv2.imread(f, cv2.IMREAD_COLOR) for f in files])
    if len(imgs) != len(ref):
        sys.exit(f"{os.path.join(pool_dir, 'ref.npz')}: {len(ref)} references for "
                 f"{len(imgs)} train images: remove it to remake it")
    path = os.path.join(pool_dir, "clean_ref.npz")
    if not os.path.exists(path):
        t0 = time.time()
        save_npz_atomic(path, teacher=Teacher()(imgs).astype(np.float16))
        print(f"teacher embeddings of {len(files)} clean train images: "
              f"{time.time() - t0:.0f}s", flush=True)
    own = torch.from_numpy(np.load(path)["teacher"].astype(np.float32))
    return torch.from_numpy(imgs[..., ::-1].copy()), (own * ref).sum(1)


def turned_faces(files, manifest, fraction):
    """Indices into `files` of the `fraction` most turned faces: by |nose-tip offset from the
    eyes' midpoint| / eye distance, from the detected landmarks in the data set's
    manifest.tsv (columns path, x1..x5 as in ../shared/data/README.md)."""
    offset = {}
    with open(manifest) as f:
        head = f.readline().rstrip("\n").split("\t")
        lacking = [k for k in ("path", "x1", "x2", "x3") if k not in head]
        if lacking:
            sys.exit(f"{manifest}: no column {', '.join(lacking)} (the landmarks' columns)")
        col = {k: head.index(k) for k in ("path", "x1", "x2", "x3")}
        for line in f:
            r = line.rstrip("\n").split("\t")
            x1, x2, x3 = (float(r[col[k]]) for k in ("x1", "x2", "x3"))
            offset[r[col["path"]]] = abs(x3 - (x1 + x2) / 2) / max(abs(x2 - x1), 1e-3)
    root = os.path.dirname(manifest)
    keys = [os.path.relpath(p, root) for p in files]
    missing = [k for k in keys if k not in offset]
    if missing:
        sys.exit(f"{manifest}: no landmarks for {len(missing)} images, e.g. {missing[0]}")
    turn = np.array([offset[k] for k in keys])
    n = max(1, int(round(fraction * len(files))))
    return np.argsort(-turn, kind="stable")[:n]


def evaluate(model, val, q_settings):
    """Cosine to the teacher (clean, degraded) and, for the degraded images, the
    Spearman of Q (q_settings) with their utility (teacher cosine to the clean image)."""
    model.eval()
    out = {}
    with torch.no_grad():
        for k in ("clean", "degraded"):
            x = torch.from_numpy(val[k])
            parts = [forward_q(model, to_input(x[i:i + 200]), *q_settings)
                     for i in range(0, len(x), 200)]
            e = F.normalize(torch.cat([p[0] for p in parts]), dim=1)
            out[k] = float((e * torch.from_numpy(val["teacher_" + k])).sum(1).mean())
        util = (val["teacher_degraded"] * val["teacher_clean"]).sum(1)
        out["q_rho"] = spearman(torch.cat([p[1] for p in parts]).numpy(), util)
    model.train()
    return out


def save_ckpt(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def decay_factor(seen, a):
    """Linear decay from the plateau to lr_min_ratio between --decay-start and
    --decay-end (samples seen). A function of `seen` only, so a resumed run (or one
    resumed with a later --decay-end) continues the same schedule."""
    if not a.decay_end or seen <= a.decay_start:
        return 1.0
    t = min(1.0, (seen - a.decay_start) / max(1, a.decay_end - a.decay_start))
    return 1.0 - t * (1.0 - a.lr_min_ratio)


def cmd_train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    os.makedirs(a.ckpt, exist_ok=True)
    ck_path = os.path.join(a.ckpt, "last.pt")
    st = torch.load(ck_path) if os.path.exists(ck_path) else None
    student = st.get("student", STUDENT) if st else student_config(a)
    if st and student != student_config(a) and any(
            getattr(a, k, None) for k in ("patch_size", "embed_dim", "depth", "heads")):
        sys.exit(f"{ck_path} holds a {student} student; drop the architecture options to "
                 "resume it, or use another --ckpt")
    print(f"student: {student}", flush=True)
    model = facevit.FaceViT(**student)
    ema = facevit.FaceViT(**student)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.05)
    step, seen = 0, 0
    if st and "model" not in st:
        sys.exit(f"{ck_path} is a soup (averaged weights, no optimiser state): export it, "
                 "or start a new run from its export with --init-from")
    if st:
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        step, seen = st["step"], st["seen"]
        print(f"resumed at step {step}, {seen} samples seen", flush=True)
    elif a.init_from:  # e.g. the committed default model, when the checkpoint is gone
        model.load_state_dict(adapt_state(st_io.load(a.init_from), student))
        ema.load_state_dict(model.state_dict())
        print(f"initialised from {a.init_from}", flush=True)
    else:
        ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    images, targets, n_shards = load_pool(a.pool)
    val = dict(np.load(os.path.join(a.pool, "val.npz")))
    print(f"pool: {len(images)} variants from {n_shards} shards", flush=True)
    q_settings = parse_q_settings(a.q_settings)
    if q_settings[1] >= student["depth"]:
        sys.exit(f"--q-settings {a.q_settings}: block {q_settings[1]} beyond the student's "
                 f"{student['depth']} blocks")
    if a.q_clean and not a.q_weight:
        sys.exit("--q-clean needs --q-weight (it adds a term to the quality-aware loss)")
    if a.q_rank and not a.q_weight:
        sys.exit("--q-rank needs --q-weight (it adds a term to the quality-aware loss)")
    if a.q_rank < 0 or (a.q_rank and a.q_rank_pairs < 1):
        sys.exit(f"--q-rank {a.q_rank} / --q-rank-pairs {a.q_rank_pairs}: a weight >= 0 "
                 "and at least one pair a step")
    if a.q_clean_turned and not (a.q_weight and a.q_clean):
        sys.exit("--q-clean-turned needs --q-weight and --q-clean")
    if not 0 <= a.q_clean_turned <= 1:
        sys.exit(f"--q-clean-turned {a.q_clean_turned}: a fraction of the clean images, 0..1")
    ref = train_references(a.pool, len(images)) if a.q_weight else None
    clean, clean_util = (clean_set(a.pool, ref) if a.q_weight and (a.q_clean or a.q_rank)
                         else (None, None))
    n_rank = a.q_rank_pairs if a.q_rank else 0
    n_turned = int(round(a.q_clean_turned * a.q_clean))
    turned = torch.from_numpy(turned_faces(
        list_images("train"), os.path.join(SHARED, "data", "fairface112", "manifest.tsv"),
        0.1)) if n_turned else None
    log_path = os.path.join(a.ckpt, "log.tsv")
    logged = []
    if os.path.exists(log_path):
        with open(log_path) as f:
            logged = [int(r.split("\t")[0]) for r in f]
    log = open(log_path, "a")
    if step not in logged:  # where a warm start begins, or where the last cycle ended
        v = evaluate(ema, val, q_settings)
        print(f"val step {step}: cos clean {v['clean']:.4f} degraded {v['degraded']:.4f} "
              f"q rho {v['q_rho']:.4f}", flush=True)
        log.write(f"{step}\t{seen}\t{time.time():.0f}\t{v['clean']:.5f}\t{v['degraded']:.5f}"
                  f"\t{v['q_rho']:.5f}\n")
        log.flush()
    model.train()
    g = torch.Generator().manual_seed(step)
    t_last_ck = time.time()
    t0, seen0 = time.time(), seen
    run_loss = run_q = run_rank = run_ok = 0.0
    stop = []  # SIGTERM / SIGINT: finish the step, checkpoint, exit
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop:
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * decay_factor(seen, a)
        for grp in opt.param_groups:
            grp["lr"] = lr
        idx = torch.randint(0, len(images), (a.batch,), generator=g)
        x = to_input(images[idx])
        t = targets[idx]
        if a.q_clean:  # + clean train images, in the same pass, for the Q loss only
            cidx = torch.randint(0, len(clean), (a.q_clean - n_turned,), generator=g)
            if n_turned:  # part of them from the most turned tenth of the faces
                pick = torch.randint(0, len(turned), (n_turned,), generator=g)
                cidx = torch.cat([cidx, turned[pick]])
            x = torch.cat([x, to_input(clean[cidx])])
        if n_rank:  # + pairs of mild variants of clean train images, for the ranking term
            ridx = torch.randint(0, len(clean), (n_rank,), generator=g)
            seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=g))
            less, more = mild_pairs(clean[ridx].numpy(), np.random.default_rng(seed))
            x = torch.cat([x, to_input(torch.from_numpy(less)), to_input(torch.from_numpy(more))])
        with torch.cpu.amp.autocast(enabled=a.bf16, dtype=torch.bfloat16):
            if a.q_weight:
                s, Q = forward_q(model, x, *q_settings)
            else:
                s = model(x)
        s = F.normalize(s[:len(idx)].float(), dim=1)
        loss = (1 - (s * t).sum(1)).mean()
        loss = loss + a.rel * F.mse_loss(s @ s.T, t @ t.T)
        if a.q_weight:  # quality-aware: Q should rank the variants by their utility
            Q = Q.float()
            q_loss = pearson_loss(Q[:len(idx)], (t * ref[idx % len(ref)]).sum(1))
            nb = len(idx)
            if a.q_clean:
                q_loss = q_loss + pearson_loss(Q[nb:nb + a.q_clean], clean_util[cidx])
            loss = loss + a.q_weight * q_loss
            run_q += float(q_loss)
            if n_rank:  # the less degraded variant of each pair should score higher
                r0 = nb + a.q_clean
                q_less, q_more = Q[r0:r0 + n_rank], Q[r0 + n_rank:r0 + 2 * n_rank]
                r_loss = rank_loss(q_less, q_more, Q[:nb].detach().std())
                loss = loss + a.q_rank * r_loss
                run_rank += float(r_loss)
                run_ok += float((q_less > q_more).float().mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        with torch.no_grad():
            d = min(a.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.state_dict().values(), model.state_dict().values()):
                if pe.dtype.is_floating_point:
                    pe.mul_(d).add_(pm.detach(), alpha=1 - d)
                else:
                    pe.copy_(pm)
        step += 1
        seen += a.batch
        run_loss += float(loss)
        if step % a.log_every == 0:
            rate = (seen - seen0) / (time.time() - t0)
            rank = (f", rank {run_rank / a.log_every:.4f} ordered "
                    f"{100 * run_ok / a.log_every:.0f}%" if n_rank else "")
            print(f"step {step} seen {seen} loss {run_loss / a.log_every:.4f} "
                  f"(q {run_q / a.log_every:.4f}{rank}) lr {lr:.2e} {rate:.0f} img/s",
                  flush=True)
            run_loss = run_q = run_rank = run_ok = 0.0
        if step % a.val_every == 0:
            v = evaluate(ema, val, q_settings)
            print(f"val step {step} seen {seen}: cos clean {v['clean']:.4f} "
                  f"degraded {v['degraded']:.4f} q rho {v['q_rho']:.4f}", flush=True)
            log.write(f"{step}\t{seen}\t{time.time():.0f}\t{v['clean']:.5f}\t"
                      f"{v['degraded']:.5f}\t{v['q_rho']:.5f}\n")
            log.flush()
        if time.time() - t_last_ck > a.ckpt_minutes * 60:
            save_ckpt(ck_path, dict(model=model.state_dict(), ema=ema.state_dict(),
                                    opt=opt.state_dict(), step=step, seen=seen,
                                    student=student))
            t_last_ck = time.time()
            # pick up shards that `prepare` added meanwhile
            if len(glob.glob(os.path.join(a.pool, "shard*.npz"))) > n_shards:
                images = targets = None  # free the old pool first
                images, targets, n_shards = load_pool(a.pool)
                print(f"pool grew: {len(images)} variants", flush=True)
        if a.max_samples and seen >= a.max_samples:
            break
    save_ckpt(ck_path, dict(model=model.state_dict(), ema=ema.state_dict(),
                            opt=opt.state_dict(), step=step, seen=seen, student=student))
    log.close()
    print(f"checkpoint at step {step}, {seen} samples: {ck_path}", flush=True)


# ----------------------------------------------------------------------------- export
def settings_set(teacher, seed=3, kinds=DEGRADATIONS, clean=True):
    """FairFace val: each image clean and under every degradation (random severity), with
    a utility per variant: teacher cosine to the flipped clean image, i.e. how well it
    would match another capture of the same face. Never LFW. (`kinds` / `clean`: other
    sets of the same construction, e.g. the train-only kinds in proxy_compare.py.)"""
    vimgs = [cv2.imread(f, cv2.IMREAD_COLOR) for f in list_images("val")]
    rng = np.random.default_rng(seed)
    variants, owner = [], []
    for i, im in enumerate(vimgs):
        if clean:
            variants.append(im)
            owner.append(i)
        for kind in kinds:
            variants.append(degrade(im, rng, kind))
            owner.append(i)
    variants = np.stack(variants)
    ref = teacher(np.stack([im[:, ::-1].copy() for im in vimgs]))
    util = (teacher(variants) * ref[np.array(owner)]).sum(1)
    return variants[..., ::-1].copy(), util


def block_statistics(model, rgb_u8, batch=250):
    """Per image: consecutive-block token distances d[t, p] (after final LN + L2) for
    t = 0..L-2, and per-block attention weights w[t, p] (sum over queries of the
    head-averaged softmax, normalised)."""
    model.eval()
    ds, ws = [], []
    with torch.no_grad():
        for i in range(0, len(rgb_u8), batch):
            _, z, w = walk_blocks(model, to_input(torch.from_numpy(rgb_u8[i:i + batch])))
            ds.append(torch.stack([(z[t + 1] - z[t]).norm(dim=-1)
                                   for t in range(len(z) - 1)], 1))
            ws.append(torch.stack(w, 1))
    return torch.cat(ds).numpy(), torch.cat(ws).numpy()


def score_from_statistics(d, w, first, last, s, agg):
    dp = d[:, first:last].mean(1)
    q = 2.0 / (1.0 + np.exp(s * dp))
    if agg == "uniform":
        return q.mean(1)
    a = w[:, last] if agg == "attention-last" else w[:, first:last + 1].mean(1)
    return (a / a.sum(1, keepdims=True) * q).sum(1)


def spearman(a, b):
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def choose_settings(model, rgb, util):
    d, w = block_statistics(model, rgb)
    depth = w.shape[1]
    results = []
    for first in range(0, 3):
        for last in range(first + 2, depth):
            for s in (4.0, 8.0, 16.0):
                for agg in ("attention-last", "attention-all", "uniform"):
                    q = score_from_statistics(d, w, first, last, s, agg)
                    results.append((spearman(q, util), first, last, s, agg))
    results.sort(reverse=True)
    return results


def exported_as_checkpoint(path, student):
    """An exported model (`export`, e.g. the bundled one) as a soup ingredient: its weights
    as the EMA of a run of `student`. Exactly that architecture: no adaptation."""
    if not os.path.exists(path):
        sys.exit(f"{path}: no such model")
    ref = facevit.FaceViT(**student).state_dict()
    w = st_io.load(path)
    want = {k for k in ref if not k.endswith("num_batches_tracked")}
    if set(w) != want or any(tuple(w[k].shape) != tuple(ref[k].shape) for k in want):
        sys.exit(f"{path}: its tensors are not those of the {student} student")
    ema = {k: (w[k].to(v.dtype) if k in w else v) for k, v in ref.items()}
    return {"ema": ema, "step": 0, "seen": 0, "student": student}


def cmd_soup(a):
    """Weighted average of the EMA weights of checkpoints that share an initialisation (runs
    fine-tuned from the same model), written as a checkpoint `export` reads. Refuses
    checkpoints of different students or tensor sets."""
    try:
        weights = [float(w) for w in a.weights.split(",")] if a.weights else [1.0] * len(a.src)
    except ValueError:
        weights = []
    if len(weights) != len(a.src) or any(w < 0 for w in weights) or sum(weights) <= 0:
        sys.exit(f"--weights {a.weights}: need {len(a.src)} non-negative weights, not all 0")
    out = os.path.join(a.ckpt, "last.pt")
    if os.path.exists(out) and "model" in torch.load(out):
        sys.exit(f"{out} is a training checkpoint: a soup would overwrite it (use another --ckpt)")
    weights = [w / sum(weights) for w in weights]
    states = []
    for src in a.src:
        if src.endswith(".safetensors"):  # an exported model: read below, once a run names
            states.append(None)            # the student it must be
            continue
        path = os.path.join(src, "last.pt")
        if not os.path.exists(path):
            sys.exit(f"{path}: no checkpoint")
        states.append(torch.load(path))
    runs = [st for st in states if st is not None]
    if not runs:
        sys.exit("soup: name at least one checkpoint folder (its student is the architecture)")
    for i, src in enumerate(a.src):
        if states[i] is None:
            states[i] = exported_as_checkpoint(src, runs[0].get("student", STUDENT))
    first = states[0]
    for src, st in zip(a.src[1:], states[1:]):
        if st.get("student", STUDENT) != first.get("student", STUDENT):
            sys.exit(f"{src}: a {st.get('student', STUDENT)} student, "
                     f"{a.src[0]} holds {first.get('student', STUDENT)}")
        if st["ema"].keys() != first["ema"].keys():
            sys.exit(f"{src}: its tensors differ from those of {a.src[0]}")
    ema = {}
    for k, v in first["ema"].items():
        if v.is_floating_point():
            ema[k] = sum(w * st["ema"][k].double() for w, st in zip(weights, states)).to(v.dtype)
        else:
            ema[k] = v
    os.makedirs(a.ckpt, exist_ok=True)
    save_ckpt(out,
              {"ema": ema, "step": max(st["step"] for st in states),
               "seen": max(st["seen"] for st in states),
               "student": first.get("student", STUDENT),
               "soup": [(src, w) for src, w in zip(a.src, weights)]})
    print(f"soup of {', '.join(f'{w:.3g} x {s}' for s, w in zip(a.src, weights))} -> {a.ckpt}")


def cmd_export(a):
    st = torch.load(os.path.join(a.ckpt, "last.pt"))
    student = st.get("student", STUDENT)
    model = facevit.FaceViT(**student)
    model.load_state_dict(st["ema"])
    # choose the ViTNT settings on FairFace val with synthetic degradations
    cache = os.path.join(a.ckpt, "settings_set.npz")
    if os.path.exists(cache):
        c = np.load(cache)
        rgb, util = c["rgb"], c["util"]
    else:
        rgb, util = settings_set(Teacher())
        save_npz_atomic(cache, rgb=rgb, util=util)
    results = choose_settings(model, rgb, util)
    torch.manual_seed(0)  # the same initial weights as `train` starts from
    control = choose_settings(facevit.FaceViT(**student), rgb, util)
    print("best settings by Spearman(Q, utility) on FairFace val + degradations:")
    for r in results[:5]:
        print(f"  rho {r[0]:.4f}  blocks {r[1]}:{r[2]}  s {r[3]:g}  {r[4]}")
    rho, first, last, s, agg = results[0]
    ctrl = [c for c in control if c[1:] == (first, last, s, agg)][0][0]
    print(f"random-initialisation control with the same settings: rho {ctrl:.4f}")
    config = dict(name=a.name, img_size=112, **{k: student[k] for k in student if k != "img_size"},
                  input=dict(channel_order="RGB", mean=[0.5] * 3, std=[0.5] * 3),
                  vitnt=dict(blocks=[first, last], scaling=s, aggregation=agg),
                  ignore_tensors=["mask_token"])
    w = {k: v.to(torch.float16) for k, v in st["ema"].items()
         if not k.endswith("num_batches_tracked")}
    meta = {"vitnt_config": json.dumps(config), "samples_seen": st["seen"], "step": st["step"],
            "teacher": "fr_feature.onnx", "data": "FairFace train (CC BY 4.0)",
            "settings_rho": f"{rho:.4f}", "control_rho": f"{ctrl:.4f}"}
    if "soup" in st:  # provenance: the averaged runs and their weights
        meta["soup"] = json.dumps(st["soup"])
    st_io.save(a.out, w, metadata=meta)
    with open(a.out[:-len(".safetensors")] + ".json", "w") as f:
        json.dump(config, f, indent=2)
    with open(a.out[:-len(".safetensors")] + ".settings.json", "w") as f:
        json.dump({"samples_seen": st["seen"], "step": st["step"], "chosen": results[0],
                   "top": results[:20], "control_same_settings": ctrl}, f, indent=1)
    print(f"exported EMA weights at {st['seen']} samples to {a.out}")
    if a.control:  # the same architecture at its training initialisation, for controls
        torch.manual_seed(0)
        init = facevit.FaceViT(**student).state_dict()
        st_io.save(a.control, {k: v.to(torch.float16) for k, v in init.items()
                               if not k.endswith("num_batches_tracked")},
                   metadata={"vitnt_config": json.dumps(config), "note": "random init control"})
        print(f"random-initialisation control with the same settings: {a.control}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("prepare")
    q.add_argument("--out", required=True)
    q.add_argument("--shards", type=int, default=4,
                   help="shards to cover from --first on (existing ones are skipped)")
    q.add_argument("--first", type=int, default=0, help="index (and seed) of the first shard")
    q.add_argument("--degradations", help="comma-separated kinds a variant's degradation is "
                   "drawn from (default: the 6 of the evaluation recipe; may add misalign, yaw)")
    q.add_argument("--threads", type=int, default=2)
    q = sub.add_parser("train")
    q.add_argument("--pool", required=True)
    q.add_argument("--ckpt", required=True)
    q.add_argument("--init-from", help="start from these weights (another patch size: "
                   "adapted, see adapt_state)")
    q.add_argument("--patch-size", type=int, help="student patch size (new runs; default 16)")
    q.add_argument("--embed-dim", type=int, help="student width (new runs; default 192)")
    q.add_argument("--depth", type=int, help="student depth (new runs; default 12)")
    q.add_argument("--heads", type=int, help="student heads (new runs; default 6)")
    q.add_argument("--threads", type=int, default=2)
    q.add_argument("--batch", type=int, default=128)
    q.add_argument("--lr", type=float, default=1e-3)
    q.add_argument("--warmup", type=int, default=1000)
    q.add_argument("--decay-start", type=int, default=0,
                   help="samples seen where the linear lr decay starts")
    q.add_argument("--decay-end", type=int, default=0,
                   help="samples seen where it reaches lr * --lr-min-ratio (0: no decay)")
    q.add_argument("--lr-min-ratio", type=float, default=0.02)
    q.add_argument("--ema", type=float, default=0.999)
    q.add_argument("--rel", type=float, default=1.0)
    q.add_argument("--bf16", action="store_true")
    q.add_argument("--log-every", type=int, default=50)
    q.add_argument("--val-every", type=int, default=500)
    q.add_argument("--ckpt-minutes", type=float, default=10)
    q.add_argument("--max-samples", type=int, default=0)
    q.add_argument("--q-weight", type=float, default=0.0,
                   help="quality-aware distillation: weight of 1 - Pearson(Q, utility) over "
                   "the batch (0: the plain recipe, as v1)")
    q.add_argument("--q-clean", type=int, default=0,
                   help="with --q-weight: also this many clean train images per step, "
                   "ranked by their utility (cosine to their mirror) in a second term")
    q.add_argument("--q-clean-turned", type=float, default=0.0,
                   help="with --q-clean: this fraction of the clean images drawn from the "
                   "most turned tenth of FairFace train (landmarks in its manifest.tsv)")
    q.add_argument("--q-rank", type=float, default=0.0,
                   help="with --q-weight: weight of a label-free ranking term: for pairs of "
                   "train-only mild variants of one clean train image (MILD_RANGES, not the "
                   "evaluation degradations), the less degraded one's Q should be higher")
    q.add_argument("--q-rank-pairs", type=int, default=32,
                   help="with --q-rank: pairs a step (2 images each, in the same pass)")
    q.add_argument("--q-settings", default="2:6:16:attention-last",
                   help="FIRST:LAST:S:AGGREGATION of the Q that loss trains and that "
                   "validation reports (default: v1's chosen settings)")
    q = sub.add_parser("soup", help="average the weights of sibling checkpoints")
    q.add_argument("--ckpt", required=True, help="output folder (its last.pt: for export)")
    q.add_argument("--weights", help="comma-separated, one per source (default: equal)")
    q.add_argument("src", nargs="+", help="checkpoint folders (each with last.pt), or exported "
                   "models (.safetensors) of the same student")
    q.add_argument("--threads", type=int, default=2)
    q = sub.add_parser("export")
    q.add_argument("--ckpt", required=True)
    q.add_argument("--out", required=True)
    q.add_argument("--name", default="vitnt-s16")
    q.add_argument("--control", help="also write the untrained initial weights here")
    q.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch_env.setup(a.threads)  # threads; refuses the reference BLAS (30-50x slower)
    {"prepare": cmd_prepare, "train": cmd_train, "soup": cmd_soup,
     "export": cmd_export}[a.cmd](a)


if __name__ == "__main__":
    main()
