"""The Python module against the CLI: the same numbers for the same images, errors
mapped to exceptions with the C++ message, the GIL released while scoring, stubs in
step with the module.

Usage: test_module.py VITNT SOURCE_DIR WORK_DIR   (with `vitnt` importable)
Exit 77 (skipped) when the LFW crops of the shared folder are missing.
"""

import ast
import csv
import os
import re
import subprocess
import sys
import threading
import time

import cv2
import numpy as np

import vitnt

from test_setup import setup  # noqa: E402

VITNT, SRC, WORK, LFW, MODEL = setup(sys.argv)


def lfw_images(n, step):
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(LFW)
                   for f in fs if f.endswith(".jpg"))
    return files[::step][:n]


def cli(args, out):
    """Runs `vitnt score` and reads its CSV: {path: (quality, emb, q, scalar)} (float32;
    scalar an int, -1 when empty)."""
    subprocess.run([VITNT, "score", "--model", MODEL, "--threads", "1", "-o", out] + args,
                   check=True, stderr=subprocess.DEVNULL)
    rows = {}
    with open(out) as f:
        r = csv.reader(f)
        header = next(r)
        ne = sum(h.startswith("emb_") for h in header)
        assert header[:4] == ["path", "quality", "scalar", "scalar_for"], header
        for row in r:
            v = np.array([float(x) for x in row[1:2] + row[4:]], np.float32)
            rows[row[0]] = (v[0], v[1 : 1 + ne], v[1 + ne :], int(row[2]) if row[2] else -1)
    return rows


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)


def raises(exc, pattern, fn):
    try:
        fn()
    except exc as e:
        check(re.search(pattern, str(e)), f"{exc.__name__} message {str(e)!r} lacks {pattern!r}")
        return
    except Exception as e:  # the wrong kind
        check(False, f"expected {exc.__name__} ~ {pattern!r}, got {type(e).__name__}: {e}")
    check(False, f"expected {exc.__name__} ~ {pattern!r}, nothing raised")


paths = lfw_images(40, 97)
with open(os.path.join(WORK, "list.txt"), "w") as f:
    f.write("\n".join(paths) + "\n")
ref = cli(["--embedding", "--patch-map", "--batch", "7", "@" + os.path.join(WORK, "list.txt")],
          os.path.join(WORK, "ref.csv"))
ref_q = np.array([ref[p][0] for p in paths], np.float32)
ref_e = np.stack([ref[p][1] for p in paths])
ref_p = np.stack([ref[p][2] for p in paths])
check(ref_q.max() - ref_q.min() > 1e-3, "reference scores do not vary: the test would be blind")

# 1. model, config, path
model = vitnt.Model(MODEL, threads=2)
check(model.path == MODEL, f"model.path {model.path!r}")
c = model.config
check(isinstance(c, dict) and c["name"] == "vitnt-s16" and c["img_size"] == 112, f"config {c}")
g = c["img_size"] // c["patch_size"]

# 2. file paths: decoded by the library as in the CLI -> bit for bit (in batches of 9 here,
# of 7 in the CLI: results do not depend on the batch size)
s = model.score(paths, embedding=True, patch_map=True, batch_size=9)
check(len(s) == len(paths) and s.quality.dtype == np.float32, "Scores length/dtype")
check(s.embedding.shape == (len(paths), c["num_features"]), f"embedding {s.embedding.shape}")
check(s.patch_map.shape == (len(paths), g, g), f"patch map {s.patch_map.shape}")
check(np.array_equal(s.quality, ref_q), f"paths: quality differs from CLI, max "
      f"{np.abs(s.quality - ref_q).max():.3g}")
check(np.array_equal(s.embedding, ref_e), "paths: embedding differs from CLI")
check(np.array_equal(s.patch_map.reshape(len(paths), -1), ref_p), "paths: patch map differs")
check(s.errors == [None] * len(paths), "errors on readable files")
ref_s = np.array([ref[p][3] for p in paths])
check(s.scalar.dtype == np.int16 and np.array_equal(s.scalar, ref_s),
      f"paths: scalar differs from CLI: {s.scalar[:5]} vs {ref_s[:5]}")
