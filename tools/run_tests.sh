#!/usr/bin/env bash
# The project's test command: release build + all tests, then an AddressSanitizer +
# UBSan build running them again (the Python module is not built there).
# Needs ../shared (or VITNT_SHARED) for the tests on real images; they say so and are
# skipped when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$JOBS"
(cd build && ctest --output-on-failure -j 1)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVITNT_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS" --target vitnt_tests vitnt
# leak checking off: OpenMP's thread pool keeps allocations alive until exit
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure -j 1)
echo "all tests passed"
