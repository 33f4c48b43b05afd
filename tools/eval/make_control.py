#!/usr/bin/env python3
"""The random-initialisation control for a bundled model, without a training checkpoint.

  make_control.py [--model models/vitnt-s16.safetensors] --out runs/vitnt-s16-init.safetensors

Reproduces the `--control` branch of tools/distill/distill.py `cmd_export`: the student
architecture (STUDENT there, the bundled vitnt-s16) built right after
torch.manual_seed(0) -- the same initial weights `train` starts from -- its state dict
in fp16 without the num_batches_tracked counters, and the model's own `vitnt_config`
(so the control is scored with the model's ViTNT settings) plus a note in the metadata.
"""
import argparse
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import torch_env  # noqa: E402,F401  (before torch)
import torch  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import facevit  # noqa: E402
import st_io  # noqa: E402

STUDENT = dict(img_size=112, patch_size=16, embed_dim=192, depth=12, num_heads=6,
               mlp_ratio=3.0, num_features=512)  # = distill.py STUDENT (v1, vitnt-s16)


def metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(HERE, "..", "..", "models", "vitnt-s16.safetensors"))
    p.add_argument("--out", required=True)
    a = p.parse_args()
    config = json.loads(metadata(a.model)["vitnt_config"])
    config.pop("calibration", None)  # a fit of the trained model's Q, not the control's
    student = {k: config[k] for k in STUDENT}
    if student != STUDENT:
        sys.exit(f"{a.model}: architecture {student} is not the vitnt-s16 student {STUDENT}")
    torch.manual_seed(0)  # as distill.py cmd_export --control
    init = facevit.FaceViT(**STUDENT).state_dict()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    st_io.save(a.out, {k: v.to(torch.float16) for k, v in init.items()
                       if not k.endswith("num_batches_tracked")},
               metadata={"vitnt_config": json.dumps(config), "note": "random init control"})
    print(f"random-initialisation control with the settings of {a.model}: {a.out}")


if __name__ == "__main__":
    main()
