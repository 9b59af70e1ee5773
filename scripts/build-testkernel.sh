#!/usr/bin/env bash
# Build the espah debug test kernel (KASAN/UBSAN/kmemleak/lockdep/KUnit) from
# Debian's linux-source-6.12, out of tree, cached by version + config fragment.
#
#   scripts/build-testkernel.sh            build (no-op on cache hit), print O= dir
#   scripts/build-testkernel.sh --print    print the O= dir it would use, build nothing
#   scripts/build-testkernel.sh --force    rebuild even if the stamp exists
#   scripts/build-testkernel.sh --config-only   (re)generate + verify .config only
#
# Env: ESPAH_CACHE (default /var/cache/espah), ESPAH_JOBS (default nproc+1),
#      ESPAH_TESTKERNEL_FRAGMENT (default scripts/testkernel.config),
#      ESPAH_KSRC_TARBALL (default /usr/src/linux-source-6.12.tar.xz)
# Output tree: $ESPAH_CACHE/testkernel/<kernelversion>-<sha256(fragment)[:12]>/
#   arch/x86/boot/bzImage, Module.symvers, build.log, .espah-build-ok
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ESPAH_CACHE=${ESPAH_CACHE:-/var/cache/espah}
TARBALL=${ESPAH_KSRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
FRAGMENT=${ESPAH_TESTKERNEL_FRAGMENT:-$here/testkernel.config}
JOBS=${ESPAH_JOBS:-$(( $(nproc) + 1 ))}
log() { echo "[build-testkernel] $*" >&2; }
die() { echo "[build-testkernel] ERROR: $*" >&2; exit 1; }

mode=build
case "${1:-}" in
  --print) mode=print ;;
  --force) mode=force ;;
  --config-only) mode=config ;;
  "") ;;
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  *) die "unknown argument: $1" ;;
esac

# --- kernel source ------------------------------------------------------------
srcname=$(basename "$TARBALL" .tar.xz)          # linux-source-6.12
SRC=$ESPAH_CACHE/$srcname
ensure_source() {
  [[ -f $TARBALL ]] || die "$TARBALL missing: run scripts/install-deps.sh (package linux-source-6.12)"
  local want; want=$(stat -c %Y:%s "$TARBALL")
  if [[ -f $SRC/Makefile && -f $SRC/.espah-extracted && $(cat "$SRC/.espah-extracted") == "$want" ]]; then
    return 0
  fi
  if [[ -f $SRC/Makefile && ! -f $SRC/.espah-extracted ]]; then
    # pre-existing extraction (e.g. done by hand): accept it if it's not older than the tarball
    if [[ $SRC/Makefile -nt $TARBALL || $(stat -c %Y "$SRC/Makefile") -ge $(stat -c %Y "$TARBALL") ]] ||
       [[ -n $(find "$SRC" -maxdepth 0 -newer "$TARBALL") ]]; then
      echo "$want" > "$SRC/.espah-extracted"; return 0
    fi
  fi
  log "extracting $TARBALL -> $SRC (about a minute)"
  rm -rf "$SRC.tmp"; mkdir -p "$SRC.tmp"
  tar -C "$SRC.tmp" -xJf "$TARBALL"
  rm -rf "$SRC"; mv "$SRC.tmp/$srcname" "$SRC"; rmdir "$SRC.tmp"
  echo "$want" > "$SRC/.espah-extracted"
}

fhash=$(sha256sum "$FRAGMENT" | cut -c1-12)
if [[ $mode == print ]]; then
  # no lock, no extraction: version from the extracted Makefile, else from dpkg
  if [[ -f $SRC/Makefile ]]; then
    kver=$(sed -n 's/^VERSION = //p;s/^PATCHLEVEL = //p;s/^SUBLEVEL = //p' "$SRC/Makefile" | paste -sd.)
  else
    kver=$(dpkg-query -W -f '${Version}' "$srcname" 2>/dev/null | sed 's/-[^-]*$//') \
      || die "$srcname not installed: run scripts/install-deps.sh"
  fi
  echo "$ESPAH_CACHE/testkernel/$kver-$fhash"; exit 0
fi

O=$("$here/$(basename "$0")" --print)
is_built() { [[ -f $O/.espah-build-ok && -f $O/arch/x86/boot/bzImage && -f $O/Module.symvers ]]; }
if [[ $mode == build ]] && is_built; then
  log "cache hit: $O"; echo "$O"; exit 0
