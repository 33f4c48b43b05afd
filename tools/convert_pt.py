#!/usr/bin/env python3
"""Convert a face-ViT checkpoint (.pt/.pth/.safetensors) to a vitnt safetensors file
with its model description embedded.

  convert_pt.py CHECKPOINT OUT.safetensors (--arch NAME | --heads H) [--dtype f32]
                [--blocks A:B] [--scaling S] [--aggregation MODE] [--drop PREFIX ...]

Reads what the upstream projects write, as downloaded or saved by their own code:
insightface arcface_torch (`model.pt`: the backbone's state dict; training checkpoints
`checkpoint_gpu_*.pt` keep it under `state_dict_backbone`), TransFace (the same, with
its patch gating `senet.*`, which vitnt runs), CVLface (`pretrained_model/model.pt` with
`net.*` keys, and the Hugging Face `model.safetensors` with `model.net.*` keys).
Wrappers ({"state_dict"|"state_dict_backbone"|"model"|"net"|"backbone": ...}) and key
prefixes (`module.`, `net.`, `model.net.`, ...) are removed; BatchNorm's
num_batches_tracked counters and insightface's mask_token are dropped (listed).
.pt files are read with torch.load and a restricted unpickler that only rebuilds
tensors and plain containers (no code from the file runs; torch 1.13's own
weights_only=True cannot read training checkpoints, whose optimizer state holds floats).

--arch NAME embeds exactly the shipped description NAME (src/model/archs.json, the same
one `vitnt --arch NAME` uses: heads, blocks, scaling, aggregation, channel order), after
checking that the tensors have its shapes; so scoring the output with no flags equals
scoring the checkpoint with --arch NAME. Without --arch, --heads H is needed (heads
cannot be read off the tensors) and the ViTNT settings default to the paper's recipe
scaled to depth (blocks 0..floor(0.8 depth)).

--dtype: f32 (default, exact), f16 or bf16 (half the file; measured on random ViT-B-
shaped weights: ~1e-4 relative on the score, ~1e-3 on the embedding, README "Real
checkpoints"), keep (as stored).

Tensors outside the face-ViT family stop the conversion unless named with --drop PREFIX
(for training-only extras: a classifier, an optimizer state); every dropped tensor is
listed. Variants whose extra tensors change the network are refused: CVLface KP-RPE
(keypoint_linear.*: attention steered by facial landmarks). Writes OUT.safetensors and
OUT.json beside it. Use Debian's /usr/bin/python3.
"""
import argparse
import json
import os
import pickle
import re
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))

import torch  # noqa: E402

import st_io  # noqa: E402

ARCHS_JSON = os.path.join(HERE, "..", "src", "model", "archs.json")

FAMILY = re.compile(
    r"^(patch_embed\.proj\.(weight|bias)|pos_embed|norm\.(weight|bias)|"
    r"blocks\.\d+\.(norm1|norm2)\.(weight|bias)|blocks\.\d+\.attn\.qkv\.weight|"
    r"blocks\.\d+\.attn\.proj\.(weight|bias)|blocks\.\d+\.mlp\.fc[12]\.(weight|bias)|"
    r"feature\.[02]\.weight|feature\.[13]\.(weight|bias|running_mean|running_var)|"
    r"senet\.[02]\.weight)$")
IGNORABLE = re.compile(r"^(mask_token|.*num_batches_tracked)$")
REFUSED = {"keypoint_linear.": "a CVLface KP-RPE model: its attention is steered by facial "
                               "landmarks per image, which vitnt does not compute"}
WRAPPERS = ("state_dict_backbone", "state_dict", "model", "net", "backbone")
ANCHOR = "patch_embed.proj.weight"


