#!/usr/bin/env bash
# The fresh-machine check (CI runs it): a minimal Debian 12 root made now with mmdebstrap
# (variant minbase), its package sources taken from this machine's apt configuration; a
# clean clone of the project (HEAD) and ../shared copied in; then the README's two
# commands, as a new user runs them:
#   1. bash tools/quickstart.sh            -- completely (install_deps, build, score LFW)
#   2. VITNT_QUICK=1 bash tools/run_tests.sh -- the release build and every test but the
#      few that take minutes (see run_tests.sh); the full run is the host CI's.
# Nothing is kept between runs: the root lives in a temporary folder removed at the end.
# Usage (as root): tools/fresh_root_check.sh
#   VITNT_SKIP_PACKAGES="pkg ..."  leave packages out of install_deps inside the root
#                                  (shows the check fails when one is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
SHARED=$(readlink -f "${VITNT_SHARED:-../shared}")
[ -d "$SHARED/data" ] || { echo "fresh_root_check: $SHARED/data missing (set VITNT_SHARED)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "fresh_root_check: needs root (mmdebstrap, chroot)"; exit 1; }
export DEBIAN_FRONTEND=noninteractive
command -v mmdebstrap >/dev/null ||
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }

# This machine's Debian sources, whatever they are (no repository host is written here).
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && grep -q "debian" "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { echo "fresh_root_check: no Debian apt sources on this machine"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vitnt-fresh.XXXXXX")
ROOT=$WORK/root
trap 'rm -rf --one-file-system "$WORK"' EXIT
t0=$(date +%s)
step() { echo "== fresh root: $* ($(( $(date +%s) - t0 )) s)"; }

step "mmdebstrap bookworm (minbase) from ${sources[*]}"
mmdebstrap --quiet --variant=minbase bookworm "$ROOT" "${sources[@]}"

step "clean clone of $(git rev-parse --short HEAD) and ../shared"
mkdir -p "$ROOT/work"
git clone --quiet --no-hardlinks "$SRC" "$ROOT/work/main"
cp -a "$SHARED" "$ROOT/work/shared"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

# The two commands, as root in the new system. A private mount namespace: /dev, /proc,
# /sys and /dev/shm exist inside and vanish with it.
step "README command 1 and 2 inside the root"
unshare --mount --fork /bin/bash -euc '
  R=$1; shift
  mount --rbind /dev "$R/dev"; mount -t proc proc "$R/proc"; mount -t sysfs sys "$R/sys"
  mount -t tmpfs shm "$R/dev/shm"
  exec chroot "$R" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    VITNT_SKIP_PACKAGES="$1" /bin/bash -euc "
      cd /work/main
      bash tools/quickstart.sh > /tmp/quickstart.log 2>&1 || { tail -40 /tmp/quickstart.log; exit 1; }
      tail -8 /tmp/quickstart.log
      test \$(wc -l < scores.csv) -eq 7702 || { echo \"scores.csv: \$(wc -l < scores.csv) lines\"; exit 1; }
      VITNT_QUICK=1 bash tools/run_tests.sh"
' _ "$ROOT" "${VITNT_SKIP_PACKAGES:-}"
step "passed"
