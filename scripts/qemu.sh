#!/usr/bin/env bash
# Boots a board's image under QEMU with the serial console on this terminal and the device's
# services forwarded to 127.0.0.1 (`make qemu BOARD=…`). The kernel, initramfs and dtb are
# loaded by QEMU itself (direct kernel boot: QEMU cannot run the boards' boot ROMs).
#   usage: scripts/qemu.sh BOARD        (the image must exist: make image BOARD=…)
#   env:   QEMU_PORT_BASE (default 10000): host ports BASE+80 (HTTP), +443, +143, +993, +587,
#          +25 and +53 (TCP and UDP) reach the device's 80, 443, 143, 993, 587, 25 and 53.
#          QEMU_SNAPSHOT=1 leaves the image untouched (writes go to a temporary overlay).
#          QEMU_OVERLAY=FILE: writes go to FILE, a qcow2 overlay over the image made if missing
#          and kept across runs (a device whose card survives power cuts; the image untouched).
#          QEMU_REBOOT=1: the guest may reboot (by default a reboot ends QEMU).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
board=${1:-}
boards=$(cd "$repo/board" && ls)
if [[ -z $board || ! -f $repo/board/$board/board.json ]]; then
  echo "qemu.sh: unknown board '${board}' (boards: $(echo $boards | tr ' ' ' '))" >&2
  exit 2
fi
out=$repo/out/$board
image=$out/nymote-$board.img
[[ -f $image ]] || { echo "qemu.sh: no image for $board; run 'make image BOARD=$board' first" >&2; exit 1; }

# The board's QEMU machine, disk and network devices, and its kernel command line: the image's
# own (out/<board>/boot/cmdline, as its bootloader passes it) and what QEMU's machine needs.
mapfile -t spec < <(node -e '
  const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (!b.qemu) { console.error(`qemu.sh: board ${b.name} has no QEMU machine`); process.exit(1); }
  console.log(b.qemu.system); console.log(b.qemu.disk); console.log(b.qemu.net);
  const cmdline = require("fs").readFileSync(process.argv[2], "utf8").trim();
  console.log(b.qemu.append ? `${cmdline} ${b.qemu.append}` : cmdline);
  console.log(b.kernel.dtb ? require("path").basename(b.kernel.dtb) : "");
  for (const a of b.qemu.args) console.log(a);
' "$repo/board/$board/board.json" "$out/boot/cmdline")
system=${spec[0]} disk=${spec[1]} net=${spec[2]} cmdline=${spec[3]} dtb=${spec[4]}
machine=("${spec[@]:5}")
"$repo/scripts/apt-deps.sh" qemu-system-arm qemu-utils device-tree-compiler

base=${QEMU_PORT_BASE:-10000}
forwards=""
for port in 80 443 143 993 587 25 53; do forwards+=",hostfwd=tcp:127.0.0.1:$((base + port))-:$port"; done
forwards+=",hostfwd=udp:127.0.0.1:$((base + 53))-:53"

args=("${machine[@]}" -nographic -kernel "$out/boot/vmlinuz" -initrd "$out/boot/initrd.img" -append "$cmdline")
# A guest reboot ends QEMU, unless QEMU_REBOOT=1 (a full-system update reboots into its OS slot).
[[ ${QEMU_REBOOT:-} == 1 ]] || args+=(-no-reboot)

# Disk: a virtio disk, or the SoC's SD card, which QEMU wants a power of two in size: the card
# is a qcow2 overlay of that size over the image (the image itself is never written; a new
# image gets a new overlay).
if [[ $disk == sd ]]; then
  overlay=$out/qemu-sd.qcow2
  if [[ ! $overlay -nt $image ]]; then
    size=$(stat -c %s "$image") card=1
    while ((card < size)); do card=$((card * 2)); done
    rm -f "$overlay"
    qemu-img create -q -f qcow2 -b "$image" -F raw "$overlay" "$card"
  fi
  args+=(-drive "if=sd,file=$overlay,format=qcow2${QEMU_SNAPSHOT:+,snapshot=on}")
elif [[ -n ${QEMU_OVERLAY:-} ]]; then
  [[ -f $QEMU_OVERLAY ]] || qemu-img create -q -f qcow2 -b "$image" -F raw "$QEMU_OVERLAY"
  args+=(-drive "if=none,file=$QEMU_OVERLAY,format=qcow2,id=disk" -device "$disk,drive=disk")
else
  args+=(-drive "if=none,file=$image,format=raw,id=disk${QEMU_SNAPSHOT:+,snapshot=on}" -device "$disk,drive=disk")
fi

# Network: a virtio NIC, the SoC's own ('nic'), or none (a Pi's is on USB, which QEMU lacks).
if [[ $net == none ]]; then
  args+=(-nic none)
elif [[ $net == nic ]]; then
  args+=(-nic "user$forwards")
else
  args+=(-netdev "user,id=net$forwards" -device "$net,netdev=net")
fi

# The board's device tree with a fresh rng-seed: an emulated SoC has no entropy source, and
# Node would block in getrandom until the kernel's pool is ready (QEMU's virt adds one itself).
if [[ -n $dtb ]]; then
  seeded=$out/qemu-$dtb
  cp "$out/boot/$dtb" "$seeded"
  fdtput -c "$seeded" /chosen 2>/dev/null || true
  # shellcheck disable=SC2046 # one argument a word
  fdtput -t x "$seeded" /chosen rng-seed $(od -An -tx4 -N64 /dev/urandom)
  args+=(-dtb "$seeded")
fi
exec "$system" "${args[@]}"