class _TensorsOnly(pickle.Unpickler):
    """Rebuilds tensors, storages and plain containers; any other class or function a
    pickle names is refused (a checkpoint must not run code)."""
    ALLOWED = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"),
               ("torch._utils", "_rebuild_parameter"), ("torch", "Size"),
               ("torch", "device"), ("torch", "float32"), ("torch", "int64")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED or (module == "torch" and name.endswith("Storage")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: not a tensor or container")


# what torch.load's pickle_module must offer
TENSORS_ONLY = types.SimpleNamespace(Unpickler=_TensorsOnly, __name__="tensors_only",
                                     load=lambda f, **kw: _TensorsOnly(f, **kw).load())


def shipped_archs():
    with open(ARCHS_JSON) as f:
        return json.load(f)


def fail(msg):
    sys.exit(f"convert_pt: {msg}")


def read_checkpoint(path):
    """The checkpoint's tensors by their names in the file (wrappers removed)."""
    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    if path.endswith(".safetensors"):
        try:
            return st_io.load(path)
        except Exception as e:
            fail(f"{path}: not a readable safetensors file ({e})")
    try:
        obj = torch.load(path, map_location="cpu", pickle_module=TENSORS_ONLY)
    except Exception as e:
        fail(f"{path}: cannot read as a PyTorch checkpoint of tensors ({e}). A file "
             "that pickles a whole model object needs its project's code: load it there "
             "and torch.save(model.state_dict(), ...) first")
    return unwrap(obj, path)


def unwrap(obj, path):
    if isinstance(obj, dict) and obj and all(torch.is_tensor(v) for v in obj.values()):
        return obj
    if isinstance(obj, dict):
        for key in WRAPPERS:
            if isinstance(obj.get(key), dict):
                return unwrap(obj[key], path)
    kind = f"a dict with keys {sorted(obj)[:8]}" if isinstance(obj, dict) else type(obj).__name__
    fail(f"{path}: no state dict of tensors found ({kind}; looked under {list(WRAPPERS)})")


def strip_prefix(sd, path):
    """Family names: the prefix before 'patch_embed.proj.weight' removed from every key."""
    found = [k[:-len(ANCHOR)] for k in sd if k == ANCHOR or k.endswith("." + ANCHOR)]
    if len(found) != 1:
        tops = sorted({k.split(".")[0] + "." for k in sd})[:10]
        fail(f"{path}: {'no' if not found else 'several'} face ViT(s): looked for "
             f"'*{ANCHOR}' under any prefix; the keys start with {tops}")
    prefix = found[0]
    out = {}
    for k, v in sd.items():
        out[k[len(prefix):] if k.startswith(prefix) else k] = v
    return prefix, out


def check_shapes(arch_name, d, tensors, path):
    pe = tensors[ANCHOR]
    got = dict(embed_dim=pe.shape[0], patch_size=pe.shape[2],
               depth=1 + max(int(k.split(".")[1]) for k in tensors if k.startswith("blocks.")),
               mlp_ratio=tensors["blocks.0.mlp.fc1.weight"].shape[0] / pe.shape[0])
    if "feature.2.weight" in tensors:
        got["num_features"] = tensors["feature.2.weight"].shape[0]
    for k, v in got.items():
        if float(d[k]) != float(v):
            fail(f"{path}: --arch {arch_name} has {k} {d[k]}, the checkpoint {v}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--arch", help="a shipped description (vitnt info): embedded as is")
    ap.add_argument("--heads", type=int, help="without --arch: the number of heads")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16", "keep"])
    ap.add_argument("--blocks", help="A:B, overrides the description's")
    ap.add_argument("--scaling", type=float, help="overrides the description's")
    ap.add_argument("--aggregation", help="overrides the description's")
    ap.add_argument("--drop", action="append", default=[],
                    help="drop tensors under PREFIX (training-only extras), listed")
    ap.add_argument("--name")
    a = ap.parse_args()
    if not a.output.endswith(".safetensors"):
        fail("the output must end in .safetensors")
    out_dir = os.path.dirname(os.path.abspath(a.output))
    if not os.path.isdir(out_dir):
        fail(f"{a.output}: the folder {out_dir} does not exist")
    archs = shipped_archs()
    if a.arch and a.arch not in archs:
        fail(f"unknown --arch {a.arch} (known: {', '.join(sorted(archs))})")
    if not a.arch and not a.heads:
        fail("give --arch NAME (a shipped description) or --heads H: heads cannot be read "
             "off the tensors")

    prefix, sd = strip_prefix(read_checkpoint(a.checkpoint), a.checkpoint)
    if prefix:
        print(f"stripped key prefix '{prefix}'")
    for p, why in REFUSED.items():
        if any(k.startswith(p) for k in sd):
            fail(f"{a.checkpoint}: {p}* tensors: {why}; not supported")
    dropped, unknown, keep = [], [], {}
    for k, v in sd.items():
        if FAMILY.match(k) and v.is_floating_point():
            keep[k] = v
        elif IGNORABLE.match(k) or any(k.startswith(p) for p in a.drop):
            dropped.append(k)
        else:
            unknown.append(k)
    if unknown:
        fail(f"{a.checkpoint}: tensors outside the face-ViT family: {unknown[:10]}"
             f"{' ...' if len(unknown) > 10 else ''}. If they are training-only extras "
             "(not used by the forward pass), add --drop PREFIX; otherwise this is another "
             "network, which vitnt does not run")
    for k in dropped:
        print(f"dropped {k} {list(sd[k].shape)}")
    if ANCHOR not in keep:
        fail(f"{a.checkpoint}: {ANCHOR} dropped")

    pe = keep[ANCHOR]
    dim, patch = pe.shape[0], pe.shape[2]
    depth = 1 + max(int(k.split(".")[1]) for k in keep if k.startswith("blocks."))
    n = keep["pos_embed"].shape[1]
    if (112 // patch) ** 2 != n:
        fail(f"{a.checkpoint}: pos_embed has {n} tokens, a 112x112 input with patch "
             f"{patch} gives {(112 // patch) ** 2}")
    if a.arch:
        config = json.loads(json.dumps(archs[a.arch]))
        check_shapes(a.arch, config, keep, a.checkpoint)
        config["name"] = a.name or a.arch
    else:
        config = dict(name=a.name or os.path.basename(a.output)[:-len(".safetensors")],
                      img_size=112, patch_size=patch, embed_dim=dim, depth=depth,
                      num_heads=a.heads,
                      mlp_ratio=keep["blocks.0.mlp.fc1.weight"].shape[0] / dim,
                      num_features=(keep["feature.2.weight"].shape[0]
                                    if "feature.2.weight" in keep else 512),
                      vitnt=dict(blocks=[0, int(0.8 * depth)]))
    v = config.setdefault("vitnt", {})
    if a.blocks:
        v["blocks"] = [int(x) for x in a.blocks.split(":")]
    if a.scaling is not None:
        v["scaling"] = a.scaling
    if a.aggregation:
        v["aggregation"] = a.aggregation
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}.get(a.dtype)
    tensors = {k: (t if dt is None else t.to(dt)).contiguous() for k, t in keep.items()}
    st_io.save(a.output, tensors, metadata={"vitnt_config": json.dumps(config),
                                            "converted_from": os.path.basename(a.checkpoint)})
    with open(a.output[:-len(".safetensors")] + ".json", "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {a.output}: {a.arch or 'patch %d, dim %d, depth %d' % (patch, dim, depth)}, "
          f"{len(tensors)} tensors ({a.dtype}), {len(dropped)} dropped"
          f"{', TransFace patch gating kept' if 'senet.0.weight' in keep else ''}")


if __name__ == "__main__":
    main()
