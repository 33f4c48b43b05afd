#!/usr/bin/env bash
# The project's test command: release build + all tests, then an AddressSanitizer +
# UBSan build running them again (the Python module is not built there).
# Needs ../shared (or VITNT_SHARED) for the tests on real images; they say so and are
# skipped when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
# VITNT_QUICK=1 (the fresh-root check): the release build and every test but the
# end-to-end ones that take a minute or more each (the PyTorch reference, long runs,
# installs, videos, servers: see QUICK_SKIP), no ASan build. The host CI runs them all.
QUICK_SKIP='^(cli_score|cli_resume|cli_calibrate|convert_pt|checkpoints|cli_best|capi|python_dask|cli_serve)$'
JOBS=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$JOBS"
if [ -n "${VITNT_QUICK:-}" ]; then
  (cd build && ctest --output-on-failure -j 1 -E "$QUICK_SKIP")
  echo "quick tests passed (not run here: $QUICK_SKIP and the ASan build)"
  exit 0
fi
# the project's sources follow .clang-format
unformatted=$(git ls-files '*.c' '*.cpp' '*.h' | xargs clang-format --dry-run -Werror 2>&1 | grep -c 'error:' || true)
[ "$unformatted" -eq 0 ] || { echo "clang-format: $unformatted places differ (clang-format -i the files)"; \
  git ls-files '*.c' '*.cpp' '*.h' | xargs clang-format --dry-run -Werror 2>&1 | grep 'error:' | cut -d: -f1 | sort -u; exit 1; }
(cd build && ctest --output-on-failure -j 1)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVITNT_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$JOBS" --target vitnt_tests vitnt vitnt_shared
# leak checking off: OpenMP's thread pool keeps allocations alive until exit
(cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --output-on-failure -j 1)
echo "all tests passed"
