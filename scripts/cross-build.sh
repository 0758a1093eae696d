#!/usr/bin/env bash
# Cross-builds every addon in binding.gyp for an ARM board: build/<arch>/<target>.node.
# usage: scripts/cross-build.sh armhf|arm64
# node-gyp runs in a staging directory (.cache/cross/<arch>) so the host's build/Release is
# left alone; its make build is incremental, so a second run only relinks what changed.
set -euo pipefail

arch=${1:-}
case "$arch" in
  armhf) triplet=arm-linux-gnueabihf gyp_arch=arm ;;
  arm64) triplet=aarch64-linux-gnu gyp_arch=arm64 ;;
  *) echo "usage: $0 armhf|arm64" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/apt-deps.sh" "gcc-$triplet" "g++-$triplet"

staging=$repo/.cache/cross/$arch
mkdir -p "$staging"
ln -sfn "$repo/native" "$staging/native"

export CC=$triplet-gcc CXX=$triplet-g++ LINK=$triplet-g++ AR=$triplet-ar
# Always the machine's headers (N-API headers are the same for every arch); never a download.
node_gyp=("$repo/node_modules/.bin/node-gyp" --nodedir=/usr --arch="$gyp_arch")
log=$staging/build.log
run() { "$@" >>"$log" 2>&1 || { cat "$log" >&2; echo "cross-build.sh: failed for $arch" >&2; exit 1; }; }
: >"$log"

# Configure again only when binding.gyp changed (or on the first run).
if ! cmp -s "$repo/binding.gyp" "$staging/binding.gyp" || [[ ! -f $staging/build/Makefile ]]; then
  cp "$repo/binding.gyp" "$staging/binding.gyp"
  (cd "$staging" && run "${node_gyp[@]}" configure)
fi
(cd "$staging" && run "${node_gyp[@]}" build)

out=$repo/build/$arch
mkdir -p "$out"
expected_machine=$([[ $arch == arm64 ]] && echo AArch64 || echo ARM)
for addon in "$staging"/build/Release/*.node; do
  machine=$("$triplet-readelf" -h "$addon" | awk -F: '/Machine/ { gsub(/^ +/, "", $2); print $2 }')
  if [[ $machine != "$expected_machine" ]]; then
    echo "cross-build.sh: $addon is for '$machine', not $expected_machine" >&2
    exit 1
  fi
  cp "$addon" "$out/"
done
echo "cross-build[$arch]: $(cd "$out" && ls *.node | tr '\n' ' ')in build/$arch"
