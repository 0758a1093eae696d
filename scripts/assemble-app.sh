#!/usr/bin/env bash
# The app of one arch, as it goes into an app slot (/data/firmware/<slot>/): the bundle
# (dist/firmware) with this arch's addons only, onoff's epoll cross-built for it, and
# serialport's binding package with this arch's prebuild. Used by the images (slot a) and by
# releases (scripts/release.sh), so both carry the same app.
#
# usage: scripts/assemble-app.sh ARCH DEST      (ARCH: arm64 | armhf; DEST must not exist)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-}
slot=${2:-}
case "$arch" in
  arm64) triplet=aarch64-linux-gnu node_arch=arm64 ;;
  armhf) triplet=arm-linux-gnueabihf node_arch=arm ;;
  *) echo "assemble-app.sh: ARCH must be arm64 or armhf, not '$arch'" >&2; exit 2 ;;
esac
[[ -n $slot && ! -e $slot ]] || { echo "assemble-app.sh: DEST '$slot' must be a new directory" >&2; exit 2; }
quiet=0
[[ ${CI:-} == true ]] && quiet=1
say() { ((quiet)) || echo "app[$arch]: $*" >&2; }
die() { echo "assemble-app.sh[$arch]: $*" >&2; exit 1; }

bundle=$repo/dist/firmware
[[ -f $bundle/index.js ]] || die "no $bundle/index.js: run make bundle"
compgen -G "$bundle/native/linux-$node_arch/*.node" >/dev/null ||
  die "$bundle has no linux-$node_arch addons: run make cross-all, then make bundle"
[[ -d $repo/node_modules/@serialport/bindings-cpp/prebuilds/linux-$node_arch ]] || die "no serialport prebuild for linux-$node_arch: run npm ci"
mkdir -p "$slot"

# The bundle and the addons of this arch only (the host's stay behind).
(cd "$bundle" && find . -path ./native -prune -o -path ./build -prune -o -type f -print0 |
  xargs -0 cp --parents -t "$slot")
mkdir -p "$slot/native"
cp -r "$bundle/native/linux-$node_arch" "$slot/native/"
# onoff's epoll, which the bundle loads from build/Release: cross-built for this arch (the
# bundle carries the host's). It uses nan, so it is built against Node 20's ABI (both are 20).
if [[ -f $bundle/build/Release/epoll.node ]]; then
  device_node=$("$repo/rootfs/fetch-debs.sh" --debs "$arch" nodejs | grep -m1 -o '/nodejs_[0-9]*' | cut -d_ -f2) ||
    die "fetching nodejs for $arch failed"
  [[ $device_node == "$(node -p 'process.versions.node.split(".")[0]')" ]] ||
    die "epoll is built with this machine's Node headers (Node $(node -v)), the image runs Node $device_node"
  epoll_staging=$repo/.cache/cross/$arch-epoll
  gyp_arch=$([[ $arch == arm64 ]] && echo arm64 || echo arm)
  if [[ ! -f $epoll_staging/build/Release/epoll.node || $repo/node_modules/epoll/package.json -nt $epoll_staging/build/Release/epoll.node ]]; then
    say "cross-building onoff's epoll addon for $arch"
    "$repo/scripts/apt-deps.sh" "g++-$triplet"
    rm -rf "$epoll_staging"
    mkdir -p "$epoll_staging"
    cp -r "$repo/node_modules/epoll/binding.gyp" "$repo/node_modules/epoll/src" "$epoll_staging/"
    (cd "$epoll_staging" && CC=$triplet-gcc CXX=$triplet-g++ LINK=$triplet-g++ AR=$triplet-ar \
      "$repo/node_modules/.bin/node-gyp" rebuild --nodedir=/usr --arch="$gyp_arch" >build.log 2>&1) ||
      { cat "$epoll_staging/build.log" >&2; die "cross-building epoll for $arch failed"; }
  fi
  mkdir -p "$slot/build/Release"
  cp "$epoll_staging/build/Release/epoll.node" "$slot/build/Release/epoll.node"
fi
# serialport's binding stays a package (node_modules/@serialport/bindings-cpp beside the
# bundle): the package, this arch's prebuilt binding and its runtime dependencies.
node - "$repo" "$slot" "$node_arch" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const [repo, slot, nodeArch] = process.argv.slice(2);
const top = path.join(repo, 'node_modules');
// Build-time only: node-addon-api is C++ headers for compiling the binding.
const buildOnly = new Set(['node-addon-api']);
const seen = new Set();
const copy = (dir) => {
  if (seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const dest = path.join(slot, 'node_modules', path.relative(top, dir));
  const native = fs.existsSync(path.join(dir, 'binding.gyp'));
  fs.cpSync(dir, dest, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(dir, src);
      if (rel === 'node_modules' || rel.startsWith('node_modules' + path.sep)) return false;
      // A native package's C sources and build files are not needed beside its prebuilds.
      if (native && /^(src|binding\.gyp)$/.test(rel)) return false;
      if (/^(test|README\.md|CHANGELOG\.md)$/.test(rel)) return false;
      const prebuild = rel.match(/^prebuilds(?:\/([^/]+))?/);
      return !prebuild || prebuild[1] === undefined || prebuild[1] === `linux-${nodeArch}`;
    },
  });
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (buildOnly.has(name)) continue;
    // Node's own lookup: <dir>/node_modules/<name>, then upwards (never past the repository).
    const found = Module._nodeModulePaths(dir)
      .filter((p) => p.startsWith(repo + path.sep))
      .map((p) => path.join(p, name))
      .find((p) => fs.existsSync(path.join(p, 'package.json')));
    if (found === undefined) throw new Error(`${pkg.name} needs ${name}: not installed (npm ci)`);
    copy(found);
  }
};
copy(path.join(top, '@serialport', 'bindings-cpp'));
EOF
