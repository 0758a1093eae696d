#!/usr/bin/env bash
# A release of the app for every board (make release): each arch's app assembled as a slot
# holds it (scripts/assemble-app.sh), signed with the release key into a commit on branch
# `release` of out/release.git (nymote release). Then:
#   git --git-dir out/release.git push https://<owner>@<device>/git/firmware.git release
#
# Env: NYMOTE_DATA (the laptop's data directory holding secrets/release/release.key; default
# ./var), RELEASE_VERSION (default: package.json's), RELEASE_COUNTER (default: one above the
# last release in out/release.git), RELEASE_DAYS (how long devices take it; default 180),
# OS_BOARDS (boards whose OS is updated too: their root file system from out/<board>/os, which
# make image BOARD=<board> leaves; the kernel must be the one those devices run).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

scripts/apt-deps.sh jq
work=$(mktemp -d "${TMPDIR:-/tmp}/nymote-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
apps=()
for arch in arm64 armhf; do
  scripts/assemble-app.sh "$arch" "$work/$arch"
  apps+=("$arch=$work/$arch")
done
# Every board of those arches.
boards=$(jq -rs '[.[] | select(.arch == "arm64" or .arch == "armhf") | .name] | join(",")' board/*/board.json)
os=()
for board in ${OS_BOARDS:-}; do os+=(--os "$board=out/$board/os"); done
node dist/firmware/index.js release --repo out/release.git "${os[@]}" \
  --version "${RELEASE_VERSION:-$(jq -r .version package.json)}" --boards "$boards" \
  ${RELEASE_COUNTER:+--counter "$RELEASE_COUNTER"} --valid-days "${RELEASE_DAYS:-180}" "${apps[@]}"
