#!/usr/bin/env bash
# Builds nyinit (native/init/nyinit.c), the device's PID 1: a static binary in build/init/<arch>/nyinit.
# usage: scripts/build-init.sh host|armhf|arm64
# Static, so it needs nothing from the root filesystem (no libc lookup before /data is mounted).
set -euo pipefail

arch=${1:-}
case "$arch" in
  host) triplet= cc=${CC:-cc} ;;
  armhf) triplet=arm-linux-gnueabihf cc=$triplet-gcc debarch=armhf ;;
  arm64) triplet=aarch64-linux-gnu cc=$triplet-gcc debarch=arm64 ;;
  *) echo "usage: $0 host|armhf|arm64" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
# The cross gcc only recommends its libc (apt-deps.sh installs without recommends): name it.
if [[ -n $triplet ]]; then
  "$repo/scripts/apt-deps.sh" "gcc-$triplet" "libc6-dev-$debarch-cross"
fi

src=$repo/native/init/nyinit.c
out=$repo/build/init/$arch
mkdir -p "$out"
"$cc" -std=c11 -static -Os -Wall -Wextra -Werror -s -o "$out/nyinit.tmp" "$src"
mv "$out/nyinit.tmp" "$out/nyinit"

if [[ -n $triplet ]]; then
  expected_machine=$([[ $arch == arm64 ]] && echo AArch64 || echo ARM)
  machine=$("$triplet-readelf" -h "$out/nyinit" | awk -F: '/Machine/ { gsub(/^ +/, "", $2); print $2 }')
  if [[ $machine != "$expected_machine" ]]; then
    echo "build-init.sh: $out/nyinit is for '$machine', not $expected_machine" >&2
    exit 1
  fi
fi
echo "build-init[$arch]: build/init/$arch/nyinit ($(stat -c %s "$out/nyinit") bytes)"
