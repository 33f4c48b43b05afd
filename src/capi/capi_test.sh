#!/usr/bin/env bash
# The installed C API from outside: `cmake --install` into a temporary prefix; the tree
# (headers, SONAME, exported symbols, pkg-config, CMake package); capi_test.c built with
# gcc -std=c11 -Werror under AddressSanitizer through pkg-config, scoring LFW crops (bytes
# and raw pixels) and raw photos (detection) to the same printed numbers as the CLI; a
# CMake project using find_package(vitnt) in C and C++.
# Usage: capi_test.sh VITNT SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
VITNT=$1 SRC=$2 BUILD=$3 WORK=$4
SHARED=${VITNT_SHARED:-$SRC/../shared}
CROPS=$SHARED/data/lfw112/images
RAW=$SHARED/data/raw
DET=$SHARED/models/yunet_s_640_640.onnx
for need in "$CROPS" "$RAW/lfw" "$RAW/other/group1.jpg" "$RAW/other/coffee.png" "$DET"; do
  if [ ! -e "$need" ]; then
    echo "SKIP: $need missing (set VITNT_SHARED to the shared folder)"; exit 77
  fi
done
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK/out"
cd "$WORK"

# 1. the installed tree
P=$WORK/prefix
cmake --install "$BUILD" --prefix "$P" > install.log || { cat install.log; fail "install"; }
VERSION=$(sed -n 's/^project(vitnt VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
for f in include/vitnt/vitnt_c.h include/vitnt/vitnt.h include/vitnt/face.h lib/libvitnt.so \
         lib/libvitnt.so.0 "lib/libvitnt.so.$VERSION" lib/pkgconfig/vitnt.pc \
         lib/cmake/vitnt/vitntConfig.cmake lib/cmake/vitnt/vitntConfigVersion.cmake \
         lib/cmake/vitnt/vitntTargets.cmake share/vitnt/models/vitnt-s16.safetensors; do
  [ -e "$P/$f" ] || fail "$f not installed"
done
[ "$(readlink "$P/lib/libvitnt.so")" = libvitnt.so.0 ] || fail "libvitnt.so -> libvitnt.so.0 expected"
[ "$(readlink "$P/lib/libvitnt.so.0")" = "libvitnt.so.$VERSION" ] || fail "libvitnt.so.0 link"
readelf -d "$P/lib/libvitnt.so" > dynamic.txt
grep -q 'SONAME.*\[libvitnt\.so\.0\]' dynamic.txt || fail "SONAME"
# A VITNT_SANITIZE build's library needs the sanitizer runtimes first in the process: its
# consumers are built with them too.
SAN=-fsanitize=address
if grep -q 'NEEDED.*libasan' dynamic.txt; then SAN=-fsanitize=address,undefined; fi
# exported: the C API and the public C++ API; no internals (vitnt::io, model, ..., OpenCV)
nm -D --defined-only --demangle "$P/lib/libvitnt.so" | awk '{$1=""; $2=""; print substr($0, 3)}' \
  > exports.txt
grep -q '^vitnt_score_pixels$' exports.txt || fail "vitnt_score_pixels not exported"
grep -q '^vitnt::Model::load' exports.txt || fail "vitnt::Model::load not exported"
bad=$(grep -v -e '^vitnt_' -e '^vitnt::' -e 'for vitnt::Error$' exports.txt |
      grep -v -e '^VITNT_' -e '^_init$' -e '^_fini$' || true)
internal=$(grep -e '^vitnt::io::' -e '^vitnt::model::' -e '^vitnt::quality::' -e '^vitnt::face::' \
           -e '^vitnt::eval::' exports.txt || true)
[ -z "$bad$internal" ] || fail "exported beyond the API: $bad $internal"
echo "installed: $(grep -c . exports.txt) exported symbols, SONAME libvitnt.so.0"
export PKG_CONFIG_PATH=$P/lib/pkgconfig
[ "$(pkg-config --modversion vitnt)" = "$VERSION" ] || fail "pkg-config version"
MODEL=$P/share/vitnt/models/vitnt-s16.safetensors

# 2. inputs: LFW crops (and their pixels as raw RGB), raw LFW photos
find "$CROPS" -name '*.jpg' | sort | sed -n 1,8p > crops.txt  # sed reads all: no SIGPIPE
find "$RAW/lfw" -name '*.jpg' | sort | sed -n 1,3p > photos.txt
/usr/bin/python3 - crops.txt raw.txt <<'PY'
import sys, cv2
with open(sys.argv[2], "w") as out:
    for i, p in enumerate(open(sys.argv[1]).read().split()):
        img = cv2.imread(p, cv2.IMREAD_COLOR)
        assert img.shape == (112, 112, 3), (p, img.shape)
        open(f"crop{i}.rgb", "wb").write(img[..., ::-1].tobytes())
        out.write(f"crop{i}.rgb\n")
PY

# 3. the C program (C11, -Werror, AddressSanitizer) against the installed library
gcc -std=c11 -Wall -Wextra -Werror -g $SAN -fno-omit-frame-pointer \
  "$SRC/src/capi/capi_test.c" $(pkg-config --cflags --libs vitnt) -pthread -lm -o capi_test
LD_LIBRARY_PATH=$P/lib ldd capi_test > ldd.txt
grep -q "libvitnt.so.0 => $P/lib/libvitnt.so.0" ldd.txt || fail "capi_test does not use $P/lib"
# LeakSanitizer is on (ASan's default; it sees the library's allocations too, instrumented
# or not): a handle left unfreed fails the test.
LD_LIBRARY_PATH=$P/lib ./capi_test "$MODEL" "$DET" crops.txt raw.txt photos.txt "$RAW/other/group1.jpg" \
  "$RAW/other/coffee.png" out > capi_test.log 2>&1 || { cat capi_test.log; fail "capi_test"; }
grep '^expected error' capi_test.log
# bf16 where oneDNN cannot run it (forced here with ONEDNN_MAX_CPU_ISA, whatever the CPU)
ONEDNN_MAX_CPU_ISA=AVX2 LD_LIBRARY_PATH=$P/lib ./capi_test --bf16-refused "$MODEL" > bf16.log 2>&1 ||
  { cat bf16.log; fail "bf16 on AVX2: not refused with VITNT_ERR_UNSUPPORTED"; }
cat bf16.log

# 4. the same numbers as the CLI, bit for bit as printed (%.9g)
same() {  # same CLI_CSV C_CSV WHAT
  tail -n +2 "$1" > "$1.rows"
  if ! cmp -s "$1.rows" "$2"; then
    diff "$1.rows" "$2" > "$2.diff" || true
    cut -c1-160 "$2.diff" | sed -n 1,4p
    fail "$3 differ from the CLI's (diff: $WORK/$2.diff)"
  fi
  echo "equal to the CLI: $3 ($(wc -l < "$2") rows)"
}
"$VITNT" score --model "$MODEL" --embedding --patch-map -o cli_full.csv @crops.txt 2> cli.log
same cli_full.csv out/bytes.csv "quality, embedding, patch map of encoded crops"
same cli_full.csv out/pixels.csv "quality, embedding, patch map of raw-pixel crops"
"$VITNT" score --model "$MODEL" --blocks 1:9 --scaling 5 --aggregation uniform \
  -o cli_over.csv @crops.txt 2>> cli.log
cut -d, -f2 cli_over.csv > cli_over.q
cut -d, -f2 out/overrides.csv > c_over.q
tail -n +2 cli_over.q | cmp -s - c_over.q || fail "qualities with block/scaling/aggregation overrides"
echo "equal to the CLI: qualities with --blocks 1:9 --scaling 5 --aggregation uniform"
"$VITNT" score --model "$MODEL" --detect --detector-model "$DET" -o cli_detect.csv \
  @photos.txt 2>> cli.log
same cli_detect.csv out/detect.csv "detected faces of raw LFW photos (quality, box, det_score)"
"$VITNT" align --detector-model "$DET" -o aligned @photos.txt 2>> cli.log
cut -f1,2,4-18 aligned/manifest.tsv | tail -n +2 > aligned/detections.tsv
cmp -s aligned/detections.tsv out/detect.tsv ||
  { cut -c1-160 out/detect.tsv; fail "detections differ from vitnt align's manifest"; }
echo "equal to vitnt align's manifest: detection score, box, landmarks ($(wc -l < out/detect.tsv) photos)"
"$VITNT" score --model "$MODEL" --detect --detector-model "$DET" --faces all \
  -o cli_group.csv "$RAW/other/group1.jpg" 2>> cli.log
same cli_group.csv out/group.csv "every face of a group photo"

# 5. a CMake project: find_package(vitnt) -> vitnt::vitnt, from C and from C++
mkdir -p consumer
cat > consumer/CMakeLists.txt <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(vitnt_consumer C CXX)
find_package(vitnt 0.1 REQUIRED)
add_executable(c_consumer main.c)
target_link_libraries(c_consumer PRIVATE vitnt::vitnt)
add_executable(cxx_consumer main.cpp)
target_compile_features(cxx_consumer PRIVATE cxx_std_17)
target_link_libraries(cxx_consumer PRIVATE vitnt::vitnt)
EOF
cat > consumer/main.c <<'EOF'
#include <stdio.h>
#include <vitnt/vitnt_c.h>
int main(int argc, char** argv) {
  vitnt_model* m = vitnt_model_load(argv[1], NULL, NULL);
  vitnt_result* r = m ? vitnt_score_file(m, argv[2], NULL, NULL) : NULL;
  if (!r) return fprintf(stderr, "%s\n", vitnt_last_error()), 1;
  printf("%s,%.9g\n", argv[2], vitnt_face_quality(r, 0));
  vitnt_result_free(r);
  vitnt_model_free(m);
  return argc == 3 ? 0 : 1;
}
EOF
cat > consumer/main.cpp <<'EOF'
// The C++ API through libvitnt.so: a crop's raw RGB pixels, and vitnt::Error across it.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vitnt/vitnt.h>
int main(int, char** argv) {
  try {
    vitnt::Model::load("/nonexistent.safetensors");
    return 1;
  } catch (const vitnt::Error& e) {
    std::fprintf(stderr, "caught vitnt::Error: %s\n", e.what());
  }
  const vitnt::Model model = vitnt::Model::load(argv[1]);
  std::ifstream f(argv[3], std::ios::binary);
  const std::vector<uint8_t> rgb((std::istreambuf_iterator<char>(f)), {});
  const auto s = model.score({{rgb.data(), 112, 112, 0, vitnt::ChannelOrder::RGB}});
  std::printf("%s,%.9g\n", argv[2], s[0].quality);
}
EOF
CONSUMER_FLAGS=
if [ "$SAN" != -fsanitize=address ]; then CONSUMER_FLAGS=$SAN; fi
cmake -S consumer -B consumer/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$P" \
  -DCMAKE_C_FLAGS="$CONSUMER_FLAGS" -DCMAKE_CXX_FLAGS="$CONSUMER_FLAGS" \
  > consumer.log 2>&1 && ninja -C consumer/build >> consumer.log 2>&1 ||
  { cat consumer.log; fail "the find_package(vitnt) project does not build"; }
first=$(head -1 crops.txt)
consumer/build/c_consumer "$MODEL" "$first" > consumer_c.csv || fail "c_consumer"
consumer/build/cxx_consumer "$MODEL" "$first" crop0.rgb > consumer_cxx.csv 2> consumer_cxx.err ||
  { cat consumer_cxx.err; fail "cxx_consumer"; }
grep -q 'caught vitnt::Error: .*nonexistent' consumer_cxx.err || fail "vitnt::Error not caught"
sed -n 2p cli_full.csv | cut -d, -f1,2 > cli_first.csv
cmp -s consumer_c.csv cli_first.csv || fail "C consumer: $(cat consumer_c.csv) vs $(cat cli_first.csv)"
cmp -s consumer_cxx.csv cli_first.csv || fail "C++ consumer: $(cat consumer_cxx.csv)"
echo "find_package(vitnt): C and C++ consumers built and score like the CLI: $(cat consumer_c.csv)"
echo "PASS"
