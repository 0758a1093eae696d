#!/usr/bin/env bash
# The SD-card image of a board: out/<board>/nymote-<board>.img, .img.xz and .img.bmap, plus
# out/<board>/boot/ (vmlinuz, initrd.img, the dtb, cmdline) for QEMU's direct kernel boot and
# out/<board>/os/ (rootfs.squashfs and the kernel-release its modules are for) for full-system
# updates (nymote release --os).
#
# usage: rootfs/build-image.sh BOARD          (make image BOARD=…; boards: board/*/board.json)
#        rootfs/build-image.sh --check [BOARD] only checks the name (exit 2 and the list if bad)
#
# Needs, built before (make image does it): dist/firmware (make bundle, after make cross-all so
# that it holds the ARM addons) and build/init/<arch>/nyinit (make init). Everything else comes
# from Debian trixie packages (rootfs/fetch-debs.sh, cached in .cache/debian/<arch>). No root,
# no mounts, no loop devices: mksquashfs, mkfs.ext4 -d, mkfs.vfat + mcopy, sfdisk, dd.
#
# Card layout (MBR; the partitions are found as described in rootfs/initramfs/init):
#   1 boot      vfat "boot", 64 MiB: kernel, initramfs, dtbs, bootloader files (bootable flag)
#   2 rootfs-a  squashfs (zstd), read-only OS: node and its libraries, nyinit, busybox, modules
#   3 rootfs-b  the other OS slot, left empty (zeros: free in .xz and .bmap) until an update
#               writes it (firmware/ota/os-slots.ts; the initramfs picks the slot)
#   4 data      ext4 "data", 256 MiB, grown to the card on first boot: firmware/a (the app),
#               firmware/state.json, config/
# Sunxi: U-Boot with its SPL at 8 KiB, before partition 1 (at 1 MiB). Squashfs rather than
# erofs: Debian's kernel has both as modules, but Debian 12's mkfs.erofs (1.5) offers only lz4;
# neither has a label the initramfs could find, so /init finds root beside "data".
#
# board/<name>/board.json: arch (arm64|armhf); kernel {package, flavour, dtb (path under
# /usr/lib/linux-image-<version>/, null for QEMU virt), dtbs (more to put on the boot
# partition)}; cmdline (console=…; root=, rootwait and quiet are added); bootloader {kind:
# none | raspi-firmware (files, config lines for config.txt) | u-boot-sunxi (target: the
# directory in /usr/lib/u-boot)}; modules {boot: root device and file systems, into the
# initramfs; system: network, watchdog, rng, onto the root fs} (dependencies are added); and
# for the firmware (/etc/nymote/board.json): name, console, watchdog ("" = none), gpio
# {chip, led, button, …} (absent = none), iface; qemu {system, args, disk (a device or "sd"),
# net (a device, "nic" for the SoC's own, "none"), append (to the command line)} for QEMU.
#
# Reproducible: SOURCE_DATE_EPOCH (default: the last commit's time) is every file time; file
# system UUIDs, the ext4 hash seed, the FAT volume id and the MBR id derive from the board's
# name; cpio, squashfs and ext4 get sorted input. Two builds of one commit are byte-identical.
# Quiet when CI=true; a few progress lines on a terminal.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

boards=$(cd board && for f in */board.json; do printf '%s ' "${f%/board.json}"; done)
boards=${boards% }

