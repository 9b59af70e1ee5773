#!/usr/bin/env bash
# Build a gzip cpio initramfs for an espah QEMU guest.
#
#   scripts/mkinitramfs.sh --kernel NAME -o OUT.cpio.gz [--module FILE.ko ...]
#        [--file SRC:DEST ...] [--env KEY=VALUE ...] [--] GUEST_SCRIPT [ARGS...]
#
# The initrd is the concatenation of three gzip'd newc archives (the kernel
# unpacks them in order, later files win):
#   1. base    busybox-static + real tools (bash ip tc ss bridge tcpdump socat
#              iperf3 nft kmod coreutils bits ...) with their shared libs, /etc
#              bits and /init.  Cached: $ESPAH_CACHE/initramfs/base-<hash>.cpio.gz
#   2. modules lib/modules/RELEASE of the kernel (Debian: net, crypto, arch, lib,
#              virtio, drivers/net subset; test kernel: all).  Cached per kernel release:
#              $ESPAH_CACHE/initramfs/modules-<release>-<hash>.cpio.gz
#   3. run     /espah/*.ko (also lib/modules/REL/updates/espah/ + regenerated
#              modules.dep so `modprobe espah` resolves deps), /espah/guest/
#              (= repo scripts/guest/), /espah/run/{script,args,env}, --file's.
# Guest side: /init mounts proc/sys/dev/tmp/run/debugfs, brings lo up, runs the
# script (cwd /espah, stdin /dev/null) and prints ESPAH-GUEST-EXIT=<rc>, then
# on kmemleak kernels scans twice and dumps the report, then `reboot -f`.
# Env: ESPAH_CACHE, ESPAH_GUEST_EXTRA_BINS="prog ..." (extra host programs to copy)
#      ESPAH_GUEST_EXTRA_TREES="SRC[:DEST] ..." (host files or directories copied
#      to DEST, default SRC, with the shared libs of every ELF file among them:
#      IKE daemons with their plugins and helper scripts; a fourth archive
#      between modules and run, cached as $ESPAH_CACHE/initramfs/extra-<hash>.cpio.gz)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=kernels.sh
source "$here/kernels.sh"
log() { echo "[mkinitramfs] $*" >&2; }
die() { echo "[mkinitramfs] ERROR: $*" >&2; exit 1; }

kernel="" out="" modules=() files=() envs=()
while (( $# )); do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    -o|--output) out=$2; shift 2 ;;
    --module) modules+=("$2"); shift 2 ;;
    --file) files+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
