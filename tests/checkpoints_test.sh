#!/usr/bin/env bash
# Real checkpoint layouts end to end, through the README's own commands ("Real
# checkpoints"): CVLface's Hugging Face model.safetensors as downloaded (model.net.*,
# I64 counters, {"format": "pt"}) scored with --arch; its pretrained_model/model.pt,
# arcface_torch's model.pt and training checkpoint (state_dict_backbone) and TransFace's
# model.pt (patch gating) through tools/convert_pt.py with no flag but --arch; each
# against the reference (tools/reference/make_upstream_fixtures.py) in F32. Also: the
# authors' BGR run, KP-RPE refused, the errors a user meets.
# Usage: checkpoints_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
LFW=$SHARED/data/lfw112/images
[ -d "$LFW" ] || { echo "SKIP: $LFW missing (set VITNT_SHARED to the shared folder)"; exit 77; }
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
F=$WORK/fixtures
find "$LFW" -name '*.jpg' | sort | awk 'NR % 700 == 1' | head -10 > "$WORK/images.txt"
"$PY" "$SRC/tools/reference/make_upstream_fixtures.py" "$F" $(cat "$WORK/images.txt")
CONVERT=("$PY" "$SRC/tools/convert_pt.py")
score() {  # score OUT.jsonl ARGS...: quality + embedding of the 10 images
  local out=$1; shift
  "$VITNT" score --threads 2 --embedding --format jsonl -o "$out" "$@" "@$WORK/images.txt" \
    2> "$out.log" || { cat "$out.log"; fail "vitnt score $*"; }
}
compare() {  # compare OUT.jsonl REFERENCE_KEY WHAT [TOLERANCE]
  "$PY" - "$1" "$F/reference.json" "$2" "$3" "${4:-1e-6}" <<'PY'
import json, sys
import numpy as np
ours = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))[sys.argv[3]]
q = np.array([o["quality"] for o in ours]); rq = np.array(ref["quality"])
e = np.array([o["embedding"] for o in ours]); re_ = np.array(ref["embedding"])
dq = np.max(np.abs(q - rq) / np.abs(rq))
de = np.max(np.linalg.norm(e - re_, axis=1) / np.linalg.norm(re_, axis=1))
cos = np.min(np.sum(e * re_, 1) / np.linalg.norm(e, axis=1) / np.linalg.norm(re_, axis=1))
print(f"{sys.argv[4]}: max relative error vs the float64 reference: Q {dq:.1e}, "
      f"embedding {de:.1e} (min cosine {cos:.9f})")
# F32: Q to 1e-6 relative; the embedding (a 100,352-term dot product in F32) to 1e-5
tol = float(sys.argv[5])
if not (dq < tol and de < 10 * tol):
    sys.exit(f"FAIL: {sys.argv[4]} differs from the reference")
PY
}

# 1. CVLface's Hugging Face file, as downloaded: --arch cvlface-vit-b
score "$WORK/cvl_hf.jsonl" --model "$F/cvlface/model.safetensors" --arch cvlface-vit-b
compare "$WORK/cvl_hf.jsonl" cvlface "CVLface model.safetensors --arch cvlface-vit-b"
"$VITNT" info --model "$F/cvlface/model.safetensors" --arch cvlface-vit-b > "$WORK/info.txt"
grep -q "prefix stripped: 'model.net.'" "$WORK/info.txt" || fail "info does not report the prefix: $(cat "$WORK/info.txt")"
grep -q "feature.1.num_batches_tracked" "$WORK/info.txt" || fail "info does not list the counters"
# ... and the authors' published run (BGR fed to CVLface): the shipped BGR description
score "$WORK/cvl_bgr.jsonl" --model "$F/cvlface/model.safetensors" --arch cvlface-vit-b-authors-bgr
compare "$WORK/cvl_bgr.jsonl" cvlface_bgr_input "CVLface --arch cvlface-vit-b-authors-bgr (BGR input)"

# 2. the converter, no flag but --arch: equal to --arch scoring, bit for bit
for src in "$F/cvlface/pretrained_model/model.pt" "$F/cvlface/model.safetensors"; do
  "${CONVERT[@]}" "$src" "$WORK/cvl_conv.safetensors" --arch cvlface-vit-b > "$WORK/conv.log"
  score "$WORK/cvl_conv.jsonl" --model "$WORK/cvl_conv.safetensors"
  cmp "$WORK/cvl_conv.jsonl" "$WORK/cvl_hf.jsonl" || fail "$src converted scores otherwise than --arch"
