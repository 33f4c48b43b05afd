#!/usr/bin/env bash
# `vitnt extract-bin` end to end: the real insightface small_lfw.bin; .bin files Python
# writes from LFW crops in the standard layout (protocols 2 and 4; bytes, numpy arrays of
# the JPEG bytes, numpy pixel arrays) round-trip; a hostile pickle is refused without
# running it; cut and lying files fail cleanly; score and eval work on the output.
# Usage: cli_extract_bin_test.sh VITNT PYTHON SOURCE_DIR WORK_DIR
set -euo pipefail
VITNT=$1 PY=$2 SRC=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
for need in "$SHARED/data/bin/small_lfw.bin" "$SHARED/data/lfw112/pairs.txt"; do
  [ -e "$need" ] || { echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77; }
done
rm -rf "$WORK" && mkdir -p "$WORK"
fail() { echo "FAIL: $*"; exit 1; }
# a command that must fail with exit code 1 (not a crash) and say $2
refused() {
  local out=$1 expect=$2; shift 2
  set +e; "$@" > "$WORK/stdout.txt" 2> "$out"; local rc=$?; set -e
  [ $rc -eq 1 ] || fail "exit code $rc (expected 1) for $*: $(cat "$out")"
  grep -qF -- "$expect" "$out" || fail "expected '$expect' in: $(cat "$out")"
}

# 1. the real file: 20 JPEGs, 10 genuine pairs; vitnt score reads the images
"$VITNT" extract-bin "$SHARED/data/bin/small_lfw.bin" -o "$WORK/small"
[ "$(ls "$WORK/small/images" | wc -l)" = 20 ] || fail "expected 20 images"
[ "$(head -1 "$WORK/small/pairs.csv")" = "a,b,genuine,fold" ] || fail "pairs.csv header"
[ "$(grep -c ',1,[0-9]$' "$WORK/small/pairs.csv")" = 10 ] || fail "expected 10 genuine rows"
grep -q '^images/00018.jpg,images/00019.jpg,1,9$' "$WORK/small/pairs.csv" || fail "pair 9"
"$VITNT" score -o "$WORK/small_scores.csv" "$WORK/small/images"
[ "$(tail -n +2 "$WORK/small_scores.csv" | wc -l)" = 20 ] || fail "score: expected 20 rows"
"$PY" - "$SHARED/data/bin/small_lfw.bin" "$WORK/small" <<'PY'
import pickle, sys, cv2, numpy as np
# the file is trusted test data in ../shared; this only checks our bytes against it
bins, issame = pickle.load(open(sys.argv[1], "rb"), encoding="bytes")
for i, b in enumerate(bins):
    mine = open(f"{sys.argv[2]}/images/{i:05d}.jpg", "rb").read()
    assert mine == bytes(b), i
    assert cv2.imdecode(np.frombuffer(mine, np.uint8), cv2.IMREAD_COLOR).shape == (112, 112, 3)
print("small_lfw.bin: 20 images identical to the pickled bytes, all decode")
PY

# 2. files in the standard layout from 24 LFW crops: 12 pairs (genuine and impostor)
sed -n 2,7p "$SHARED/data/lfw112/pairs.txt" > "$WORK/gen.txt"
sed -n 302,307p "$SHARED/data/lfw112/pairs.txt" > "$WORK/imp.txt"
"$PY" - "$SHARED/data/lfw112/images" "$WORK" <<'PY'
import pickle, sys, os, numpy as np, cv2
root, w = sys.argv[1], sys.argv[2]
paths, issame = [], []
for line in open(f"{w}/gen.txt"):
    n, i, j = line.split()
    paths += [f"{root}/{n}/{n}_{int(i):04d}.jpg", f"{root}/{n}/{n}_{int(j):04d}.jpg"]
    issame.append(True)
for line in open(f"{w}/imp.txt"):
    a, i, b, j = line.split()
    paths += [f"{root}/{a}/{a}_{int(i):04d}.jpg", f"{root}/{b}/{b}_{int(j):04d}.jpg"]
    issame.append(False)
order = [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]  # interleave genuine and impostor pairs
paths = [p for k in order for p in paths[2 * k:2 * k + 2]]
issame = [issame[k] for k in order]
jpeg = [open(p, "rb").read() for p in paths]
rgb = [cv2.imread(p)[..., ::-1].copy() for p in paths]
open(f"{w}/truth_paths.txt", "w").write("\n".join(paths) + "\n")
open(f"{w}/truth_issame.txt", "w").write("".join("1" if s else "0" for s in issame) + "\n")
kinds = {
    "bytes": jpeg,
    "npbytes": [np.frombuffer(b, np.uint8) for b in jpeg],  # as insightface writes them
    "pixels": rgb,
}
for kind, bins in kinds.items():
    for proto in (2, 4):
        with open(f"{w}/{kind}_p{proto}.bin", "wb") as f:
            pickle.dump((bins, issame), f, protocol=proto)
