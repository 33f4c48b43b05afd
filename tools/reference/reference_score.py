#!/usr/bin/env python3
"""Score images with the PyTorch reference (float64), for checking the C++ engine.

  reference_score.py --weights W.safetensors --config DESC.json --output ref.jsonl IMAGES...
  reference_score.py --random-model OUT.safetensors --config DESC.json [--dtype F16] [--seed S]

The first form writes one JSON object per image (path, quality, patch_quality,
embedding) with the description's ViTNT settings (or --blocks/--scaling/--aggregation).
The second writes a randomly initialised model of the described shape (keys prefixed
`net.` like a CVLface download), for tests. Use Debian's /usr/bin/python3.
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

ARCH_KEYS = ("img_size", "patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio",
             "num_features")


def build(config):
    return facevit.FaceViT(**{k: config[k] for k in ARCH_KEYS if k in config})


def strip(name):
    for p in ("net.", "module."):
        while name.startswith(p):
            name = name[len(p):]
    return name


def main():
    torch_env.setup(2, require_fast_blas=False, quiet=True)  # warns on a slow BLAS
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--random-model")
    ap.add_argument("--dtype", default="F16", choices=["F32", "F16", "BF16"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output")
    ap.add_argument("--blocks")
    ap.add_argument("--scaling", type=float)
    ap.add_argument("--aggregation")
    ap.add_argument("images", nargs="*")
    a = ap.parse_args()
    config = json.load(open(a.config))
    model = build(config)
    if a.random_model:
        facevit.randomize(model, a.seed)
        dt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[a.dtype]
        st_io.save(a.random_model, {"net." + k: v.to(dt) for k, v in model.state_dict().items()
                                    if not k.endswith("num_batches_tracked")})
        return
    sd = {strip(k): v.float() for k, v in st_io.load(a.weights).items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing:
        sys.exit(f"{a.weights}: missing {missing}")
    model = model.double().eval()
    v = config.get("vitnt", {})
    first, last = v.get("blocks", [0, config["depth"] - 1])
    if a.blocks:
        first, last = map(int, a.blocks.split(":"))
    s = a.scaling or v.get("scaling", 8.0)
    agg = a.aggregation or v.get("aggregation", "attention-last")
    inp = config.get("input", {})
    order = inp.get("channel_order", "RGB")
    mean = torch.tensor(inp.get("mean", [0.5] * 3), dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(inp.get("std", [0.5] * 3), dtype=torch.float64).view(1, 3, 1, 1)
    with open(a.output, "w") as out:
        for i in range(0, len(a.images), 16):
            paths = a.images[i:i + 16]
            ims = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
            arr = np.stack([im[..., ::-1] if order == "RGB" else im for im in ims])
            x = torch.from_numpy(arr.copy()).permute(0, 3, 1, 2).double() / 255.0
            x = (x - mean) / std
            Q, q, emb = facevit.vitnt_score(model, x, first, last, s, agg,
                                            embedding="feature.0.weight" in sd)
            for k, p in enumerate(paths):
                row = {"path": p, "quality": float(Q[k]), "patch_quality": q[k].tolist()}
                if emb is not None:
                    row["embedding"] = emb[k].tolist()
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
