#!/usr/bin/env bash
# Resolve espah's target kernels. Sourceable library and CLI.
#
#   scripts/kernels.sh list                  names: deb61 deb612 test
#   scripts/kernels.sh release NAME          kernel release (uname -r)
#   scripts/kernels.sh kdir NAME             KDIR for `make -C KDIR M=... modules`
#   scripts/kernels.sh image NAME            bootable bzImage/vmlinuz
#   scripts/kernels.sh moddir NAME           dir D holding D/lib/modules/RELEASE
#   scripts/kernels.sh fetch NAME            download/extract/build if missing (idempotent)
#   scripts/kernels.sh info NAME             all of the above as KEY=VALUE lines
#   (NAME may also be "all" for fetch/info)
#
# Names:
#   deb61  newest Debian bookworm linux-image-cloud-amd64 (6.1.0-NN-cloud-amd64)
#   deb612 newest Debian linux-image-6.12-cloud-amd64 (6.12.NN+deb12-cloud-amd64)
#   test   our debug kernel (scripts/build-testkernel.sh)
# Debian images are never installed on the host: `apt-get download` +
# `dpkg-deb -x` into $ESPAH_CACHE/debian/RELEASE/ ; headers come from apt.
# Env: ESPAH_CACHE (default /var/cache/espah); ESPAH_DEB61_RELEASE /
#      ESPAH_DEB612_RELEASE pin a release instead of asking apt.
#
# As a library:  source scripts/kernels.sh; espah_kernel_image deb61
set -euo pipefail 2>/dev/null || true

ESPAH_CACHE=${ESPAH_CACHE:-/var/cache/espah}
ESPAH_SCRIPTS=${ESPAH_SCRIPTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
ESPAH_KERNELS=(deb61 deb612 test)

_ek_log() { echo "[kernels] $*" >&2; }
_ek_die() { echo "[kernels] ERROR: $*" >&2; return 1; }

# Debian meta package whose Depends names the newest concrete image package.
_ek_meta() {
  case $1 in
    deb61)  echo linux-image-cloud-amd64 ;;
    deb612) echo linux-image-6.12-cloud-amd64 ;;
    *) _ek_die "not a Debian kernel: $1" ;;
  esac
}
_ek_fallback_glob() {
  case $1 in
    deb61)  echo '6.1.0-*-cloud-amd64' ;;
    deb612) echo '6.12.*+deb12-cloud-amd64' ;;
  esac
}

declare -A _EK_REL_CACHE=()
espah_kernel_release() {
  local name=$1 rel="" meta
  if [[ -n ${_EK_REL_CACHE[$name]:-} ]]; then echo "${_EK_REL_CACHE[$name]}"; return; fi
  case $name in
    deb61)  rel=${ESPAH_DEB61_RELEASE:-} ;;
    deb612) rel=${ESPAH_DEB612_RELEASE:-} ;;
    test)
      local o; o=$(espah_testkernel_odir) || return 1
      if [[ -f $o/.espah-release ]]; then rel=$(cat "$o/.espah-release")
      else rel="$(basename "$o" | sed 's/-[0-9a-f]\{12\}$//')-espahtest"; fi ;;
    *) _ek_die "unknown kernel name '$name' (want one of: ${ESPAH_KERNELS[*]})"; return 1 ;;
  esac
  local rcache=$ESPAH_CACHE/debian/resolved-$name
  if [[ -z $rel && -s $rcache && $rcache -nt /var/cache/apt/pkgcache.bin && $rcache -nt /var/lib/apt/lists ]]; then
    rel=$(cat "$rcache")   # resolved since the last apt-get update: skip apt-cache (~0.5 s)
  fi
  if [[ -z $rel ]]; then
    meta=$(_ek_meta "$name")
    rel=$(apt-cache show --no-all-versions "$meta" 2>/dev/null \
          | sed -n 's/^Depends:.*linux-image-\([^ ,]*\).*/\1/p' | head -1)
    if [[ -z $rel ]]; then
      # no apt lists (apt-get update not run?): newest installed headers
      local g; g=$(_ek_fallback_glob "$name")
      # shellcheck disable=SC2086
      rel=$(cd /usr/src && ls -d linux-headers-$g 2>/dev/null | sed 's/^linux-headers-//' | sort -V | tail -1)
      [[ -n $rel ]] || { _ek_die "cannot resolve $name: apt-cache knows no $meta (run scripts/install-deps.sh / apt-get update)"; return 1; }
      _ek_log "apt-cache has no $meta; using installed headers $rel"
    elif mkdir -p "$ESPAH_CACHE/debian" 2>/dev/null; then
      echo "$rel" > "$rcache.$$" 2>/dev/null && mv "$rcache.$$" "$rcache" || true
    fi
  fi
  _EK_REL_CACHE[$name]=$rel
  echo "$rel"
}

espah_testkernel_odir() { "$ESPAH_SCRIPTS/build-testkernel.sh" --print; }

espah_kernel_kdir() {
  local name=$1 rel
  if [[ $name == test ]]; then espah_testkernel_odir; return; fi
  rel=$(espah_kernel_release "$name") || return 1
  echo "/lib/modules/$rel/build"
}

espah_kernel_image() {
  local name=$1 rel
  if [[ $name == test ]]; then echo "$(espah_testkernel_odir)/arch/x86/boot/bzImage"; return; fi
  rel=$(espah_kernel_release "$name") || return 1
  echo "$ESPAH_CACHE/debian/$rel/boot/vmlinuz-$rel"
}