done
echo "ok: CVLface model.pt and model.safetensors converted = --arch cvlface-vit-b, bit for bit"
"${CONVERT[@]}" "$F/insightface/model.pt" "$WORK/if.safetensors" --arch insightface-vit-t | tee "$WORK/if.log"
grep -q "dropped mask_token" "$WORK/if.log" || fail "mask_token drop not listed"
score "$WORK/if.jsonl" --model "$WORK/if.safetensors"
compare "$WORK/if.jsonl" insightface "arcface_torch model.pt converted"
"${CONVERT[@]}" "$F/insightface/checkpoint_gpu_0.pt" "$WORK/ifc.safetensors" --arch insightface-vit-t > /dev/null
score "$WORK/ifc.jsonl" --model "$WORK/ifc.safetensors"
cmp "$WORK/if.jsonl" "$WORK/ifc.jsonl" || fail "state_dict_backbone checkpoint differs from model.pt"
"${CONVERT[@]}" "$F/transface/model.pt" "$WORK/tf.safetensors" --arch insightface-vit-t > /dev/null
score "$WORK/tf.jsonl" --model "$WORK/tf.safetensors"
compare "$WORK/tf.jsonl" transface "TransFace model.pt converted (patch gating in the embedding)"
# F16 on request: the error it costs (README quotes it)
"${CONVERT[@]}" "$F/cvlface/model.safetensors" "$WORK/cvl16.safetensors" --arch cvlface-vit-b --dtype f16 > /dev/null
score "$WORK/cvl16.jsonl" --model "$WORK/cvl16.safetensors"
compare "$WORK/cvl16.jsonl" cvlface "CVLface converted to F16 (on request)" 1e-2

# 3. refusals and errors, each naming the file and the problem
set +e
"$VITNT" score --model "$F/cvlface/kprpe_model.safetensors" --arch cvlface-vit-s -o "$WORK/x.csv" \
  $(head -1 "$WORK/images.txt") 2> "$WORK/e1.txt"; r1=$?
"${CONVERT[@]}" "$F/cvlface/kprpe_model.safetensors" "$WORK/k.safetensors" --arch cvlface-vit-s 2> "$WORK/e2.txt"; r2=$?
"${CONVERT[@]}" "$F/insightface/model.pt" "$WORK/no/such/dir/o.safetensors" --arch insightface-vit-t 2> "$WORK/e3.txt"; r3=$?
set -e
[ $r1 -eq 1 ] && grep -q "KP-RPE" "$WORK/e1.txt" || fail "KP-RPE not refused by vitnt: rc $r1 $(cat "$WORK/e1.txt")"
[ $r2 -ne 0 ] && grep -q "KP-RPE" "$WORK/e2.txt" && ! grep -q -- "--drop" "$WORK/e2.txt" ||
  fail "KP-RPE: converter rc $r2, $(cat "$WORK/e2.txt")"
[ $r3 -ne 0 ] && grep -q "does not exist" "$WORK/e3.txt" && ! grep -q Traceback "$WORK/e3.txt" ||
  fail "missing output folder: rc $r3, $(cat "$WORK/e3.txt")"
# a file whose names match nothing: which prefixes it has
"$PY" - "$SRC" "$WORK/other.safetensors" <<'PY'
import sys, torch
sys.path.insert(0, sys.argv[1] + "/tools/reference")
import st_io
st_io.save(sys.argv[2], {"encoder.layer.0.weight": torch.zeros(4, 4), "head.weight": torch.zeros(2, 4)})
PY
set +e
"$VITNT" score --model "$WORK/other.safetensors" --arch cvlface-vit-b -o "$WORK/x.csv" \
  $(head -1 "$WORK/images.txt") 2> "$WORK/e4.txt"; r4=$?
set -e
[ $r4 -eq 1 ] && grep -q "'encoder.'" "$WORK/e4.txt" && grep -q "model.net." "$WORK/e4.txt" ||
  fail "unmatched names: rc $r4, $(cat "$WORK/e4.txt")"
echo "checkpoints: OK"
