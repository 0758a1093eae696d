#!/usr/bin/env bash
# Installs the named Debian packages that are not installed yet; a no-op when all are.
# usage: scripts/apt-deps.sh PACKAGE...      (e.g. gcc-aarch64-linux-gnu qemu-user-static)
# Shared by every script that needs host tools, so a fresh machine (CI) gets them on first use.
set -euo pipefail

missing=()
for package in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$package")
done
((${#missing[@]} == 0)) && exit 0

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "apt-deps.sh: need root to install: ${missing[*]} (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

quiet=()
[[ ${CI:-} == true ]] && quiet=(-qq)
echo "apt-deps: installing ${missing[*]}" >&2
install() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${quiet[@]}" install -y --no-install-recommends "${missing[@]}" >&2
}
# Stale or empty package lists (fresh containers) make the first attempt fail; refresh once.
if ! install; then
  "${as_root[@]}" apt-get "${quiet[@]}" update >&2
  install
fi
