#!/usr/bin/env bash
# The firmware bundle: firmware/main.ts → dist/firmware/index.js (ESM, readable, not minified),
# the web UI in dist/firmware/ui/, and the addons in dist/firmware/native/<platform>-<arch>/,
# where firmware/native.ts looks first. Host addons come from build/Release (make native); cross-built ones from
# build/<arch> (scripts/cross-build.sh) are added when present, for images and OTA releases.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist/firmware
rm -rf "$out"
# serialport finds its native binding at run time, which ncc cannot follow: it stays a package
# (node_modules/@serialport/bindings-cpp beside the bundle on a device; never loaded on a host).
npx --no-install ncc build firmware/main.ts -o "$out" --target es2022 --quiet -e @serialport/bindings-cpp
# The web UI's files beside it (dist/firmware/ui).
node scripts/build-ui.mjs "$out/ui"

shopt -s nullglob
host_addons=(build/Release/*.node)
if ((${#host_addons[@]} == 0)); then
  echo "bundle.sh: no addons in build/Release; run 'make native' first" >&2
  exit 1
fi

# Copies build/<from>/*.node into the bundle's native/<platform>-<arch>/ (Node's names).
copy_addons() {
  local from=$1 platform_arch=$2
  local addons=("$from"/*.node)
  ((${#addons[@]} > 0)) || return 0
  mkdir -p "$out/native/$platform_arch"
  cp "${addons[@]}" "$out/native/$platform_arch/"
}

copy_addons build/Release "$(node -p 'process.platform + "-" + process.arch')"
copy_addons build/armhf linux-arm
copy_addons build/arm64 linux-arm64

echo "bundle: $out/index.js; addons: $(cd "$out" && find native -name '*.node' | sort | tr '\n' ' ')"
