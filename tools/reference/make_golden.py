#!/usr/bin/env python3
"""Golden values for the C++ engine from the independent PyTorch reference.

  make_golden.py OUT_DIR [--images DIR_OR_FILES...]

Writes to OUT_DIR: random models of several shapes (safetensors in F32, F16 and BF16,
with plain, `net.` and `module.` key prefixes) with their JSON descriptions, the test
images (PNG, lossless, so both sides see the same pixels; plus any --images given),
and golden.json with Q and q_p for several block ranges / scalings / aggregations and
the FR embeddings. Use Debian's /usr/bin/python3.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch_env  # noqa: E402  (before torch: OMP_WAIT_POLICY=PASSIVE)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facevit  # noqa: E402
import st_io  # noqa: E402

# name, architecture, weight dtype, key prefix, cases (first, last, scaling, aggregation)
MODELS = [
    ("p9_d64_h4", dict(patch_size=9, embed_dim=64, depth=4, num_heads=4, mlp_ratio=4.0,
                       num_features=32), torch.float32, "",
     [(0, 3, 8.0, "attention-last"), (1, 2, 3.0, "uniform"), (0, 2, 8.0, "attention-all")]),
    ("p8_d128_h16", dict(patch_size=8, embed_dim=128, depth=5, num_heads=16, mlp_ratio=3.0,
                         num_features=64), torch.float16, "net.",
     [(0, 3, 8.0, "attention-last"), (1, 4, 5.0, "attention-all"), (0, 4, 2.0, "uniform")]),
    ("p16_d96_h8", dict(patch_size=16, embed_dim=96, depth=6, num_heads=8, mlp_ratio=5.0,
                        num_features=48), torch.bfloat16, "module.",
     [(0, 5, 8.0, "uniform"), (2, 4, 4.0, "attention-last"), (0, 1, 8.0, "attention-all")]),
    # TransFace's layout: patch gating (senet.*) before the FR head, the training
    # wrapper's "module." prefix
    ("transface_p9_d64", dict(patch_size=9, embed_dim=64, depth=3, num_heads=4, mlp_ratio=4.0,
                              num_features=32), torch.float32, "module.",
     [(0, 2, 8.0, "attention-last")]),
]
GATED = {"transface_p9_d64"}


def synthetic_images(n, seed):
    """Face-sized test images with structure (gradients, blobs, noise), not pure noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:112, 0:112].astype(np.float32)
    out = []
    for i in range(n):
        img = np.zeros((112, 112, 3), np.float32)
        for c in range(3):
            img[..., c] = 128 + 60 * np.sin(xx / rng.uniform(5, 30) + rng.uniform(0, 6)) * \
                np.cos(yy / rng.uniform(5, 30))
        for _ in range(4):
            cx, cy, r = rng.uniform(20, 92, 2).tolist() + [rng.uniform(5, 25)]
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
        img += rng.normal(0, 5 + 10 * i, img.shape)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def main():
    torch_env.setup(2, require_fast_blas=False, quiet=True)  # warns on a slow BLAS
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", nargs="*", default=[])
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    paths = []
    for i, img in enumerate(synthetic_images(5, seed=11)):
        p = os.path.join(a.out, f"synthetic_{i}.png")
        cv2.imwrite(p, img)  # written as BGR bytes; read back identically by OpenCV
        paths.append(p)
    paths += a.images
    bgr = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    for p, im in zip(paths, bgr):
        if im is None or im.shape != (112, 112, 3):
            sys.exit(f"{p}: not a readable 112x112 image")
    rgb = np.stack([im[..., ::-1] for im in bgr])
    x = facevit.to_input(rgb).double()

    golden = {"images": paths, "models": []}
    for seed, (name, arch, dtype, prefix, cases) in enumerate(MODELS):
        model = facevit.randomize(facevit.FaceViT(**arch, gated=name in GATED), seed=100 + seed)
        sd = {k: v for k, v in model.state_dict().items()
              if not k.endswith("num_batches_tracked")}
        stored = {k: v.to(dtype) for k, v in sd.items()}
        weights = os.path.join(a.out, f"{name}.safetensors")
        st_io.save(weights, {prefix + k: v for k, v in stored.items()})
        # the reference runs in float64 on exactly the stored (rounded) weights
        model.load_state_dict({k: v.float() for k, v in stored.items()}, strict=False)
        model = model.double().eval()
        config = dict(name=name, img_size=112, **arch,
                      input=dict(channel_order="RGB", mean=[0.5] * 3, std=[0.5] * 3),
                      vitnt=dict(blocks=[cases[0][0], cases[0][1]], scaling=cases[0][2],
                                 aggregation=cases[0][3]))
        config_path = os.path.join(a.out, f"{name}.json")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=2)
        entry = {"name": name, "weights": weights, "config": config_path, "cases": []}
        for first, last, s, agg in cases:
            Q, q, _ = facevit.vitnt_score(model, x, first, last, s, agg)
            entry["cases"].append({"first": first, "last": last, "scaling": s,
                                   "aggregation": agg, "quality": Q.tolist(),
                                   "patch_quality": q.tolist()})
        with torch.no_grad():
            entry["embedding"] = model(x).tolist()
            h = model.tokens(x)
            for blk in model.blocks:
                h, _ = blk(h)
            pre = model.feature[:3](model.head_input(model.norm(h)))  # before the last BatchNorm
            entry["pre_bn_norm"] = pre.norm(dim=1).tolist()
        golden["models"].append(entry)
    # A backbone of ViT-B's GEMM shapes (196 tokens, width 512, 8 heads, MLP 2048) but
    # 3 blocks and no FR head (its feature.0 alone would be 200 MB): for the batch
    # invariance tests, whose GEMMs must take the paths a real ViT-B takes. No reference
    # values: the tests compare the engine with itself.
    vitb = dict(patch_size=8, embed_dim=512, depth=3, num_heads=8, mlp_ratio=4.0,
                num_features=512)
    model = facevit.randomize(facevit.FaceViT(**vitb), seed=200)
    st_io.save(os.path.join(a.out, "vitb_shape.safetensors"),
               {k: v for k, v in model.state_dict().items()
                if not k.startswith("feature.") and not k.endswith("num_batches_tracked")})
    with open(os.path.join(a.out, "vitb_shape.json"), "w") as f:
        json.dump(dict(name="vitb_shape", img_size=112, **vitb,
                       input=dict(channel_order="RGB", mean=[0.5] * 3, std=[0.5] * 3),
                       vitnt=dict(blocks=[0, 2], scaling=8.0, aggregation="attention-last")),
                  f, indent=2)
    golden["vitb_shape"] = {"weights": os.path.join(a.out, "vitb_shape.safetensors"),
                            "config": os.path.join(a.out, "vitb_shape.json")}
    with open(os.path.join(a.out, "golden.json"), "w") as f:
        json.dump(golden, f)
    print(f"golden values for {len(MODELS)} models x {len(paths)} images in {a.out}")


if __name__ == "__main__":
    main()
