#!/usr/bin/env bash
# The project's test command: release build + all tests, then an AddressSanitizer +
# UBSan build running them again (the Python module is not built there).
# Needs ../shared (or VITNT_SHARED) for the tests on real images; they say so and are
# skipped when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
# VITNT_QUICK=1 (the fresh-root check): the release build and every test but those that
# take minutes there (cli_score, cli_resume: the PyTorch reference on 30 crops and four
# 1,000-image runs), no ASan build.
JOBS=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$JOBS"
if [ -n "${VITNT_QUICK:-}" ]; then
  (cd build && ctest --output-on-failure -j 1 -E '^(cli_score|cli_resume)$')
  echo "quick tests passed (cli_score, cli_resume and the ASan build not run)"
  exit 0
fi
(cd build && ctest --output-on-failure -j 1)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVITNT_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS" --target vitnt_tests vitnt vitnt_shared
# leak checking off: OpenMP's thread pool keeps allocations alive until exit
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure -j 1)
echo "all tests passed"
