#!/usr/bin/env bash
# Run the espah end-to-end IPsec tests (scripts/guest/e2e-*.sh) in a QEMU guest.
#
#   scripts/run-e2e.sh --kernel NAME [--impl espah|intree] [--module PATH]
#        [--suite esp|gateway|all] [--filter STR] [--timeout SECS] [-- RUN-GUEST-OPTS...]
#
# --kernel   deb61 | deb612 | test (scripts/kernels.sh)
# --impl     espah (default): insmod espah.ko, in-tree esp4/esp6/ah4/ah6 kept out;
#            intree: modprobe esp4 esp6 (validates the tests themselves)
# --module   espah.ko built against NAME (default: the first of build/NAME/,
#            module/, ./ espah.ko); its vermagic must match the kernel release
# --suite    esp (host-to-host, v4/v6 x transport/tunnel x gcm/cbc+hmac),
#            ah, counters, async, transforms, features (scripts/guest/e2e-NAME.sh),
#            gateway (site-to-site tunnel + fwd policy), all (default)
# --filter   substring of case names, e.g. v6-tunnel, v4
# --timeout  guest timeout (default 1800 s; 3600 s for the debug "test" kernel)
# Everything after "--" goes to scripts/run-guest.sh (e.g. --verbose, --mem).
# Exit status: the guest's (0 = all passed), or run-guest.sh's failure code.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
say() { echo "[run-e2e] $*" >&2; }
usage() { sed -n '2,18p' "$0" >&2; exit 2; }

kernel="" impl=espah module="" suite=all filter="" timeout=""
extra=()
while (( $# )); do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --impl) impl=$2; shift 2 ;;
    --module) module=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    --filter) filter=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    *) say "unknown argument $1"; usage ;;
  esac
done
[[ -n $kernel ]] || { say "--kernel NAME required"; usage; }
# measured: ~3.5 min on deb61/deb612, ~17 min on the KASAN/lockdep test kernel
[[ -n $timeout ]] || { if [[ $kernel == test ]]; then timeout=3600; else timeout=1800; fi; }
case $impl in espah|intree) ;; *) say "--impl must be espah or intree"; exit 2 ;; esac
[[ $suite == all || -f $here/guest/e2e-$suite.sh ]] || { say "no suite '$suite' (scripts/guest/e2e-$suite.sh)"; exit 2; }
# The debug kernel moves a few Mbit/s: a smaller payload keeps its run short.
if [[ $kernel == test ]]; then extra=(--env E2E_PAYLOAD_CHUNKS=2 "${extra[@]}"); fi

modargs=()
if [[ $impl == espah ]]; then
  if [[ -z $module ]]; then
    for m in "$repo/build/$kernel/espah.ko" "$repo/module/espah.ko" "$repo/espah.ko"; do
      [[ -f $m ]] && { module=$m; break; }
    done
  fi
  [[ -n $module && -f $module ]] || { say "espah.ko for $kernel not found (tried build/$kernel/, module/, ./): build it (scripts/build.sh $kernel) or pass --module"; exit 2; }
  rel=$("$here/kernels.sh" release "$kernel")
  vm=$(modinfo -F vermagic "$module" 2>/dev/null | awk '{print $1}')
  if [[ $vm != "$rel" ]]; then
    say "$module was built for '$vm', kernel $kernel is '$rel': rebuild against $kernel or pass --module"
    exit 2
  fi
  modargs=(--module "$module")
fi

say "kernel=$kernel impl=$impl suite=$suite${filter:+ filter=$filter}${module:+ module=$module}"
t0=$(date +%s)
rc=0
"$here/run-guest.sh" --kernel "$kernel" "${modargs[@]}" --timeout "$timeout" "${extra[@]}" \
  "$here/guest/e2e-all.sh" "$impl" "$suite" ${filter:+"$filter"} || rc=$?
say "kernel=$kernel impl=$impl: exit $rc after $(( $(date +%s) - t0 ))s"
exit "$rc"