fi

# one lock per output tree (builds of other fragments don't block), plus one for
# the shared source extraction
mkdir -p "$ESPAH_CACHE/testkernel"
exec 9>"$O.lock"
if ! flock -n 9; then log "another build of $O is running; waiting for it"; flock 9; fi
if [[ $mode == build ]] && is_built; then
  log "cache hit (built meanwhile): $O"; echo "$O"; exit 0
fi
exec 7>"$ESPAH_CACHE/.source.lock"; flock 7
ensure_source
flock -u 7
kver=$(make -s -C "$SRC" kernelversion)
[[ $O == "$ESPAH_CACHE/testkernel/$kver-$fhash" ]] || die "version mismatch: --print gave $O but source is $kver"

mkdir -p "$O"
BUILDLOG=$O/build.log
: > "$BUILDLOG"
rm -f "$O/.espah-build-ok"
MK=(make -C "$SRC" O="$O" ARCH=x86_64)
start=$(date +%s)

log "configuring $kver (tinyconfig + $(basename "$FRAGMENT")) in $O"
"${MK[@]}" tinyconfig >>"$BUILDLOG" 2>&1 || die "tinyconfig failed, see $BUILDLOG"
(cd "$O" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$O" "$O/.config" "$FRAGMENT") >>"$BUILDLOG" 2>&1 \
  || die "merge_config failed, see $BUILDLOG"
"${MK[@]}" olddefconfig >>"$BUILDLOG" 2>&1 || die "olddefconfig failed, see $BUILDLOG"

# --- verify every symbol of the fragment ended up as requested -----------------
missing=()
while IFS= read -r line; do
  if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
    sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
    got=$(grep -E "^$sym=" "$O/.config" | head -1 | cut -d= -f2- || true)
    [[ $got == "$val" ]] || missing+=("$sym: wanted $val, got ${got:-<unset>}")
  elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
    sym=${BASH_REMATCH[1]}
    got=$(grep -E "^$sym=" "$O/.config" | head -1 | cut -d= -f2- || true)
    [[ -z $got ]] || missing+=("$sym: wanted unset, got $got")
  fi
done < "$FRAGMENT"
if (( ${#missing[@]} )); then
  echo "[build-testkernel] ERROR: config symbols not set as requested (missing dependencies?):" >&2
  printf '    %s\n' "${missing[@]}" >&2
  echo "    config: $O/.config   fragment: $FRAGMENT   (check deps with: make -C $SRC O=$O menuconfig, '/' search)" >&2
  exit 1
fi
log "config verified ($(grep -c '^CONFIG_' "$FRAGMENT") fragment symbols OK)"
if [[ $mode == config ]]; then echo "$O"; exit 0; fi

# --- build ----------------------------------------------------------------------
log "building bzImage + modules with -j$JOBS (~10-15 min on 2 cores); log: $BUILDLOG"
( "${MK[@]}" -j"$JOBS" bzImage modules >>"$BUILDLOG" 2>&1; echo $? > "$O/.espah-make-rc" ) &
mpid=$!
while kill -0 "$mpid" 2>/dev/null; do
  sleep 30
  kill -0 "$mpid" 2>/dev/null || break
  log "  ... $(( $(date +%s) - start ))s, $(grep -c '^ *CC' "$BUILDLOG" || true) files compiled"
done
wait "$mpid" || true
rc=$(cat "$O/.espah-make-rc" 2>/dev/null || echo 1)
if [[ $rc != 0 ]]; then
  echo "[build-testkernel] ERROR: kernel build failed (rc=$rc); last lines of $BUILDLOG:" >&2
  grep -E 'error|Error' "$BUILDLOG" | tail -20 >&2 || true
  tail -30 "$BUILDLOG" >&2
  exit 1
fi
[[ -f $O/arch/x86/boot/bzImage && -f $O/Module.symvers ]] || die "build finished but bzImage/Module.symvers missing in $O"
"${MK[@]}" -s kernelrelease > "$O/.espah-release"
date -u +%FT%TZ > "$O/.espah-build-ok"
log "done in $(( $(date +%s) - start ))s: $O/arch/x86/boot/bzImage (release $(cat "$O/.espah-release"))"
echo "$O"