check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi
board=${1:-}
if [[ -z $board || ! -f board/$board/board.json || $board == */* ]]; then
  echo "build-image.sh: ${board:+unknown board '$board'; }BOARD must be one of: $boards" >&2
  exit 2
fi
((check)) && exit 0

quiet=0
[[ ${CI:-} == true ]] && quiet=1
say() { ((quiet)) || echo "image[$board] ${SECONDS}s: $*" >&2; }
die() { echo "build-image.sh[$board]: $*" >&2; exit 1; }

# Outputs: the previous ones go now (a failed build leaves none); the new ones are written in
# the work directory and renamed into out/<board>/ at the very end.
# NYMOTE_IMAGE_OUT=DIR writes there instead of out/<board> (the reproducibility test).
out=${NYMOTE_IMAGE_OUT:-$repo/out/$board}
rm -rf "${out:?}/boot" "$out/os" "$out/nymote-$board.img" "$out/nymote-$board.img.xz" "$out/nymote-$board.img.bmap"

"$repo/scripts/apt-deps.sh" jq binutils kmod xz-utils zstd cpio fakeroot squashfs-tools e2fsprogs \
  dosfstools mtools fdisk bmap-tools u-boot-tools

# --- the board ------------------------------------------------------------------------------
board_json=$repo/board/$board/board.json
field() { jq -er "$1" "$board_json" 2>/dev/null || die "board/$board/board.json: missing $1"; }
arch=$(field .arch)
case "$arch" in
  arm64) triplet=aarch64-linux-gnu ;;
  armhf) triplet=arm-linux-gnueabihf ;;
  *) die "board.json: arch must be arm64 or armhf, not '$arch'" ;;
esac
kernel_package=$(field .kernel.package)
flavour=$(field .kernel.flavour)
dtb=$(jq -r '.kernel.dtb // empty' "$board_json")
mapfile -t dtbs < <(jq -r '(.kernel.dtb // empty), (.kernel.dtbs // [])[]' "$board_json")
# panic=10: a kernel that panics (an OS slot on trial whose /sbin/nyinit does not run) reboots,
# into the committed OS slot.
cmdline="$(field .cmdline) rootwait quiet panic=10"
bootloader=$(field .bootloader.kind)
bootloader_package=$(jq -r '.bootloader.package // empty' "$board_json")
mapfile -t boot_modules < <(jq -r '.modules.boot[]' "$board_json")
mapfile -t system_modules < <(jq -r '(.modules.system // [])[]' "$board_json")
watchdog=$(jq -r '.watchdog // ""' "$board_json")
case "$bootloader" in
  none | raspi-firmware | u-boot-sunxi) ;;
  *) die "board.json: bootloader.kind must be none, raspi-firmware or u-boot-sunxi" ;;
esac

# --- inputs built by make --------------------------------------------------------------------
nyinit=$repo/build/init/$arch/nyinit
[[ -x $nyinit ]] || die "no $nyinit: run make init (or make image)"
# (the app's inputs, dist/firmware and node_modules, are checked by scripts/assemble-app.sh)

# (TZ: mtools writes FAT times in local time.)
export TZ=UTC
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}
epoch=$SOURCE_DATE_EPOCH
# Fixed identifiers, different per board and per file system: hex digits of a name's hash.
hexid() { printf '%s' "nymote:$board:$1" | sha256sum | cut -c1-"$2"; }
uuid() { local h; h=$(hexid "$1" 32); echo "${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"; }

mkdir -p "$out" "$repo/.cache/image"
work=$(mktemp -d "$repo/.cache/image/$board.XXXXXX")
# NYMOTE_IMAGE_KEEP=1 keeps the work directory (the trees and file systems) for a look.
if [[ ${NYMOTE_IMAGE_KEEP:-} == 1 ]]; then say "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi

# --- Debian packages ---------------------------------------------------------------------------
say "fetching Debian packages for $arch (cached in .cache/debian/$arch)"
fetch() { # PACKAGE... → the .deb paths of their closure (apt's chatter only when it fails)
  "$repo/rootfs/fetch-debs.sh" --debs "$arch" "$@" 2>"$work/fetch.log" ||
    { grep -E '^(E: |fetch-debs\.sh: )' "$work/fetch.log" | sort -u >&2; die "fetching $* for $arch failed"; }
}
userland_debs=$(fetch nodejs e2fsprogs busybox-static) || exit 1
system_debs=$(fetch "$kernel_package" ${bootloader_package:+"$bootloader_package"}) || exit 1
deb_of() { # PACKAGE → its .deb among the fetched ones
  grep -m1 "/$1_[^/]*\.deb$" <<<"$system_debs"$'\n'"$userland_debs" || die "no .deb for $1"
}

# Unpacked trees are cached beside the .debs (.cache/image/unpacked/<arch>-<hash of the .debs>)
# and only read from: a warm build unpacks nothing.
unpacked() { # KIND DEB...: prints the directory holding the DEBs' files
  local kind=$1 dir
  shift
  dir=$repo/.cache/image/unpacked/$arch-$kind-$(printf '%s\n' "${@##*/}" | sha256sum | cut -c1-16)
  if [[ ! -f $dir/.complete ]]; then
    rm -rf "$repo/.cache/image/unpacked/$arch-$kind-"*
    mkdir -p "$dir"
    for deb in "$@"; do dpkg-deb -x "$deb" "$dir"; done
    touch "$dir/.complete"
  fi
  echo "$dir"
}
# Userland: every package of the closure, in one tree the root fs picks its files from.
mapfile -t debs <<<"$userland_debs"
sysroot=$(unpacked userland "${debs[@]}")