rg = model.score(paths[:4], regions=True)
check(rg.regions.shape == (4, len(vitnt.region_names())) and vitnt.region_names()[0] == "left_eye",
      f"regions {None if rg.regions is None else rg.regions.shape}")

# 3. numpy arrays (decoded by OpenCV in Python), RGB and BGR
bgr = np.stack([cv2.imread(p) for p in paths])
rgb = np.ascontiguousarray(bgr[..., ::-1])
a = model.score(rgb, embedding=True, patch_map=True)
dq = float(np.abs(a.quality - ref_q).max())
de = float(np.abs(a.embedding - ref_e).max())
dp = float(np.abs(a.patch_map.reshape(len(paths), -1) - ref_p).max())
same = np.array_equal(a.quality, ref_q) and np.array_equal(a.embedding, ref_e)
print(f"numpy RGB vs CLI: max |dQ| {dq:.2e}, |d emb| {de:.2e}, |d q_p| {dp:.2e}, "
      f"bit-identical: {same}")
# OpenCV in Python decodes as the library does; the pixels may only differ if the two
# were built against different decoders, hence a tolerance rather than equality
check(dq <= 1e-6 and dp <= 1e-6 and de <= 1e-6, "numpy input: not the CLI's numbers")
b = model.score(bgr, channel_order="BGR")
check(np.array_equal(b.quality, a.quality), "BGR input differs from the same image in RGB")
v = model.score(bgr[..., ::-1])  # a strided view: copied, same result
check(np.array_equal(v.quality, a.quality), "non-contiguous RGB view differs")
w = model.score(bgr)  # BGR taken as RGB: another image for the model
check(not np.array_equal(w.quality, a.quality), "channel_order has no effect")
one = vitnt.Model(MODEL, threads=1).score(rgb[5:6])
check(one.quality[0] == a.quality[5] and one.embedding is None and one.patch_map is None,
      "batch of one / threads=1 differs")
check(len(model.score(rgb[:0])) == 0 and len(model.score([])) == 0, "empty inputs")

# bf16 (AVX512-BF16 GEMMs): the CLI's --precision bf16, close to fp32, where the CPU has
# it; refused with a ValueError naming the missing feature where it has not; and refused
# on any CPU once oneDNN is capped at AVX2 (a fresh interpreter: oneDNN reads the cap once)
import json  # noqa: E402
cpu = json.loads(subprocess.run([VITNT, "info", "--json"], check=True, capture_output=True,
                                text=True).stdout)["cpu"]
if cpu["bf16"].startswith("native"):
    ref_b = cli(["--precision", "bf16", "@" + os.path.join(WORK, "list.txt")],
                os.path.join(WORK, "ref_bf16.csv"))
    bq = vitnt.Model(MODEL, threads=2, precision="bf16").score(paths).quality
    check(np.array_equal(bq, np.array([ref_b[p][0] for p in paths], np.float32)),
          "bf16: differs from the CLI's --precision bf16")
    check(0 < np.abs(bq - ref_q).max() < 1e-3,
          f"bf16 vs fp32: max |dQ| {np.abs(bq - ref_q).max()}")
else:
    raises(ValueError, r"AVX512-BF16.*fp32", lambda: vitnt.Model(MODEL, precision="bf16"))
