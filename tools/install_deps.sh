#!/usr/bin/env bash
# Every Debian 12 package the project needs: build, tests, tools, documented benchmarks.
# Named explicitly and installed without recommends, so a clean machine gets exactly this
# list (CI proves it on a fresh Debian root: tools/fresh_root_check.sh). Run as root.
# VITNT_SKIP_PACKAGES="pkg ..." leaves packages out (used once to show the fresh-root
# check fails when one is missing).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

packages=(
  # build
  build-essential cmake ninja-build pkg-config git ca-certificates
  libdnnl-dev
  ocl-icd-opencl-dev  # oneDNN's dnnl-config.cmake calls find_package(OpenCL); only a Recommends of libdnnl-dev
  libopencv-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  # tests
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2  # ss: the serve test reads the listen backlog
  pybind11-dev python3-dev
  # Python side: reference, tools, distillation, bindings' tests
  python3-torch python3-opencv python3-numpy python3-scipy python3-matplotlib
  python3-pandas python3-distributed python3-yaml python3-jsonschema
  libopenblas0-pthread  # otherwise torch/numpy use the reference BLAS (30-50x slower)
  # tools and benchmarks: videos, HTTP load, report screenshots
  ffmpeg wrk chromium
  clang-format  # tools/run_tests.sh checks the sources' format
  nodejs  # the page's browser test (tests/browser_test.sh runs npm ci there: playwright-core)
)
# npm: Debian's package, unless an npm is already there (NodeSource's nodejs bundles one and
# conflicts with Debian's npm package)
command -v npm >/dev/null || packages+=(npm)
if [ -n "${VITNT_SKIP_PACKAGES:-}" ]; then
  kept=()
  for p in "${packages[@]}"; do
    case " $VITNT_SKIP_PACKAGES " in *" $p "*) echo "install_deps: leaving out $p" ;; *) kept+=("$p") ;; esac
  done
  packages=("${kept[@]}")
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install_deps: ${#packages[@]} packages present"