[[ -n $kernel && -n $out ]] || die "usage: $0 --kernel NAME -o OUT [--module F.ko] [--file S:D] GUEST_SCRIPT [ARGS]"
(( $# )) || die "no guest script given"
script=$1; shift
[[ -f $script ]] || die "guest script $script not found"

ICACHE=$ESPAH_CACHE/initramfs
mkdir -p "$ICACHE" "$ESPAH_CACHE/tmp"
rel=$(espah_kernel_release "$kernel")
moddir=$(espah_kernel_moddir "$kernel")
[[ -d $moddir/lib/modules/$rel ]] || die "$moddir/lib/modules/$rel missing: run scripts/kernels.sh fetch $kernel"

mkcpio() { # DIR OUT.gz
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 > "$2.tmp.$$"
  mv "$2.tmp.$$" "$2"
}

# ------------------------------------------------------------------ base part
# shellcheck disable=SC2206  # ESPAH_GUEST_EXTRA_BINS is a word list
REAL_BINS=(bash ip tc ss bridge tcpdump socat iperf3 nft kmod timeout env xargs ethtool
           setsid nsenter unshare ${ESPAH_GUEST_EXTRA_BINS:-})
KMOD_LINKS=(modprobe insmod rmmod lsmod depmod modinfo)
PKGS_FOR_KEY=(busybox-static bash iproute2 tcpdump socat iperf3 nftables kmod coreutils findutils util-linux libc6 ethtool)
base_key=$( { sha256sum < "$0"; dpkg-query -W "${PKGS_FOR_KEY[@]}" 2>/dev/null; echo "${REAL_BINS[*]}"; } | sha256sum | cut -c1-12)
BASE=$ICACHE/base-$base_key.cpio.gz

build_base() {
  local r; r=$(mktemp -d "$ESPAH_CACHE/tmp/base.XXXXXX")
  log "building base initramfs ($BASE)"
  mkdir -p "$r"/usr/{bin,sbin,lib,lib64} "$r"/{proc,sys,dev,tmp,run,root,etc,espah,mnt,var}
  ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
  ln -s ../run "$r/var/run"; mkdir -p "$r/var/tmp" "$r/var/log"
  [[ $(id -u) == 0 ]] && { mknod -m 600 "$r/dev/console" c 5 1; mknod -m 666 "$r/dev/null" c 1 3; }
  local bin src dst name
  copy_elf() { # SRC DST(path inside root)
    mkdir -p "$(dirname "$r$2")"; cp -L "$1" "$r$2"
    ldd "$1" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
      [[ -e $r$lib ]] && continue
      mkdir -p "$(dirname "$r$lib")"; cp -L "$lib" "$r$lib"
    done
  }
  declare -A have=()
  for bin in "${REAL_BINS[@]}"; do
    src=$(command -v "$bin") || die "host program '$bin' missing (scripts/install-deps.sh)"
    # keep the host's path (/usr/sbin/ip ...), but under /usr
    dst=$src; [[ $dst == /usr/* ]] || dst=/usr$dst
    copy_elf "$(readlink -f "$src")" "$dst"
    have[$bin]=1
  done
  for name in "${KMOD_LINKS[@]}"; do ln -sf /usr/bin/kmod "$r/usr/sbin/$name"; have[$name]=1; done
  ln -sf bash "$r/usr/bin/sh"; have[sh]=1
  cp -L /bin/busybox "$r/usr/bin/busybox"
  while read -r applet; do
    name=$(basename "$applet")
    [[ -n ${have[$name]:-} || $name == busybox ]] && continue
    case $applet in sbin/*|usr/sbin/*) dst=/usr/sbin/$name ;; *) dst=/usr/bin/$name ;; esac
    [[ -e $r$dst || -L $r$dst ]] || ln -s /usr/bin/busybox "$r$dst"
  done < <(/bin/busybox --list-full)
  # /etc
  printf 'root:x:0:0:root:/root:/bin/sh\ntcpdump:x:0:0:tcpdump:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\ntcpdump:x:0:\nnogroup:x:65534:\n' > "$r/etc/group"
  printf '127.0.0.1 localhost espah-guest\n::1 localhost ip6-localhost\n' > "$r/etc/hosts"
  printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n' > "$r/etc/nsswitch.conf"
  cp /etc/protocols /etc/services "$r/etc/" 2>/dev/null || true
  [[ -d /etc/iproute2 ]] && cp -a /etc/iproute2 "$r/etc/"
  mkdir -p "$r/usr/share"; [[ -d /usr/share/iproute2 ]] && cp -a /usr/share/iproute2 "$r/usr/share/"
  echo espah-guest > "$r/etc/hostname"
  write_init > "$r/init"; chmod 755 "$r/init"
  mkcpio "$r" "$BASE"
  rm -rf "$r"
  # prune stale base images (other tool versions / script revisions) after a day
  find "$ICACHE" -maxdepth 1 -name 'base-*.cpio.gz' ! -name "$(basename "$BASE")" -mmin +1440 -delete 2>/dev/null || true
}

write_init() {
cat <<'INIT'
#!/bin/sh
# espah guest init (generated by scripts/mkinitramfs.sh)
export PATH=/usr/sbin:/usr/bin HOME=/root TERM=dumb LANG=C
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /sys/kernel/debug
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /run/netns
hostname espah-guest
ip link set lo up
[ -f /espah/run/env ] && . /espah/run/env
[ -n "${ESPAH_EXPORT:-}" ] && mkdir -p "$ESPAH_EXPORT"
echo "ESPAH-GUEST-BOOTED kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
KMEMLEAK=/sys/kernel/debug/kmemleak
if [ -w $KMEMLEAK ] && ! grep -qw espah.kmemleak_noprescan /proc/cmdline; then
  # forget boot-time suspects so the final report only shows the test's leaks
  echo scan > $KMEMLEAK; echo clear > $KMEMLEAK
fi
# no automatic scans (boot + 60 s, then every 10 min): under TCG one takes
# minutes and slows every allocation meanwhile; the scans at the end judge
[ -w $KMEMLEAK ] && echo scan=off > $KMEMLEAK
set --
while IFS= read -r a; do set -- "$@" "$a"; done < /espah/run/args
script=$(cat /espah/run/script)
cd /espah
echo "ESPAH-GUEST-START script=$script uptime=$(cut -d' ' -f1 /proc/uptime)"
"$script" "$@" < /dev/null
rc=$?
# run-guest.sh --export: what the script left in $ESPAH_EXPORT goes to the
# host as a tar archive on the raw virtio disk (after those the script sent
# itself with the same helper)
sh /espah/guest/export-flush.sh
echo "ESPAH-GUEST-EXIT=$rc"
echo "ESPAH-GUEST-END uptime=$(cut -d' ' -f1 /proc/uptime)"
if [ -w $KMEMLEAK ]; then
  echo "ESPAH-KMEMLEAK-SCAN (waiting 6s for objects to age)"
  sleep 6
  echo scan > $KMEMLEAK; echo scan > $KMEMLEAK
  cat $KMEMLEAK
  echo "ESPAH-KMEMLEAK-DONE"
fi
sync
echo "ESPAH-GUEST-POWEROFF"
reboot -f
sleep 30
INIT
}

exec 8>"$ICACHE/.lock"; flock 8
[[ -f $BASE ]] || build_base

# --------------------------------------------------------------- modules part
mstamp=$(cat "$moddir/.espah-ok" 2>/dev/null || echo none)
mod_key=$( { echo "$rel $mstamp"; sed -n '/^select_modules()/,/^}/p' "$0"; } | sha256sum | cut -c1-12)
MODS=$ICACHE/modules-$rel-$mod_key.cpio.gz

select_modules() { # prints paths relative to lib/modules/REL
  local m=$1
  (cd "$m" && ls -d modules.* 2>/dev/null)
  if [[ $kernel == test ]]; then (cd "$m" && ls -d kernel); return; fi
  (cd "$m" && ls -d kernel/net kernel/crypto kernel/arch kernel/lib kernel/drivers/net/vxlan kernel/drivers/net/ipvlan kernel/drivers/virtio 2>/dev/null)
  (cd "$m" && ls kernel/drivers/block/virtio_blk.ko* 2>/dev/null)
  (cd "$m" && find kernel/drivers/net -maxdepth 1 -name '*.ko*')
}
build_modules() {
  local r m p; r=$(mktemp -d "$ESPAH_CACHE/tmp/mods.XXXXXX")
  m=$moddir/lib/modules/$rel
  log "building modules initramfs for $rel ($MODS)"
  mkdir -p "$r/usr/lib/modules/$rel"
  select_modules "$m" | while read -r p; do
    mkdir -p "$r/usr/lib/modules/$rel/$(dirname "$p")"
    cp -a "$m/$p" "$r/usr/lib/modules/$rel/$p"
  done
  mkcpio "$r" "$MODS"
  rm -rf "$r"
}
[[ -f $MODS ]] || build_modules

# ------------------------------------------------------------ extra trees part
# ESPAH_GUEST_EXTRA_TREES: programs that need more than their ELF binary
# (charon's plugins, pluto's helpers, NSS's dlopen()ed modules). Keyed by the
# list and every file's size and mtime, so a package upgrade rebuilds it.
extra_trees_key() {
  local spec
  sed -n '/^build_extra()/,/^}/p' "$0"
  for spec in $ESPAH_GUEST_EXTRA_TREES; do
    echo "$spec"
    [[ -e ${spec%%:*} ]] || die "ESPAH_GUEST_EXTRA_TREES: ${spec%%:*} not found"
    find -L "${spec%%:*}" -printf '%p %s %T@\n' | LC_ALL=C sort
  done
}
build_extra() {
  local r spec src dst f lib; r=$(mktemp -d "$ESPAH_CACHE/tmp/extra.XXXXXX")
  log "building extra-trees initramfs ($EXTRA)"
  # no /lib, /bin ... symlinks here (the base archive has them): paths go under /usr
  usrpath() { case $1 in /lib/*|/lib64/*|/bin/*|/sbin/*) echo "/usr$1" ;; *) echo "$1" ;; esac; }
  for spec in $ESPAH_GUEST_EXTRA_TREES; do
    src=${spec%%:*}; dst=$src; [[ $spec == *:* ]] && dst=${spec#*:}
    dst=$(usrpath "$dst")
    mkdir -p "$(dirname "$r$dst")"
    if [[ -d $src ]]; then mkdir -p "$r$dst"; cp -a "$src/." "$r$dst/"
    else cp -L "$src" "$r$dst"; fi
  done
  # the shared libraries of every ELF file (programs and dlopen()ed plugins)
  find "$r" -type f -print0 | while IFS= read -r -d '' f; do
    [[ $(head -c 4 "$f" | od -An -c | tr -d ' ') == 177ELF ]] || continue
    ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
      dst=$(usrpath "$lib")
      [[ -e $r$dst || ! -e $lib ]] && continue
      mkdir -p "$(dirname "$r$dst")"; cp -L "$lib" "$r$dst"
    done
  done
  mkcpio "$r" "$EXTRA"
  rm -rf "$r"
}
EXTRA=""
if [[ -n ${ESPAH_GUEST_EXTRA_TREES:-} ]]; then
  EXTRA=$ICACHE/extra-$(extra_trees_key | sha256sum | cut -c1-12).cpio.gz
  [[ -f $EXTRA ]] || build_extra
fi
flock -u 8

# ------------------------------------------------------------------- run part
r=$(mktemp -d "$ESPAH_CACHE/tmp/run.XXXXXX")
trap 'rm -rf "$r" "${dm:-}"' EXIT
mkdir -p "$r/espah/run" "$r/espah/guest"
[[ -d $repo/scripts/guest ]] && cp -a "$repo/scripts/guest/." "$r/espah/guest/"
# Test helpers (scripts/helpers/*.c) and tools go in as static binaries on PATH,
# compiled once per source version.
mkdir -p "$r/usr/bin" "$ESPAH_CACHE/helpers"
for hsrc in "$repo"/scripts/helpers/*.c "$repo"/tools/*.c; do
  [[ -f $hsrc ]] || continue
  hname=$(basename "$hsrc" .c)
  # (the helpers' shared headers are part of every helper's version)
  hbin=$ESPAH_CACHE/helpers/$hname-$(cat "$hsrc" "$repo"/scripts/helpers/*.h 2>/dev/null | sha256sum | cut -c1-12)
  if [[ ! -x $hbin ]]; then
    gcc -static -O2 -Wall -I "$repo/include" -o "$hbin.tmp.$$" "$hsrc" || die "cannot compile $hsrc"
    mv "$hbin.tmp.$$" "$hbin"
  fi
  cp "$hbin" "$r/usr/bin/$hname"
done
# Helpers of several files (scripts/helpers/NAME/*.c) build into one program
# NAME; an optional NAME/LDLIBS names the libraries it links (statically).
# Keyed by every file of the directory and the KUnit vector headers, which
# a helper may include to check itself against the published vectors.
for hdir in "$repo"/scripts/helpers/*/; do
  [[ -d $hdir ]] || continue
  hname=$(basename "$hdir")
  hkey=$(cat "$hdir"* "$repo"/kunit/*_vectors.h 2>/dev/null | sha256sum | cut -c1-12)
  hbin=$ESPAH_CACHE/helpers/$hname-$hkey
  if [[ ! -x $hbin ]]; then
    # shellcheck disable=SC2046  # LDLIBS is a word list
    gcc -static -O2 -Wall -I "$repo/include" -o "$hbin.tmp.$$" "$hdir"*.c \
      $(cat "$hdir/LDLIBS" 2>/dev/null) -Wl,--no-warnings || die "cannot compile $hdir"
    mv "$hbin.tmp.$$" "$hbin"
  fi
  cp "$hbin" "$r/usr/bin/$hname"
done
sabs=$(readlink -f "$script")
if [[ $sabs == "$repo/scripts/guest/"* ]]; then
  echo "/espah/guest/${sabs#"$repo/scripts/guest/"}" > "$r/espah/run/script"
else
  cp "$sabs" "$r/espah/run/$(basename "$sabs")"
  echo "/espah/run/$(basename "$sabs")" > "$r/espah/run/script"
fi
chmod +x "$r$(cat "$r/espah/run/script")"
: > "$r/espah/run/args"
for a in "$@"; do [[ $a != *$'\n'* ]] || die "guest args must not contain newlines"; printf '%s\n' "$a" >> "$r/espah/run/args"; done
{
  printf 'export ESPAH_KERNEL=%q ESPAH_KERNEL_RELEASE=%q\n' "$kernel" "$rel"
  mods_in_guest=""
  for f in "${modules[@]}"; do mods_in_guest+="/espah/$(basename "$f") "; done
  printf 'export ESPAH_MODULES=%q\n' "${mods_in_guest% }"
  for e in "${envs[@]}"; do printf 'export %q=%q\n' "${e%%=*}" "${e#*=}"; done
} > "$r/espah/run/env"

if (( ${#modules[@]} )); then
  upd=$r/usr/lib/modules/$rel/updates/espah
  mkdir -p "$upd"
  # reference vermagic from an in-tree module of this kernel (release + SMP/preempt/... flags)
  refko=$(find "$moddir/lib/modules/$rel/kernel" -name 'esp4.ko*' -o -name 'veth.ko*' 2>/dev/null | head -1)
  refvm=$( [[ -n $refko ]] && modinfo -F vermagic "$refko" 2>/dev/null | xargs || true)
  for f in "${modules[@]}"; do
    [[ -f $f ]] || die "module $f not found"
    cp "$f" "$r/espah/"; cp "$f" "$upd/"
    vm=$(modinfo -F vermagic "$f" 2>/dev/null | xargs)
    if [[ ${vm%% *} != "$rel" ]] || [[ -n $refvm && $vm != "$refvm" ]]; then
      log "WARNING: $f vermagic '$vm' != kernel's '${refvm:-$rel}': rebuild it against \$(scripts/kernels.sh kdir $kernel) or it won't load"
    fi
  done
  # regenerate modules.dep & co. so `modprobe <name>` finds updates/espah/*.ko and their deps
  dm=$(mktemp -d "$ESPAH_CACHE/tmp/depmod.XXXXXX")
  mkdir -p "$dm/lib/modules"
  cp -al "$moddir/lib/modules/$rel" "$dm/lib/modules/$rel" 2>/dev/null || cp -a "$moddir/lib/modules/$rel" "$dm/lib/modules/$rel"
  rm -f "$dm/lib/modules/$rel"/modules.*.bin "$dm/lib/modules/$rel"/modules.{dep,alias,symbols,softdep,devname}  # don't write through hardlinks
  cp -a "$upd" "$dm/lib/modules/$rel/updates-espah-tmp" && mkdir -p "$dm/lib/modules/$rel/updates" && mv "$dm/lib/modules/$rel/updates-espah-tmp" "$dm/lib/modules/$rel/updates/espah"
  depmod -b "$dm" "$rel" || die "depmod failed for $rel with ${modules[*]}"
  cp "$dm/lib/modules/$rel"/modules.{dep,dep.bin,alias,alias.bin,symbols,symbols.bin,softdep} "$r/usr/lib/modules/$rel/" 2>/dev/null || true
fi
for spec in "${files[@]}"; do
  src=${spec%%:*} dst=${spec#*:}
  [[ $spec == *:* && -n $dst ]] || die "--file wants SRC:DEST, got '$spec'"
  [[ -e $src ]] || die "--file source $src not found"
  mkdir -p "$r$(dirname "$dst")"; cp -a "$src" "$r$dst"
done
RUNCPIO=$r.cpio.gz
mkcpio "$r" "$RUNCPIO"
cat "$BASE" "$MODS" ${EXTRA:+"$EXTRA"} "$RUNCPIO" > "$out"
rm -f "$RUNCPIO"
log "initramfs $out ($(du -h "$out" | cut -f1): base $(du -h "$BASE" | cut -f1), modules $(du -h "$MODS" | cut -f1))"