espah_kernel_moddir() {
  local name=$1 rel
  if [[ $name == test ]]; then echo "$(espah_testkernel_odir)/espah-modroot"; return; fi
  rel=$(espah_kernel_release "$name") || return 1
  echo "$ESPAH_CACHE/debian/$rel"
}

# Is everything for NAME present (no network / build needed)?
espah_kernel_ready() {
  local name=$1 rel
  rel=$(espah_kernel_release "$name") || return 1
  [[ -f $(espah_kernel_image "$name") && -f $(espah_kernel_moddir "$name")/.espah-ok \
     && -f $(espah_kernel_kdir "$name")/Makefile ]]
}

_ek_fetch_debian() {
  local name=$1 rel dest debs deb
  rel=$(espah_kernel_release "$name") || return 1
  if [[ ! -f /lib/modules/$rel/build/Makefile ]]; then
    _ek_log "installing headers linux-headers-$rel"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "linux-headers-$rel" >&2 \
      || { _ek_die "apt-get install linux-headers-$rel failed"; return 1; }
  fi
  dest=$ESPAH_CACHE/debian/$rel
  if [[ -f $dest/.espah-ok && -f $dest/boot/vmlinuz-$rel ]]; then return 0; fi
  debs=$ESPAH_CACHE/debian/debs
  mkdir -p "$debs"
  deb=$(ls "$debs"/linux-image-"$rel"_*.deb 2>/dev/null | sort -V | tail -1 || true)
  if [[ -z $deb ]]; then
    _ek_log "apt-get download linux-image-$rel -> $debs"
    (cd "$debs" && apt-get download -q "linux-image-$rel" >&2) \
      || { _ek_die "apt-get download linux-image-$rel failed (apt-get update needed?)"; return 1; }
    deb=$(ls "$debs"/linux-image-"$rel"_*.deb | sort -V | tail -1)
  fi
  _ek_log "extracting $(basename "$deb") -> $dest"
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
  dpkg-deb -x "$deb" "$dest.tmp"
  # bookworm ships lib/modules; be robust to usr/lib/modules (merged-/usr packages)
  if [[ ! -d $dest.tmp/lib/modules/$rel && -d $dest.tmp/usr/lib/modules/$rel ]]; then
    mkdir -p "$dest.tmp/lib/modules"; mv "$dest.tmp/usr/lib/modules/$rel" "$dest.tmp/lib/modules/"
  fi
  [[ -f $dest.tmp/boot/vmlinuz-$rel && -d $dest.tmp/lib/modules/$rel ]] \
    || { _ek_die "unexpected layout in $deb (no boot/vmlinuz-$rel or lib/modules/$rel)"; return 1; }
  depmod -b "$dest.tmp" -F "$dest.tmp/boot/System.map-$rel" "$rel" 2>/dev/null || depmod -b "$dest.tmp" "$rel"
  rm -rf "$dest"; mv "$dest.tmp" "$dest"
  date -u +%FT%TZ > "$dest/.espah-ok"
}

_ek_fetch_test() {
  local o rel mr
  o=$("$ESPAH_SCRIPTS/build-testkernel.sh") || { _ek_die "test kernel build failed"; return 1; }
  rel=$(cat "$o/.espah-release")
  mr=$o/espah-modroot
  if [[ -f $mr/.espah-ok && -d $mr/lib/modules/$rel ]]; then return 0; fi
  _ek_log "modules_install -> $mr"
  rm -rf "$mr"
  make -s -C "$o" INSTALL_MOD_PATH="$mr" modules_install >&2 \
    || { _ek_die "modules_install failed in $o"; return 1; }
  date -u +%FT%TZ > "$mr/.espah-ok"
}

espah_kernel_fetch() {
  local name=$1
  case $name in
    deb61|deb612) _ek_fetch_debian "$name" ;;
    test) _ek_fetch_test ;;
    *) _ek_die "unknown kernel name '$name' (want one of: ${ESPAH_KERNELS[*]})" ;;
  esac
}

espah_kernel_info() {
  local name=$1
  echo "NAME=$name"
  echo "RELEASE=$(espah_kernel_release "$name")"
  echo "KDIR=$(espah_kernel_kdir "$name")"
  echo "IMAGE=$(espah_kernel_image "$name")"
  echo "MODDIR=$(espah_kernel_moddir "$name")"
  if espah_kernel_ready "$name"; then echo "READY=1"; else echo "READY=0"; fi
}

_ek_main() {
  local cmd=${1:-} name=${2:-} n
  case $cmd in
    list) printf '%s\n' "${ESPAH_KERNELS[@]}"; return ;;
    release|kdir|image|moddir|fetch|info|ready) ;;
    ""|-h|--help|help) sed -n '2,22p' "${BASH_SOURCE[0]}"; return ;;
    *) _ek_die "unknown command '$cmd' (see --help)"; return 1 ;;
  esac
  [[ -n $name ]] || { _ek_die "usage: $0 $cmd NAME"; return 1; }
  if [[ $name == all ]]; then
    for n in "${ESPAH_KERNELS[@]}"; do _ek_main "$cmd" "$n"; done; return
  fi
  "espah_kernel_$cmd" "$name"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  _ek_main "$@"
fi
