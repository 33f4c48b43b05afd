#!/usr/bin/env bash
# tools/convert_pt.py on synthetic insightface/TransFace-style .pt files: the
# converted model loads in vitnt and scores exactly like the reference.
# Usage: convert_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
"$PY" - "$SRC" "$WORK" <<'PY'
import sys, torch, cv2, numpy as np
sys.path.insert(0, sys.argv[1] + "/tools/reference")
import facevit
w = sys.argv[2]
torch.manual_seed(0)
# insightface vit_t shape, shrunk in depth: patch 9, 144 tokens, 256 dim, 8 heads
m = facevit.randomize(facevit.FaceViT(112, 9, 256, 3, 8, 4.0, 512), seed=5)
sd = {"module." + k: v for k, v in m.state_dict().items()}
sd["module.mask_token"] = torch.zeros(1, 1, 256)
torch.save({"state_dict": sd, "epoch": 3}, f"{w}/insightface.pt")
sd2 = dict(m.state_dict()); sd2["feature_weight.weight"] = torch.zeros(144, 256)
torch.save(sd2, f"{w}/transface.pt")
rng = np.random.default_rng(0)
for i in range(3):
    cv2.imwrite(f"{w}/img{i}.png", rng.integers(0, 255, (112, 112, 3), dtype=np.uint8))
PY
"$PY" "$SRC/tools/convert_pt.py" "$WORK/insightface.pt" "$WORK/a.safetensors" --heads 8 --dtype f32 --blocks 0:2 | tee "$WORK/log.txt"
grep -q "dropped mask_token" "$WORK/log.txt" || fail "mask_token drop not listed"
# unknown extras stop the conversion, --drop lets them go (listed)
if "$PY" "$SRC/tools/convert_pt.py" "$WORK/transface.pt" "$WORK/b.safetensors" --heads 8 2> "$WORK/err.txt"; then
  fail "unknown tensor accepted silently"
fi
grep -q "feature_weight.weight" "$WORK/err.txt" || fail "unknown tensor not named"
"$PY" "$SRC/tools/convert_pt.py" "$WORK/transface.pt" "$WORK/b.safetensors" --heads 8 --drop feature_weight > "$WORK/log2.txt"
grep -q "dropped feature_weight.weight" "$WORK/log2.txt" || fail "drop not listed"
# no --arch / --model-config needed: the description is embedded
"$VITNT" score --model "$WORK/a.safetensors" --patch-map --embedding --format jsonl -o "$WORK/ours.jsonl" "$WORK"/img*.png
"$PY" "$SRC/tools/reference/reference_score.py" --config "$WORK/a.json" --weights "$WORK/a.safetensors" \
  --output "$WORK/ref.jsonl" "$WORK"/img*.png
"$PY" - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
o = [json.loads(l) for l in open(f"{w}/ours.jsonl")]
r = [json.loads(l) for l in open(f"{w}/ref.jsonl")]
assert len(o) == len(r) == 3
for a, b in zip(o, r):
    assert abs(a["quality"] - b["quality"]) < 1e-5, (a["quality"], b["quality"])
    assert max(abs(x - y) for x, y in zip(a["embedding"], b["embedding"])) < 1e-4
print("converted model matches the reference")
PY
# the converter reads the shipped descriptions from the file vitnt compiles in
for arch in $("$VITNT" info --json | "$PY" -c "import json,sys; print(' '.join(json.load(sys.stdin)['builtin_archs']))"); do
  "$VITNT" info --arch "$arch" --print-config > "$WORK/shipped.json"
  "$PY" - "$SRC" "$arch" "$WORK/shipped.json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1] + "/tools")
import convert_pt
d, shipped = convert_pt.shipped_archs()[sys.argv[2]], json.load(open(sys.argv[3]))
for k in ("patch_size", "embed_dim", "depth", "num_heads", "mlp_ratio", "num_features"):
    assert float(d[k]) == float(shipped[k]), (sys.argv[2], k)
assert d["vitnt"]["blocks"] == shipped["vitnt"]["blocks"], sys.argv[2]
PY
done
echo "convert: OK"