capped = subprocess.run(
    [sys.executable, "-c", "import sys, vitnt\ntry:\n  vitnt.Model(sys.argv[1], precision='bf16')\n"
     "except vitnt.UnsupportedError as e:\n  print('refused:', e); sys.exit(0)\nsys.exit(1)",
     MODEL], env=dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2"), capture_output=True, text=True)
check(capped.returncode == 0 and "AVX512-BF16" in capped.stdout and issubclass(
    vitnt.UnsupportedError, ValueError), f"bf16 under ONEDNN_MAX_CPU_ISA=AVX2: {capped}")
raises(ValueError, r"precision must be 'fp32' or 'bf16'",
       lambda: vitnt.Model(MODEL, precision="int8"))

# 4. options against the CLI
ref2 = cli(["--blocks", "1:9", "--aggregation", "attention-last", "--scaling", "4",
            "@" + os.path.join(WORK, "list.txt")], os.path.join(WORK, "ref2.csv"))
o = model.score(paths, blocks=(1, 9), aggregation="attention-last", scaling=4)
o2 = model.score(rgb, blocks="1:9", aggregation="attention-last", scaling=4.0)
ref2_q = np.array([ref2[p][0] for p in paths], np.float32)
check(np.array_equal(o.quality, ref2_q), "blocks/aggregation/scaling: differs from CLI")
check(np.abs(o2.quality - ref2_q).max() <= 1e-6, "options with numpy input differ")
check(not np.array_equal(o.quality, ref_q), "options have no effect")

# 5. the description given as a dict or a file gives the same model
d = vitnt.Model(MODEL, config=model.config, threads=1).score(rgb[:4]).quality
fp = vitnt.Model(MODEL, config=os.path.join(SRC, "models", "vitnt-s16.json")).score(rgb[:4]).quality
check(np.array_equal(d, a.quality[:4]) and np.array_equal(fp, a.quality[:4]), "config dict/file")
check("vitnt-s16" not in vitnt.builtin_arch_names() and
      vitnt.builtin_arch("cvlface-vit-b")["patch_size"] == 8, "builtin_arch")

# 5b. named calibration blocks: calibration_for picks one, Scores.scalar_for names it, the
# CLI's --calibration-for gives the same scalars, an unknown name is a ValueError
cfg = model.config
default = cfg["default_calibration"]
check(s.scalar_for == default, f"scalar_for {s.scalar_for!r}, the default is {default!r}")
half = dict(next(b for b in cfg["calibrations"] if b["name"] == default), name="half")
half["knots"] = dict(half["knots"], p=[x / 2 for x in half["knots"]["p"]])
cfg["calibrations"].append(half)
with open(os.path.join(WORK, "two_blocks.json"), "w") as f:
    json.dump(cfg, f)
m2 = vitnt.Model(MODEL, config=cfg, threads=2)
h = m2.score(paths, calibration_for="half")
check(h.scalar_for == "half" and m2.score(paths).scalar_for == default, "calibration_for: scalar_for")
check(np.array_equal(m2.score(paths).scalar, s.scalar), "a second block changed the default's scalars")
check(np.array_equal(h.quality, s.quality) and not np.array_equal(h.scalar, s.scalar),
      "calibration_for='half': same scalars as the default")
ref_h = cli(["--model-config", os.path.join(WORK, "two_blocks.json"), "--calibration-for", "half",
             "@" + os.path.join(WORK, "list.txt")], os.path.join(WORK, "ref_half.csv"))
check(np.array_equal(h.scalar, np.array([ref_h[p][3] for p in paths])),
      "calibration_for: differs from the CLI's --calibration-for")
raises(ValueError, r"calibration_for: .*'arcface'.*it has: .*half",
       lambda: m2.score(paths[:1], calibration_for="arcface"))

# 6. errors: the C++ message as vitnt.Error (a RuntimeError); bad arguments as ValueError/TypeError
check(issubclass(vitnt.Error, RuntimeError), "vitnt.Error is not a RuntimeError")
raises(vitnt.Error, r"missing\.safetensors",
       lambda: vitnt.Model(os.path.join(WORK, "missing.safetensors")))
raises(vitnt.Error, r"vitnt-s16\.safetensors.*patch_size",
       lambda: vitnt.Model(MODEL, arch="cvlface-vit-b"))
raises(vitnt.Error, r"unknown --arch 'nope'", lambda: vitnt.Model(MODEL, arch="nope"))
raises(ValueError, r"either config or arch", lambda: vitnt.Model(MODEL, config={}, arch="x"))
raises(vitnt.Error, r"block range 5:3", lambda: model.score(rgb[:1], blocks=(5, 3)))
raises(ValueError, r"'A:B'", lambda: model.score(rgb[:1], blocks="3"))
raises(vitnt.Error, r"aggregation|attention", lambda: model.score(rgb[:1], aggregation="max"))
raises(ValueError, r"channel_order", lambda: model.score(rgb[:1], channel_order="RGBA"))
raises(TypeError, r"uint8.*float32", lambda: model.score(rgb.astype(np.float32)))
raises(ValueError, r"\(N, 112, 112, 3\).*\(112, 112, 3\).*images\[None\]",
       lambda: model.score(rgb[0]))
raises(TypeError, r"list of paths", lambda: model.score(paths[0]))
raises(TypeError, r"path", lambda: model.score([paths[0], 3]))

bad = os.path.join(WORK, "bad")
os.makedirs(bad)
with open(paths[0], "rb") as f:
    head = f.read(3000)
with open(os.path.join(bad, "truncated.jpg"), "wb") as f:
    f.write(head)
cv2.imwrite(os.path.join(bad, "small.png"), cv2.resize(bgr[0], (100, 100)))
mixed = [paths[0], os.path.join(bad, "truncated.jpg"), paths[1], os.path.join(bad, "none.jpg"),
         os.path.join(bad, "small.png"), paths[2]]
raises(vitnt.Error, r"truncated\.jpg: truncated JPEG", lambda: model.score(mixed))
r = model.score(mixed, errors="report", embedding=True)
check(np.array_equal(r.quality[[0, 2, 5]], ref_q[:3]), "report mode: good rows differ")
check(np.isnan(r.quality[[1, 3, 4]]).all() and np.isnan(r.embedding[[1, 3, 4]]).all(),
      "report mode: failed rows not NaN")
check(r.errors[0] is None and "truncated" in r.errors[1] and "no such file" in r.errors[3]
      and "100x100" in r.errors[4], f"report mode errors {r.errors}")
rs = model.score([os.path.join(bad, "small.png")], resize=True)
check(np.isfinite(rs.quality).all(), "resize=True did not score the small crop")

# 7. the GIL is released while scoring: another Python thread keeps running
big = np.repeat(rgb, 8, axis=0)  # 320 images
ticks, done = [], threading.Event()
t0 = time.perf_counter()
th = threading.Thread(target=lambda: (model.score(big), done.set()))
th.start()
while not done.is_set():
    ticks.append(time.perf_counter())
    time.sleep(0.001)
th.join()
span = time.perf_counter() - t0
gap = max(np.diff([t0] + ticks + [time.perf_counter()]))
print(f"GIL: score of {len(big)} images took {span:.2f} s, longest pause of the other thread "
      f"{gap * 1000:.0f} ms, {len(ticks)} ticks")
check(span > 0.05 and gap < 0.5 * span, "the other thread stalled: GIL held while scoring")

# 8. the stubs list what the module has, with the same score() arguments
stub = ast.parse(open(os.path.join(os.path.dirname(vitnt.__file__), "__init__.pyi")).read())
names = {n.name for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
check(names == set(vitnt.__all__), f"stub names {sorted(names)} vs __all__ {vitnt.__all__}")
cls = {n.name: n for n in stub.body if isinstance(n, ast.ClassDef)}
for cname, node in cls.items():
    for fn in node.body:
        if isinstance(fn, ast.FunctionDef):
            check(hasattr(getattr(vitnt, cname), fn.name), f"stub {cname}.{fn.name} not in module")
score_stub = next(f for f in cls["Model"].body
                  if isinstance(f, ast.FunctionDef) and f.name == "score")
stub_args = [x.arg for x in score_stub.args.args + score_stub.args.kwonlyargs][1:]
doc_args = re.findall(r"(\w+): ", vitnt.Model.score.__doc__.splitlines()[0].split("(", 1)[1])[1:]
check(stub_args == doc_args, f"score(): stub arguments {stub_args} vs module {doc_args}")
check(os.path.exists(os.path.join(os.path.dirname(vitnt.__file__), "py.typed")), "py.typed missing")
print("python_module: OK")
