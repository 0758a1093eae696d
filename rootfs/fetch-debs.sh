#!/usr/bin/env bash
# Fetches Debian trixie packages for a foreign architecture, with their dependencies, and
# unpacks them into a sysroot. No chroot and no dpkg database: apt runs with its own state
# directory, an empty "installed" list and a trixie sources list, so the host's apt setup is
# left alone. Everything is cached under .cache/debian/<arch>/:
#   apt/      apt's lists and downloaded .debs (reused between runs)
#   sysroot/  the unpacked files (dpkg-deb -x), plus .unpacked listing what is in it
#   requests/ per package list, the .debs it resolved to: a repeated request with all of
#             them unpacked needs no apt at all
#
# usage: rootfs/fetch-debs.sh ARCH PACKAGE...      (ARCH: armhf | arm64)
# Prints the sysroot's path on stdout. Progress goes to stderr (silent when CI=true).
# Env: NYMOTE_DEBIAN_MIRROR (default http://deb.debian.org/debian), NYMOTE_DEBIAN_SUITE
# (default trixie), NYMOTE_DEBS_REFRESH=1 to re-read the package lists.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 ARCH PACKAGE..." >&2
  exit 2
fi
arch=$1
shift
case "$arch" in
  armhf | arm64) ;;
  *) echo "fetch-debs.sh: unsupported arch '$arch' (armhf or arm64)" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=${NYMOTE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${NYMOTE_DEBIAN_SUITE:-trixie}
root=$repo/.cache/debian/$arch
apt_dir=$root/apt
sysroot=$root/sysroot

request_file=$root/requests/$(printf '%s\n' "$@" | sort -u | paste -sd+)

say() { [[ ${CI:-} == true ]] || echo "fetch-debs[$arch]: $*" >&2; }

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "fetch-debs.sh: needs $tool (a Debian host)" >&2; exit 1; }
done

mkdir -p "$apt_dir"/{lists/partial,archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d} \
  "$sysroot" "$root/requests"
touch "$sysroot/.unpacked"

# Fast path: this exact request was served before and everything it needs is unpacked.
if [[ ${NYMOTE_DEBS_REFRESH:-} != 1 && -s $request_file ]] && ! grep -qvxFf "$sysroot/.unpacked" "$request_file"; then
  echo "$sysroot"
  exit 0
fi

touch "$apt_dir/status"
echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
  >"$apt_dir/etc/sources.list"

# apt that sees only our sources, state and cache and treats $arch as the native arch.
apt_opts=(
  -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
  -o "Dir::State=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
  -o "Dir::Cache=$apt_dir" -o "Dir::Cache::Archives=$apt_dir/archives"
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$apt_dir/etc/preferences" -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
  -o "Dir::Cache::pkgcache=$apt_dir/pkgcache.bin" -o "Dir::Cache::srcpkgcache=$apt_dir/srcpkgcache.bin"
  -o "APT::Install-Recommends=false" -o "Acquire::Languages=none" -o "Debug::NoLocking=true"
)
# Hidden in CI: apt's progress is noise there; errors still reach stderr.
quiet=()
[[ ${CI:-} == true ]] && quiet=(-qq)

update_lists() {
  say "reading $suite package lists from $mirror"
  apt-get "${apt_opts[@]}" "${quiet[@]}" update >&2
}

lists_present() { compgen -G "$apt_dir/lists/*_Packages*" >/dev/null; }

# "Inst name (version suite [arch])" lines of a simulated install: the full dependency closure.
resolve() {
  apt-get "${apt_opts[@]}" -s install "$@" 2>/dev/null | awk '$1 == "Inst" { gsub(/[()]/, "", $3); print $2, $3 }'
}

if [[ ${NYMOTE_DEBS_REFRESH:-} == 1 ]] || ! lists_present; then update_lists; fi

# Download (already cached .debs are not fetched again). A version gone from the mirror
# after a point release shows up as a failure here: refresh the lists once and retry.
download() { apt-get "${apt_opts[@]}" "${quiet[@]}" -y install --download-only "$@" >&2; }
if ! download "$@"; then
  update_lists
  download "$@"
fi

closure=$(resolve "$@")
if [[ -z $closure ]]; then
  # apt prints "Inst" only for what is not installed; with an empty status that is everything.
  echo "fetch-debs.sh: could not resolve $* for $arch" >&2
  exit 1
fi

unpacked=0
served=()
while read -r name version; do
  deb_glob="$apt_dir/archives/${name}_${version//:/%3a}_*.deb"
  debs=($deb_glob)
  if [[ ! -f ${debs[0]} ]]; then
    echo "fetch-debs.sh: $name $version resolved but no .deb in $apt_dir/archives" >&2
    exit 1
  fi
  deb_file=$(basename "${debs[0]}")
  served+=("$deb_file")
  grep -qxF "$deb_file" "$sysroot/.unpacked" && continue
  dpkg-deb -x "${debs[0]}" "$sysroot"
  echo "$deb_file" >>"$sysroot/.unpacked"
  unpacked=$((unpacked + 1))
done <<<"$closure"

# Merged /usr: trixie ships files under /usr, while ELF interpreters are named /lib/ld-….
for dir in bin sbin lib; do
  if [[ ! -e $sysroot/$dir && -d $sysroot/usr/$dir ]]; then ln -s "usr/$dir" "$sysroot/$dir"; fi
done

printf '%s\n' "${served[@]}" >"$request_file"
say "$(wc -l <<<"$closure") packages for $*; $unpacked newly unpacked into $sysroot"
echo "$sysroot"
