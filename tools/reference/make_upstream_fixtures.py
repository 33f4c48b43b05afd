#!/usr/bin/env python3
"""Checkpoints in the exact layouts the upstream projects publish, from seeded random
weights, and the reference's scores for them (float64, tools/reference/facevit.py).

  make_upstream_fixtures.py OUT_DIR IMAGE...

The layouts (read off the upstream projects' model and saving code; this generator is
ours):
- CVLface, Hugging Face repo as downloaded (e.g. minchul/cvlface_adaface_vit_base_
  webface4m): model.safetensors with every key under `model.net.`, F32, the two BatchNorm
  counters `model.net.feature.1.num_batches_tracked` / `feature.3...` as 0-dim I64,
  metadata {"format": "pt"}; and pretrained_model/model.pt, the same network's state dict
  under `net.`. Full ViT-B shape (cvlface-vit-b).
- insightface arcface_torch: model.pt = the backbone's state dict (mask_token and the
  BatchNorm counters included), and a training checkpoint checkpoint_gpu_0.pt that keeps
  it under `state_dict_backbone` beside the classifier and optimizer states.
  insightface-vit-t shape.
- TransFace: the arcface_torch layout plus the patch gating senet.0.weight [N, N*D] and
  senet.2.weight [N, N] (insightface-vit-t shape here: the layout is TransFace's, the
  size chosen to keep CI short).
- CVLface KP-RPE: a model.safetensors with keypoint_linear.* (must be refused).
Writes OUT_DIR/reference.json: per fixture, the description used and, per image, Q and
the embedding from the reference, RGB input and (CVLface) BGR input as the authors'
published run feeds it.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import torch_env  # noqa: E402,F401  (before torch)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import facevit  # noqa: E402
import st_io  # noqa: E402

ARCHS = json.load(open(os.path.join(HERE, "..", "..", "src", "model", "archs.json")))
ARCH_KEYS = ("patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "num_features")


def model_for(arch, seed, gated=False):
    d = ARCHS[arch]
    return facevit.randomize(facevit.FaceViT(112, **{k: d[k] for k in ARCH_KEYS},
                                             gated=gated), seed=seed).eval()


def state_dict(model, counters=True):
    """The state dict as the upstream code's model.state_dict() gives it: every
    parameter and buffer, the BatchNorm counters as 0-dim int64."""
    sd = dict(model.state_dict())
    if not counters:
        sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    return sd


def reference(model, arch, images_rgb):
    d = ARCHS[arch]
    first, last = d["vitnt"]["blocks"]
    m = model.double()
    Q, _, emb = facevit.vitnt_score(m, facevit.to_input(images_rgb).double(), first, last,
                                    d["vitnt"].get("scaling", 8.0),
                                    d["vitnt"].get("aggregation", "attention-last"),
                                    embedding=True)
    return {"quality": Q.tolist(), "embedding": emb.tolist()}


def main():
    torch_env.setup(2, require_fast_blas=False, quiet=True)
    out, paths = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    bgr = [cv2.imread(p, cv2.IMREAD_COLOR) for p in paths]
    rgb = np.stack([im[..., ::-1] for im in bgr])
    ref = {"images": paths}

    # CVLface ViT-B, as downloaded from Hugging Face and its pretrained_model/model.pt
    m = model_for("cvlface-vit-b", 301)
    sd = state_dict(m)
    os.makedirs(f"{out}/cvlface/pretrained_model", exist_ok=True)
    st_io.save(f"{out}/cvlface/model.safetensors", {"model.net." + k: v for k, v in sd.items()},
               metadata={"format": "pt"})
    torch.save({"net." + k: v for k, v in sd.items()}, f"{out}/cvlface/pretrained_model/model.pt")
    ref["cvlface"] = reference(m, "cvlface-vit-b", rgb)
    # the authors' published run: the same network fed BGR bytes
    ref["cvlface_bgr_input"] = reference(m, "cvlface-vit-b", np.stack(bgr))
    # KP-RPE: an extra projection of the landmarks into the attention
    kp = {"model.net." + k: v for k, v in state_dict(model_for("cvlface-vit-s", 302)).items()}
    kp["model.net.keypoint_linear.weight"] = torch.zeros(16 * 12, 10)
    kp["model.net.keypoint_linear.bias"] = torch.zeros(16 * 12)
    st_io.save(f"{out}/cvlface/kprpe_model.safetensors", kp, metadata={"format": "pt"})
    del m, sd, kp

    # insightface arcface_torch ViT-T: model.pt and a training checkpoint
    m = model_for("insightface-vit-t", 303)
    sd = state_dict(m)
    sd["mask_token"] = torch.zeros(1, 1, ARCHS["insightface-vit-t"]["embed_dim"])
    os.makedirs(f"{out}/insightface", exist_ok=True)
    torch.save(sd, f"{out}/insightface/model.pt")
    torch.save({"epoch": 4, "global_step": 1000, "state_dict_backbone": sd,
                "state_dict_softmax_fc": {"weight_activated": torch.zeros(8, 512)},
                "state_optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0]}]},
                "state_lr_scheduler": {"last_epoch": 4}},
               f"{out}/insightface/checkpoint_gpu_0.pt")
    ref["insightface"] = reference(m, "insightface-vit-t", rgb)
    del m, sd

    # TransFace: arcface_torch's layout with the patch gating
    m = model_for("insightface-vit-t", 304, gated=True)
    sd = state_dict(m)
    sd["mask_token"] = torch.zeros(1, 1, ARCHS["insightface-vit-t"]["embed_dim"])
    os.makedirs(f"{out}/transface", exist_ok=True)
    torch.save(sd, f"{out}/transface/model.pt")
    ref["transface"] = reference(m, "insightface-vit-t", rgb)

    with open(f"{out}/reference.json", "w") as f:
        json.dump(ref, f)
    print(f"upstream-layout fixtures and reference scores for {len(paths)} images in {out}")


if __name__ == "__main__":
    main()