# The kernel: the metapackage's real package (linux-image-<version>-<flavour>).
kernel_deb=$(grep -m1 -E "/linux-image-[0-9][^/_]*-${flavour}_[^/]*\.deb$" <<<"$system_debs") ||
  die "no linux-image-*-$flavour package behind $kernel_package"
kroot=$(unpacked "kernel-$flavour" "$kernel_deb")
vmlinuz=$(compgen -G "$kroot/boot/vmlinuz-*" | head -1) || die "no vmlinuz in $kernel_deb"
kver=${vmlinuz##*/vmlinuz-}
moddir=$kroot/usr/lib/modules/$kver
dtbdir=$kroot/usr/lib/linux-image-$kver
say "kernel $kver"

# --- kernel modules: each list with its dependencies, in load order ---------------------------
declare -A module_file=() builtin=() resolved=()
while IFS= read -r -d '' f; do
  name=${f##*/}
  name=${name%%.ko*}
  module_file[${name//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko*' -print0)
while read -r f; do
  name=${f##*/}
  name=${name%.ko}
  builtin[${name//-/_}]=1
done <"$moddir/modules.builtin"

load_order=()
resolve_module() { # NAME: appends NAME's dependencies, then NAME, to load_order (once each)
  local name=${1//-/_} dep
  [[ -n ${resolved[$name]:-} ]] && return 0
  resolved[$name]=1
  if [[ -z ${module_file[$name]:-} ]]; then
    [[ -n ${builtin[$name]:-} ]] && return 0
    die "module $1 is neither a module nor built into kernel $kver (board.json modules)"
  fi
  for dep in $(modinfo -F depends "${module_file[$name]}" | tr , ' '); do resolve_module "$dep"; done
  load_order+=("$name")
}
install_modules() { # DIR NAME...: the modules (decompressed) and DIR/order
  local dir=$1 name file
  shift
  load_order=()
  for name in "$@"; do resolve_module "$name"; done
  mkdir -p "$dir"
  : >"$dir/order"
  for name in "${load_order[@]}"; do
    file=${module_file[$name]}
    case "$file" in
      *.ko.xz) xz -dc "$file" >"$dir/$name.ko" ;;
      *.ko.zst) zstd -qdc "$file" >"$dir/$name.ko" ;;
      *.ko.gz) gzip -dc "$file" >"$dir/$name.ko" ;;
      *) cp "$file" "$dir/$name.ko" ;;
    esac
    echo "$name" >>"$dir/order"
  done
}

# The boot modules (root device, file systems) go into the initramfs; the running system's
# (network, watchdog, rng) onto the root fs, without those the initramfs already loaded.
rootfs=$work/rootfs
initramfs=$work/initramfs
install_modules "$initramfs/lib/modules" "${boot_modules[@]}"
install_modules "$rootfs/usr/lib/modules/nymote" ${system_modules[@]+"${system_modules[@]}"}

# Every time in a tree at most SOURCE_DATE_EPOCH.
clamp_times() { find "$1" -newermt "@$epoch" -print0 | xargs -0r touch -h -d "@$epoch"; }

# --- root file system ---------------------------------------------------------------------------
mkdir -p "$rootfs"/{usr/bin,usr/sbin,usr/lib,etc/nymote,proc,sys,dev,run,tmp,data,root}
ln -s usr/bin "$rootfs/bin"
ln -s usr/sbin "$rootfs/sbin"
ln -s usr/lib "$rootfs/lib"

# Files from the sysroot, under /usr (merged /usr), symlinks kept and followed.
declare -A installed=()
usr_path() { case "$1" in bin/* | sbin/* | lib/*) echo "usr/$1" ;; *) echo "$1" ;; esac; }
real_path() { # REL → REL of the regular file behind it, symlinks resolved inside the sysroot
  local rel=$1 hops=0 target
  while [[ -L $sysroot/$rel ]] && ((hops++ < 20)); do
    target=$(readlink "$sysroot/$rel")
    if [[ $target == /* ]]; then rel=${target#/}; else rel=$(realpath -m -s "/${rel%/*}/$target"); rel=${rel#/}; fi
  done
  echo "$rel"
}
install_file() { # REL: copies sysroot/REL into the root fs (and what a symlink points to)
  local rel=$1 dest target
  dest=$(usr_path "$rel")
  [[ -n ${installed[$dest]:-} ]] && return 0
  installed[$dest]=1
  [[ -e $sysroot/$rel || -L $sysroot/$rel ]] || die "$rel is not in the packages"
  mkdir -p "$rootfs/${dest%/*}"
  cp -P --preserve=mode "$sysroot/$rel" "$rootfs/$dest"
  if [[ -L $sysroot/$rel ]]; then
    target=$(readlink "$sysroot/$rel")
    if [[ $target == /* ]]; then target=${target#/}; else target=$(realpath -m -s "/${rel%/*}/$target"); target=${target#/}; fi
    install_file "$target"
  fi
}
find_library() { # NAME → REL in the sysroot's library directories
  local dir
  for dir in usr/lib/$triplet lib/$triplet usr/lib lib; do
    if [[ -e $sysroot/$dir/$1 || -L $sysroot/$dir/$1 ]]; then echo "$dir/$1"; return 0; fi
  done
  return 1
}
install_elf() { # REL...: the programs, their interpreter and every library they need
  local queue=("$@") rel real lib interp
  declare -A seen=()
  while ((${#queue[@]})); do
    rel=${queue[0]}
    queue=("${queue[@]:1}")
    install_file "$rel"
    real=$(real_path "$rel")
    [[ -n ${seen[$real]:-} ]] && continue
    seen[$real]=1
    interp=$(readelf -lW "$sysroot/$real" 2>/dev/null | sed -n 's/.*interpreter: \/\(.*\)\]$/\1/p')
    [[ -n $interp ]] && queue+=("$(usr_path "$interp")")
    for lib in $(readelf -dW "$sysroot/$real" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
      queue+=("$(find_library "$lib" || die "$real needs $lib, which no fetched package has")")
    done
  done
}

say "root file system: node, nyinit, busybox, resize2fs"
install_elf usr/bin/nodejs usr/sbin/resize2fs
install_file usr/bin/node
# Debian's node loads some of its JavaScript from /usr/share/nodejs (acorn, undici, …).
libnode=$(real_path "$(find_library "$(readelf -dW "$sysroot/usr/bin/nodejs" | sed -n 's/.*(NEEDED).*\[\(libnode[^]]*\)\]$/\1/p')")")
for js in $(strings -n 8 "$sysroot/$libnode" | grep -E '^/usr/share/nodejs/[^ ]+\.js$' | sort -u); do
  install_file "${js#/}"
done
# busybox: the firmware runs `busybox ip` and `busybox date` (no /bin/sh: no shell on the device).
cp "$sysroot/usr/bin/busybox" "$rootfs/usr/bin/busybox"
cp "$nyinit" "$rootfs/usr/sbin/nyinit"
cp "$board_json" "$rootfs/etc/nymote/board.json"
# The release keys updates must be signed with (firmware/ota): release-keys.json at the top of
# the repository (`nymote release-key show` prints it), or NYMOTE_RELEASE_KEYS=FILE. Without
# one the image takes no update.
release_keys=${NYMOTE_RELEASE_KEYS:-$repo/release-keys.json}
if [[ -f $release_keys ]]; then
  jq -e '.keys | length > 0' "$release_keys" >/dev/null || die "$release_keys: no keys in it"
  cp "$release_keys" "$rootfs/etc/nymote/release-keys.json"
else
  say "no $release_keys: this image will take no update (nymote release-key init, then show)"
fi
ln -s /run/resolv.conf "$rootfs/etc/resolv.conf"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
version=$(jq -r .version "$repo/package.json")
printf 'NAME=Nymote\nID=nymote\nID_LIKE=debian\nVERSION_ID=%s\nPRETTY_NAME="Nymote %s (%s)"\n' \
  "$version" "$version" "$board" >"$rootfs/etc/os-release"
# Modules for the running system (above): nothing loads them after switch_root, /init does.
# Strip nothing more: only what the programs need was copied (no docs, man pages, headers).
clamp_times "$rootfs"
# (mksquashfs refuses SOURCE_DATE_EPOCH together with the explicit times)
env -u SOURCE_DATE_EPOCH mksquashfs "$rootfs" "$work/rootfs.img" -noappend -comp zstd -Xcompression-level 15 -b 256K \
  -all-root -no-xattrs -mkfs-time "$epoch" -all-time "$epoch" -quiet -no-progress >/dev/null
say "root file system: $(($(stat -c %s "$work/rootfs.img") / 1024 / 1024)) MiB squashfs"

# --- initramfs -----------------------------------------------------------------------------------
mkdir -p "$initramfs"/{bin,dev,etc,proc,sys,root}
cp "$sysroot/usr/bin/busybox" "$initramfs/bin/busybox"
install -m 0755 "$repo/rootfs/initramfs/init" "$initramfs/init"
{
  echo "# $board: read by /init (written by rootfs/build-image.sh from board/$board/board.json)"
  echo "BOARD=$board"
  echo "ROOTFSTYPE=squashfs"
  # nyinit: unset means /dev/watchdog, empty means none (boards without one).
  echo "export NYINIT_WATCHDOG=\${NYINIT_WATCHDOG-$watchdog}"
} >"$initramfs/etc/board.env"
clamp_times "$initramfs"
# /dev/console must exist in the archive: the kernel opens it for /init before anything mounts.
(
  cd "$initramfs"
  { echo .; find . -mindepth 1 | LC_ALL=C sort; } >"$work/initramfs.list"
  fakeroot sh -c 'mknod dev/console c 5 1 && touch -h -d "@$1" dev/console dev && \
    { cat "$2"; echo ./dev/console; } | LC_ALL=C sort -u | cpio --quiet -o -H newc -R 0:0 --reproducible' \
    sh "$epoch" "$work/initramfs.list"
) | gzip -9n >"$work/initrd.img"
say "initramfs: $(($(stat -c %s "$work/initrd.img") / 1024)) KiB (modules: $(paste -sd' ' "$initramfs/lib/modules/order"))"

# --- data file system ------------------------------------------------------------------------------
data=$work/data
slot=$data/firmware/a
mkdir -p "$data/firmware" "$data/config"
"$repo/scripts/assemble-app.sh" "$arch" "$slot" || die "assembling the app for $arch failed"
echo '{"active":"a"}' >"$data/firmware/state.json"
clamp_times "$data"

data_mib=256
# Pinned features (not the host's /etc/mke2fs.conf); 4 KiB blocks for the card it grows into.
cat >"$work/mke2fs.conf" <<'EOF'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	small = {
		inode_ratio = 16384
	}
EOF
truncate -s "${data_mib}M" "$work/data.img"
MKE2FS_CONFIG=$work/mke2fs.conf E2FSPROGS_FAKE_TIME=$epoch mkfs.ext4 -q -F -L data -t ext4 -m 1 \
  -U "$(uuid data)" -E "root_owner=0:0,hash_seed=$(uuid data-hash)" -d "$data" "$work/data.img"
# mke2fs -d copies owners and the change times of the files (which nothing can set): set them.
(cd "$data" && find . | LC_ALL=C sort) | while read -r p; do
  p=${p#.}
  p=${p:-/}
  echo "sif \"$p\" uid 0"
  echo "sif \"$p\" gid 0"
  for t in atime ctime mtime crtime; do echo "sif \"$p\" $t @$epoch"; echo "sif \"$p\" ${t}_extra 0"; done
done >"$work/data.debugfs"
E2FSPROGS_FAKE_TIME=$epoch debugfs -w -f "$work/data.debugfs" "$work/data.img" >/dev/null 2>"$work/debugfs.log" ||
  { cat "$work/debugfs.log" >&2; die "debugfs on the data file system failed"; }
! grep -v '^debugfs ' "$work/debugfs.log" >&2 || die "debugfs reported errors"
say "data file system: firmware/a ($(du -sh "$slot" | cut -f1)), ${data_mib} MiB ext4"

# --- boot partition ------------------------------------------------------------------------------
boot=$work/boot
mkdir -p "$boot"
cp "$vmlinuz" "$boot/vmlinuz"
cp "$work/initrd.img" "$boot/initrd.img"
for d in ${dtbs[@]+"${dtbs[@]}"}; do
  [[ -f $dtbdir/$d ]] || die "no $d in $kernel_deb"
  cp "$dtbdir/$d" "$boot/${d##*/}"
done
spl=
case "$bootloader" in
  raspi-firmware)
    fwdir=$(unpacked "$bootloader_package" "$(deb_of "$bootloader_package")")
    for f in $(jq -r '.bootloader.files[]' "$board_json"); do
      cp "$fwdir/usr/lib/raspi-firmware/$f" "$boot/$f" || die "no $f in $bootloader_package"
    done
    {
      echo "# Nymote on $board (rootfs/build-image.sh); the Pi firmware reads this."
      jq -r '.bootloader.config[]' "$board_json"
      echo "kernel=vmlinuz"
      echo "initramfs initrd.img followkernel"
    } >"$boot/config.txt"
    echo "$cmdline" >"$boot/cmdline.txt"
    ;;
  u-boot-sunxi)
    ubootdir=$(unpacked "$bootloader_package" "$(deb_of "$bootloader_package")")
    spl=$ubootdir/usr/lib/u-boot/$(field .bootloader.target)/u-boot-sunxi-with-spl.bin
    [[ -f $spl ]] || die "no ${spl#"$ubootdir"} in $bootloader_package"
    (($(stat -c %s "$spl") <= (1024 - 8) * 1024)) || die "U-Boot does not fit between 8 KiB and 1 MiB"
    cat >"$boot/boot.cmd" <<EOF
# Nymote on $board (rootfs/build-image.sh): U-Boot runs boot.scr (mkimage of this file) from
# the boot partition; kernel, device tree and initramfs are beside it.
setenv bootargs "$cmdline"
load \${devtype} \${devnum}:\${distro_bootpart} \${kernel_addr_r} vmlinuz
load \${devtype} \${devnum}:\${distro_bootpart} \${fdt_addr_r} ${dtb##*/}
load \${devtype} \${devnum}:\${distro_bootpart} \${ramdisk_addr_r} initrd.img
bootz \${kernel_addr_r} \${ramdisk_addr_r}:\${filesize} \${fdt_addr_r}
EOF
    mkimage -A arm -O linux -T script -C none -n "nymote $board" -d "$boot/boot.cmd" "$boot/boot.scr" >/dev/null
    ;;
esac
clamp_times "$boot"
boot_mib=64
# --invariant: fixed times in the file system's own entries; the -i after it wins.
mkfs.vfat -C -F 32 -n boot --invariant -i "$(hexid boot 8)" "$work/boot.img" $((boot_mib * 1024)) >/dev/null 2>&1 ||
  die "mkfs.vfat failed"
mapfile -t boot_files < <(cd "$boot" && find . -mindepth 1 -maxdepth 1 | LC_ALL=C sort)
(cd "$boot" && MTOOLS_SKIP_CHECK=1 mcopy -i "$work/boot.img" -s -m -- "${boot_files[@]}" ::/) ||
  die "the boot files do not fit in ${boot_mib} MiB"

# --- the card ------------------------------------------------------------------------------------
rootfs_mib=256
sectors() { echo $(($1 * 2048)); }
p1=$(sectors 1)
p2=$((p1 + $(sectors $boot_mib)))
p3=$((p2 + $(sectors $rootfs_mib)))
p4=$((p3 + $(sectors $rootfs_mib)))
end=$((p4 + $(sectors $data_mib)))
(($(stat -c %s "$work/rootfs.img") <= rootfs_mib * 1024 * 1024)) || die "the root fs is larger than $rootfs_mib MiB"
img=$work/nymote-$board.img
truncate -s $((end * 512)) "$img"
sfdisk -q --no-reread --no-tell-kernel "$img" >/dev/null <<EOF
label: dos
label-id: 0x$(hexid mbr 8)
unit: sectors

start=$p1, size=$(sectors $boot_mib), type=c, bootable
start=$p2, size=$(sectors $rootfs_mib), type=83
start=$p3, size=$(sectors $rootfs_mib), type=83
start=$p4, size=$(sectors $data_mib), type=83
EOF
put() { dd if="$1" of="$img" bs=512 seek="$2" conv=notrunc,sparse status=none; }
put "$work/boot.img" $p1
put "$work/rootfs.img" $p2
put "$work/data.img" $p4
[[ -n $spl ]] && dd if="$spl" of="$img" bs=1024 seek=8 conv=notrunc status=none

say "image: $((end / 2048)) MiB; compressing"
bmaptool -q create -o "$work/nymote-$board.img.bmap" "$img"
xz_flags=(-T0 -6 -k -c)
((quiet)) || [[ ! -t 2 ]] || xz_flags+=(-v)
xz "${xz_flags[@]}" "$img" >"$work/nymote-$board.img.xz"

# QEMU's direct kernel boot: the kernel, initramfs, dtb and the command line it wants.
mkdir -p "$work/out-boot"
cp "$vmlinuz" "$work/out-boot/vmlinuz"
cp "$work/initrd.img" "$work/out-boot/initrd.img"
[[ -n $dtb ]] && cp "$dtbdir/$dtb" "$work/out-boot/${dtb##*/}"
echo "$cmdline" >"$work/out-boot/cmdline"

# The OS slot's contents, for a release that updates the whole system.
mkdir -p "$work/out-os"
cp "$work/rootfs.img" "$work/out-os/rootfs.squashfs"
echo "$kver" >"$work/out-os/kernel-release"

# Finished names last, the image itself the very last.
mv "$work/out-boot" "$out/boot"
mv "$work/out-os" "$out/os"
mv "$work/nymote-$board.img.bmap" "$out/"
mv "$work/nymote-$board.img.xz" "$out/"
mv "$img" "$out/"
say "done: ${out#"$repo"/}/nymote-$board.img ($(du -h --apparent-size "$out/nymote-$board.img" | cut -f1)," \
  ".xz $(du -h "$out/nymote-$board.img.xz" | cut -f1))"
