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
# usage: rootfs/fetch-debs.sh [--debs] ARCH PACKAGE...      (ARCH: armhf | arm64)
# Prints the sysroot's path on stdout. With --debs nothing is unpacked: it prints the paths of
# the .debs of the closure instead, one a line (rootfs/build-image.sh unpacks what it picks).
# Progress goes to stderr (silent when CI=true). A package that cannot be fetched fails with
# one line naming it.
# Env: NYMOTE_DEBIAN_MIRROR (default http://deb.debian.org/debian), NYMOTE_DEBIAN_SUITE
# (default trixie), NYMOTE_DEBIAN_COMPONENTS (default "main non-free-firmware": the
# Raspberry Pi firmware is in non-free-firmware), NYMOTE_DEBS_REFRESH=1 to re-read the lists.
set -euo pipefail

debs_only=0
if [[ ${1:-} == --debs ]]; then
  debs_only=1
  shift
fi
if (($# < 2)); then
  echo "usage: $0 [--debs] ARCH PACKAGE..." >&2
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
components=${NYMOTE_DEBIAN_COMPONENTS:-main non-free-firmware}
root=$repo/.cache/debian/$arch
apt_dir=$root/apt
sysroot=$root/sysroot

request=$(printf '%s\n' "$@" | sort -u | paste -sd+)
# A long request gets a hashed name (file names stop at 255 bytes).
((${#request} <= 200)) || request=sha256-$(sha256sum <<<"$request" | cut -c1-32)
request_file=$root/requests/$request

say() { [[ ${CI:-} == true ]] || echo "fetch-debs[$arch]: $*" >&2; }

for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "fetch-debs.sh: needs $tool (a Debian host)" >&2; exit 1; }
done

mkdir -p "$apt_dir"/{lists/partial,archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d} \
  "$sysroot" "$root/requests"
touch "$sysroot/.unpacked"

# Fast path: this exact request was served before and everything it needs is unpacked (or,
# with --debs, is still in the cache).
if [[ ${NYMOTE_DEBS_REFRESH:-} != 1 && -s $request_file ]]; then
  if ((debs_only)); then
    mapfile -t wanted <"$request_file"
    if (cd "$apt_dir/archives" && ls -- "${wanted[@]}") >/dev/null 2>&1; then
      sed "s|^|$apt_dir/archives/|" "$request_file"
      exit 0
    fi
  elif ! grep -qvxFf "$sysroot/.unpacked" "$request_file"; then
    echo "$sysroot"
    exit 0
  fi
fi

touch "$apt_dir/status"
# A changed sources list (another mirror or more components) needs fresh package lists.
sources="deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite $components"
sources_changed=0
if [[ $(cat "$apt_dir/etc/sources.list" 2>/dev/null) != "$sources" ]]; then
  echo "$sources" >"$apt_dir/etc/sources.list"
  sources_changed=1
fi

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

if [[ ${NYMOTE_DEBS_REFRESH:-} == 1 ]] || ((sources_changed)) || ! lists_present; then update_lists; fi

# Names the packages apt does not know, for the one-line error below.
unknown_packages() {
  local package
  for package in "$@"; do
    apt-cache "${apt_opts[@]}" show "$package" >/dev/null 2>&1 || printf '%s ' "$package"
  done
}

# Download (already cached .debs are not fetched again). A version gone from the mirror
# after a point release shows up as a failure here: refresh the lists once and retry.
download() { apt-get "${apt_opts[@]}" "${quiet[@]}" -y install --download-only "$@" >&2; }
if ! download "$@"; then
  update_lists
  if ! download "$@"; then
    unknown=$(unknown_packages "$@")
    if [[ -n $unknown ]]; then
      echo "fetch-debs.sh: no package ${unknown% } in $suite ($components) for $arch" >&2
    else
      echo "fetch-debs.sh: could not download $* (or a dependency) for $arch from $mirror" >&2
    fi
    exit 1
  fi
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
  ((debs_only)) && continue
  grep -qxF "$deb_file" "$sysroot/.unpacked" && continue
  dpkg-deb -x "${debs[0]}" "$sysroot"
  echo "$deb_file" >>"$sysroot/.unpacked"
  unpacked=$((unpacked + 1))
done <<<"$closure"

# Merged /usr: trixie ships files under /usr, while ELF interpreters are named /lib/ld-….
for dir in bin sbin lib; do
  if [[ ! -e $sysroot/$dir && -d $sysroot/usr/$dir ]]; then ln -s "usr/$dir" "$sysroot/$dir"; fi
done

if ((debs_only)); then
  printf '%s\n' "${served[@]}" >"$request_file"
  say "$(wc -l <<<"$closure") packages for $*"
  printf "$apt_dir/archives/%s\n" "${served[@]}"
  exit 0
fi

printf '%s\n' "${served[@]}" >"$request_file"
say "$(wc -l <<<"$closure") packages for $*; $unpacked newly unpacked into $sysroot"
echo "$sysroot"