# issame as a numpy bool array and as numpy bool scalars
pickle.dump((jpeg, np.array(issame)), open(f"{w}/npissame_p4.bin", "wb"), protocol=4)
pickle.dump((jpeg, [np.bool_(s) for s in issame]), open(f"{w}/npscalar_p2.bin", "wb"), protocol=2)
PY
for f in bytes_p2 bytes_p4 npbytes_p2 npbytes_p4 pixels_p2 pixels_p4 npissame_p4 npscalar_p2; do
  "$VITNT" extract-bin "$WORK/$f.bin" -o "$WORK/x_$f" > /dev/null
done
"$PY" - "$WORK" <<'PY'
import csv, sys, cv2, numpy as np
w = sys.argv[1]
paths = open(f"{w}/truth_paths.txt").read().split()
issame = [c == "1" for c in open(f"{w}/truth_issame.txt").read().strip()]
n = len(issame)
for f in "bytes_p2 bytes_p4 npbytes_p2 npbytes_p4 pixels_p2 pixels_p4 npissame_p4 npscalar_p2".split():
    d = f"{w}/x_{f}"
    rows = list(csv.DictReader(open(f"{d}/pairs.csv")))
    assert len(rows) == n, f
    ext = "png" if f.startswith("pixels") else "jpg"
    for i, r in enumerate(rows):
        assert r["a"] == f"images/{2 * i:05d}.{ext}" and r["b"] == f"images/{2 * i + 1:05d}.{ext}", (f, r)
        assert (r["genuine"] == "1") == issame[i], (f, i)
        assert int(r["fold"]) == i * 10 // n, (f, i)
    for k, p in enumerate(paths):
        mine = f"{d}/images/{k:05d}.{ext}"
        if ext == "jpg":
            assert open(mine, "rb").read() == open(p, "rb").read(), (f, k)
        else:  # pixel arrays (RGB) -> PNG: the same pixels
            assert np.array_equal(cv2.imread(mine), cv2.imread(p)), (f, k)
print("round trips: bytes / numpy bytes / numpy pixels at protocols 2 and 4, numpy issame")
PY
# the output works with score and eval unchanged
"$VITNT" score -o "$WORK/x_scores.csv" "$WORK/x_bytes_p4/images"
"$VITNT" eval --pairs "$WORK/x_bytes_p4/pairs.csv" --images-root "$WORK/x_bytes_p4" \
  -q vitnt="$WORK/x_scores.csv" --fmr 0.1 --no-report -o "$WORK/x_eval" > "$WORK/eval_log.txt"
grep -q "12 pairs (6 genuine, 6 impostor)" "$WORK/eval_log.txt" || fail "eval: $(cat "$WORK/eval_log.txt")"

# 3. a hostile pickle is refused and never run: no MARKER appears
"$PY" - "$WORK" <<'PY'
import os, pickle, sys
w = sys.argv[1]
class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {w}/MARKER",))
for proto in (2, 4):
    pickle.dump(([Evil(), b"x"], [True]), open(f"{w}/evil_p{proto}.bin", "wb"), protocol=proto)
PY
refused "$WORK/err.txt" "evil_p2.bin: offset 6: opcode GLOBAL (0x63): refused global 'posix.system'" \
  "$VITNT" extract-bin "$WORK/evil_p2.bin" -o "$WORK/evil2"
refused "$WORK/err.txt" "refused global 'posix.system'" "$VITNT" extract-bin "$WORK/evil_p4.bin" -o "$WORK/evil4"
grep -q "STACK_GLOBAL" "$WORK/err.txt" || fail "protocol 4: $(cat "$WORK/err.txt")"
[ ! -e "$WORK/MARKER" ] || fail "the hostile pickle was executed"
[ ! -e "$WORK/evil2/pairs.csv" ] || fail "output written for a refused file"

# 4. cut and lying files fail cleanly, naming the file
head -c 60000 "$SHARED/data/bin/small_lfw.bin" > "$WORK/cut.bin"
refused "$WORK/err.txt" "cut.bin: offset " "$VITNT" extract-bin "$WORK/cut.bin" -o "$WORK/cut"
grep -q "remain in the file\|ends before the STOP" "$WORK/err.txt" || fail "$(cat "$WORK/err.txt")"
# the first image's BINBYTES (offset 151) declares 2 GB
"$PY" -c "
import sys; b = bytearray(open(sys.argv[1], 'rb').read()); assert b[151] == ord('B')
b[152:156] = (0x7fffffff).to_bytes(4, 'little'); open(sys.argv[2], 'wb').write(b)" \
  "$SHARED/data/bin/small_lfw.bin" "$WORK/liar.bin"
refused "$WORK/err.txt" "liar.bin: offset 151: opcode BINBYTES (0x42): declares 2147483647 bytes" \
  "$VITNT" extract-bin "$WORK/liar.bin" -o "$WORK/liar"
refused "$WORK/err.txt" "small/images: not empty" "$VITNT" extract-bin "$SHARED/data/bin/small_lfw.bin" -o "$WORK/small"
refused "$WORK/err.txt" "missing.bin: cannot open" "$VITNT" extract-bin "$WORK/missing.bin" -o "$WORK/m"
echo "cli_extract_bin: OK"
