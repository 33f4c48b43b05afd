#!/usr/bin/env python3
"""Convert a PyTorch face-ViT state dict (.pt/.pth) to safetensors + model description.

  convert_pt.py CHECKPOINT.pt OUT.safetensors (--arch NAME | --heads H) [--dtype f16]
                [--blocks A:B] [--scaling S] [--aggregation MODE] [--drop PREFIX ...]

Works for insightface arcface_torch ViTs, TransFace and CVLface `.pt` files without
their training code: the file must hold a state dict (possibly wrapped in
{"state_dict"|"model"|"net": ...}, keys possibly prefixed `module.`/`net.`). The
architecture is read off the tensors; the number of heads, which tensors cannot tell,
comes from --arch (a shipped description, see `vitnt info`) or --heads.

Tensors outside the face-ViT family (e.g. TransFace's patch re-weighting head) are
never dropped silently: they stop the conversion unless named with --drop PREFIX,
and every dropped tensor is listed. Writes OUT.safetensors (the description embedded
in its metadata) and OUT.json beside it. Use Debian's /usr/bin/python3.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))

import torch  # noqa: E402

import st_io  # noqa: E402

FAMILY = re.compile(
    r"^(patch_embed\.proj\.(weight|bias)|pos_embed|norm\.(weight|bias)|"
    r"blocks\.\d+\.(norm1|norm2)\.(weight|bias)|blocks\.\d+\.attn\.qkv\.weight|"
    r"blocks\.\d+\.attn\.proj\.(weight|bias)|blocks\.\d+\.mlp\.fc[12]\.(weight|bias)|"
    r"feature\.[02]\.weight|feature\.[13]\.(weight|bias|running_mean|running_var))$")
IGNORABLE = re.compile(r"^(mask_token|feature\.[13]\.num_batches_tracked)$")

# Heads of the shipped descriptions (src/model/config.cpp; the converter runs without a
# built vitnt). A test checks that both agree.
HEADS = {"cvlface-vit-s": 8, "cvlface-vit-b": 16, "insightface-vit-t": 8,
         "insightface-vit-s": 8, "insightface-vit-b": 8, "insightface-vit-l": 8}


def unwrap(obj, path):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    for key in ("state_dict", "model", "net", "backbone"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            return unwrap(obj[key], path)
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        sys.exit(f"{path}: not a state dict of tensors")
    return obj


def strip(name):
    changed = True
    while changed:
        changed = False
        for p in ("module.", "net."):
            if name.startswith(p):
                name, changed = name[len(p):], True
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--arch")
    ap.add_argument("--heads", type=int)
    ap.add_argument("--dtype", default="f16", choices=["f32", "f16", "bf16", "keep"])
    ap.add_argument("--blocks")
    ap.add_argument("--scaling", type=float, default=8.0)
    ap.add_argument("--aggregation", default="attention-last")
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--name")
    a = ap.parse_args()
    if not a.output.endswith(".safetensors"):
        sys.exit("output must end in .safetensors")
    try:
        obj = torch.load(a.checkpoint, map_location="cpu")
    except Exception as e:  # a pickled full model needs its classes: say so
        sys.exit(f"{a.checkpoint}: cannot load as a state dict ({e}); save "
                 "model.state_dict() with the original code first")
    sd = {strip(k): v for k, v in unwrap(obj, a.checkpoint).items()}

    dropped, unknown, keep = [], [], {}
    for k, v in sd.items():
        if FAMILY.match(k):
            keep[k] = v
        elif IGNORABLE.match(k) or any(k.startswith(p) for p in a.drop):
            dropped.append(k)
        else:
            unknown.append(k)
    if unknown:
        sys.exit(f"{a.checkpoint}: tensors outside the face-ViT family: {unknown[:10]}"
                 f"{' ...' if len(unknown) > 10 else ''}; add --drop PREFIX for extras "
                 "that are not part of the backbone or FR head")
    for k in dropped:
        print(f"dropped {k} {list(sd[k].shape)}")

    pe = keep["patch_embed.proj.weight"]
    dim, patch = pe.shape[0], pe.shape[2]
    depth = 1 + max(int(k.split(".")[1]) for k in keep if k.startswith("blocks."))
    mlp = keep["blocks.0.mlp.fc1.weight"].shape[0] / dim
    n = keep["pos_embed"].shape[1]
    img = 112  # the family's input; the position embedding must fit it
    if (img // patch) ** 2 != n:
        sys.exit(f"{a.checkpoint}: pos_embed has {n} tokens, a 112x112 input with patch "
                 f"{patch} gives {(img // patch) ** 2}")
    heads = a.heads or (HEADS.get(a.arch) if a.arch else None)
    if heads is None:
        sys.exit("give --heads H or a known --arch: heads cannot be read off the tensors")
    feats = keep["feature.2.weight"].shape[0] if "feature.2.weight" in keep else 512
    first, last = (0, max(1, int(round(depth * 0.8)) - 1))
    if a.blocks:
        first, last = map(int, a.blocks.split(":"))
    config = dict(name=a.name or os.path.basename(a.output)[:-len(".safetensors")],
                  img_size=img, patch_size=patch, embed_dim=dim, depth=depth,
                  num_heads=heads, mlp_ratio=mlp, num_features=feats,
                  input=dict(channel_order="RGB", mean=[0.5] * 3, std=[0.5] * 3),
                  vitnt=dict(blocks=[first, last], scaling=a.scaling,
                             aggregation=a.aggregation),
                  ignore_tensors=["mask_token"])
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}.get(a.dtype)
    tensors = {k: (v if dt is None else v.to(dt)) for k, v in keep.items()}
    st_io.save(a.output, tensors, metadata={"vitnt_config": json.dumps(config),
                                            "converted_from": os.path.basename(a.checkpoint)})
    with open(a.output[:-len(".safetensors")] + ".json", "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {a.output}: patch {patch}, dim {dim}, depth {depth}, heads {heads}, "
          f"mlp_ratio {mlp}, {len(tensors)} tensors, {len(dropped)} dropped")


if __name__ == "__main__":
    main()
