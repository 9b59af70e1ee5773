#!/usr/bin/env bash
# Run the espah end-to-end IPsec tests (scripts/guest/e2e-*.sh) in a QEMU guest.
#
#   scripts/run-e2e.sh --kernel NAME [--impl espah|intree] [--module PATH]
#        [--suite all|SUITE[,SUITE...]] [--filter STR] [--timeout SECS] [-- RUN-GUEST-OPTS...]
#
# --kernel   deb61 | deb612 | test (scripts/kernels.sh)
# --impl     espah (default): insmod espah.ko, in-tree esp4/esp6/ah4/ah6 kept out;
#            intree: modprobe esp4 esp6 (validates the tests themselves)
# --module   espah.ko built against NAME (default: the first of build/NAME/,
#            module/, ./ espah.ko); its vermagic must match the kernel release
# --suite    esp (host-to-host, v4/v6 x transport/tunnel x gcm/cbc+hmac),
#            ah, counters, async, transforms, features, peer (scripts/guest/e2e-NAME.sh;
#            peer and all start scapy on the host as the other end of a virtio NIC),
#            gateway (site-to-site tunnel + fwd policy), crossfam (every
#            mode with different inner/outer families, BEET), selftest (the
#            kernel's tools/testing/selftests/net/ipsec.c), offload (GSO/GRO,
#            the late path), order (wire order with asynchronous crypto),
#            pagecache (page cache, zerocopy, taps), config (SA configuration
#            matrix), churn (SA and module churn under traffic), faults
#            (fault injection, debug kernel), all (default: esp gateway ah
#            counters async peer)
# --filter   substring of case names, e.g. v6-tunnel, v4
# --timeout  guest timeout (default 1800 s; 3600 s for the debug "test" kernel)
# Everything after "--" goes to scripts/run-guest.sh (e.g. --verbose, --mem).
#
# The guest exports what its suites captured (run-guest.sh --export), and
# scripts/wire-check.py then checks every captured frame on the host (its
# TAP lines follow the guest's). The last line counts every check: the
# guest's, per suite as e2e-all.sh reported it or, for a suite the guest did
# not finish, each planned check it did not pass as failed (the plans are
# printed before the first suite runs), plus the host's, where each planned
# host check that did not run (nothing exported) fails:
#   "total: N passed, N failed[, N skipped]"
# Exit status: 0 if every check passed and the guest exited cleanly, else
# the guest's or run-guest.sh's failure code, or 1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
say() { echo "[run-e2e] $*" >&2; }
usage() { sed -n '2,36p' "$0" >&2; exit 2; }

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
if [[ $suite != all ]]; then
  for s in ${suite//,/ }; do
    [[ -f $here/guest/e2e-$s.sh ]] || { say "no suite '$s' (scripts/guest/e2e-$s.sh)"; exit 2; }
    if [[ $s == counters && $impl == intree ]]; then
      say "the counters suite tests espah's own counters: it has nothing to test with --impl intree"
      exit 2
    fi
  done
fi
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
# the test-only crypto module the order suite loads (scripts/build.sh --testmod)
testcrypt=$repo/build/$kernel/testmod/espah_testcrypt.ko
if [[ ($suite == all || ,$suite, == *,order,* || ,$suite, == *,async,* ||
      ,$suite, == *,churn,*) && -f $testcrypt ]]; then
  modargs+=(--module "$testcrypt")
fi

# The peer suite talks to scapy (scripts/ipsec-peer.py) on this host over a
# QEMU UDP socket link: every datagram is one Ethernet frame, on loopback only.
peer_pid=""
stop_peer() { [[ -z $peer_pid ]] || kill "$peer_pid" 2>/dev/null || true; }
trap stop_peer EXIT
free_udp_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_peer() {
  local logdir=${ESPAH_LOGDIR:-/tmp/espah-logs} qport hport
  mkdir -p "$logdir"
  peer_log=$logdir/peer-$kernel-$impl-$(date +%Y%m%d-%H%M%S)-$$.log
  qport=$(free_udp_port)
  /usr/bin/python3 "$here/ipsec-peer.py" --port 0 --qemu-port "$qport" --log "$peer_log" \
    > "$peer_log.out" 2>&1 &
  peer_pid=$!
  for _ in $(seq 100); do
    grep -q 'ready port=' "$peer_log.out" 2>/dev/null && break
    kill -0 "$peer_pid" 2>/dev/null || break
    sleep 0.2
  done
  hport=$(sed -n 's/.*ready port=\([0-9]*\).*/\1/p' "$peer_log.out")
  if [[ -z $hport ]]; then
    say "the scapy peer did not start (python3-scapy, python3-cryptography?): $(tail -3 "$peer_log.out")"
    return 1
  fi
  export ESPAH_QEMU_EXTRA="${ESPAH_QEMU_EXTRA:-} -netdev socket,id=peer,udp=127.0.0.1:$hport,localaddr=127.0.0.1:$qport -device virtio-net-pci,netdev=peer,mac=52:54:00:e5:9a:01,romfile="
  extra=(--env ESPAH_PEER=1 "${extra[@]}")
  say "scapy peer on 127.0.0.1:$hport (guest end 127.0.0.1:$qport), log: $peer_log"
}
if [[ $suite == all || ,$suite, == *,peer,* ]]; then
  start_peer || exit 1
fi
# the kernel's own IPsec selftest, built from the kernel source
if [[ ,$suite, == *,selftest,* ]]; then
  st=$("$here/build-selftest.sh") || { say "cannot build the IPsec selftest"; exit 1; }
  extra=(--file "$st:/espah/bin/ipsec-selftest" "${extra[@]}")
fi

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
stamp=$kernel-$impl-$(date +%Y%m%d-%H%M%S)-$$
console=$logdir/$kernel-e2e-all-$stamp.log
export_dir=$logdir/wire-$stamp
say "kernel=$kernel impl=$impl suite=$suite${filter:+ filter=$filter}${module:+ module=$module}"
t0=$(date +%s)
rc=0
"$here/run-guest.sh" --kernel "$kernel" "${modargs[@]}" --timeout "$timeout" "${extra[@]}" \
  --log "$console" --export "$export_dir" \
  "$here/guest/e2e-all.sh" "$impl" "$suite" ${filter:+"$filter"} || rc=$?
say "kernel=$kernel impl=$impl: exit $rc after $(( $(date +%s) - t0 ))s"
if [[ -n $peer_pid && $rc != 0 ]]; then
  say "the scapy peer's log (what it decrypted, refused or saw in the clear): $peer_log"
fi

# ---- the host's checks of every captured frame
t1=$(date +%s)
wire_out=$export_dir.tap
/usr/bin/python3 "$here/wire-check.py" "$export_dir" > "$wire_out" 2>&1 || true
sed 's/^/  wire> /' "$wire_out" >&2
say "wire-check: $(grep -c '^\(not \)\?ok ' "$wire_out") host checks in $(( $(date +%s) - t1 ))s (captures: $export_dir)"

# ---- the count: guest (per suite, from the console) + host
# shellcheck disable=SC2016
tr -d '\r' < "$console" | awk -v wire="$wire_out" '
  function add(p, f, s) { P += p; F += f; S += s }
  /^# e2e-plan / { plan[$3] = $4; host += $5; order[++n] = $3; planned = 1; next }
  /^# ===== suite e2e-/ { cur = $3; sub(/^e2e-/, "", cur); started[cur] = 1; next }
  /^# e2e-result / { res[$3] = $4 " " $5 " " $6; next }
  /^ok / && cur != "" { if ($0 ~ / # SKIP /) sk[cur]++; else ok[cur]++; next }
  /^not ok / && cur != "" { nok[cur]++; next }
  END {
    if (!planned) {
      print "not ok - the guest printed no plan (it died before e2e-all.sh started its suites?)"
      F++
    }
    for (i = 1; i <= n; i++) {
      s = order[i]
      if (s in res) { split(res[s], r, " "); add(r[1], r[2], r[3]); continue }
      miss = plan[s] - ok[s] - sk[s] - nok[s]; if (miss < 0) miss = 0
      printf "not ok - suite %s did not finish: %d passed, %d failed, %d skipped, %d of %d planned checks did not run\n", \
        s, ok[s], nok[s], sk[s], miss, plan[s]
      # a suite without a plan (0) that did not finish still failed once
      add(ok[s], nok[s] + (miss > 0 ? miss : 1), sk[s])
    }
    wp = wf = ws = 0
    while ((getline line < wire) > 0) {
      if (line ~ /^ok / && line ~ / # SKIP /) ws++
      else if (line ~ /^ok /) wp++
      else if (line ~ /^not ok /) wf++
    }
    if (wp + wf + ws < host) {
      printf "not ok - %d of %d planned host checks did not run (nothing exported for them)\n", host - wp - wf - ws, host
      wf += host - wp - wf - ws
    } else if (wp + wf + ws > host) {
      printf "not ok - the host made %d checks, the plans say %d\n", wp + wf + ws, host
      wf++
    }
    printf "# guest: %d passed, %d failed, %d skipped; host: %d passed, %d failed, %d skipped\n", P, F, S, wp, wf, ws
    add(wp, wf, ws)
    printf "total: %d passed, %d failed", P, F
    if (S) printf ", %d skipped", S
    printf "\n"
    exit F > 0
  }' || { (( rc )) || rc=1; }
# keep the captures only when a host check failed
if ! grep -q '^not ok ' "$wire_out" 2>/dev/null; then rm -rf "$export_dir"; fi
exit "$rc"
