#!/usr/bin/env bash
# Debian 12 packages the project needs (build, tests, tooling). Run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config \
  libdnnl-dev libopencv-dev nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev \
  pybind11-dev python3-dev \
  python3-torch python3-opencv python3-numpy python3-scipy python3-matplotlib \
  python3-pandas python3-distributed >/dev/null
