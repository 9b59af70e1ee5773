#!/usr/bin/env bash
# Run the structured ESP/AH mutator (scripts/helpers/espmut) in a QEMU guest.
#
#   scripts/run-mutate.sh --kernel NAME [--impl espah|intree] [--module PATH]
#        [--packets N] [--timeout SECS] [--verbose] [ESPMUT-OPTIONS...]
#
# --kernel   deb61 | deb612 | test (the debug kernel: KASAN, UBSAN, kmemleak,
#            lockdep, panic_on_warn)
# --impl     espah (default) or intree (the in-tree esp4/esp6/ah4/ah6)
# --module   espah.ko built for NAME (default build/NAME/espah.ko)
# --packets  packets over all cases (default 100000)
# --timeout  guest timeout in seconds (default: from --packets and the kernel)
# Everything else goes to espmut: --seed N, --only CASE, --case-packets N,
# --filter STR, --mutation NAME, --per-packet, --batch N, --no-frag, -v ...
# (espmut --help). The guest prints one "ok N - CASE" line per case, the
# seed, the rate, and a last "N passed, N failed" line; a failure prints
# the command that replays it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
say() { echo "[run-mutate] $*" >&2; }
usage() { sed -n '2,18p' "$0" >&2; exit 2; }

kernel="" impl=espah module="" packets=100000 timeout="" guest_verbose=()
args=()
while (( $# )); do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --impl) impl=$2; shift 2 ;;
    --module) module=$2; shift 2 ;;
    --packets) packets=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --verbose) guest_verbose=(--verbose); shift ;;
    -h|--help) usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ -n $kernel ]] || { say "--kernel NAME required"; usage; }
case $impl in espah|intree) ;; *) say "--impl must be espah or intree"; exit 2 ;; esac
# measured rates (README.mutator.md); the timeout leaves 3x room, plus boot
if [[ -z $timeout ]]; then
  if [[ $kernel == test ]]; then timeout=$(( 600 + packets / 100 ))
  else timeout=$(( 300 + packets / 300 )); fi
fi

modargs=()
if [[ $impl == espah ]]; then
  [[ -n $module ]] || module=$repo/build/$kernel/espah.ko
  [[ -f $module ]] || { say "$module not found: scripts/build.sh $kernel, or --module"; exit 2; }
  rel=$("$here/kernels.sh" release "$kernel")
  vm=$(modinfo -F vermagic "$module" 2>/dev/null | awk '{print $1}')
  [[ $vm == "$rel" ]] || { say "$module was built for '$vm', kernel $kernel is '$rel'"; exit 2; }
  modargs=(--module "$module")
fi

say "kernel=$kernel impl=$impl packets=$packets timeout=${timeout}s ${args[*]}"
t0=$(date +%s)
rc=0
"$here/run-guest.sh" --kernel "$kernel" "${modargs[@]}" --timeout "$timeout" \
  "${guest_verbose[@]}" "$here/guest/mutate.sh" "$impl" --packets "$packets" \
  "${args[@]}" || rc=$?
say "kernel=$kernel impl=$impl: exit $rc after $(( $(date +%s) - t0 ))s"
exit "$rc"
