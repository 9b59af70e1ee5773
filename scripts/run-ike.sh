#!/usr/bin/env bash
# espah under real IKE daemons (strongSwan 5.9, libreswan 4.10, unchanged)
# in QEMU guests, then tshark on this host decrypts the captured ESP.
#
#   scripts/run-ike.sh --kernel NAME [--tier check|full] [--impl espah|intree]
#        [--filter STR] [--only single|pairs] [--timeout SECS] [--keep]
#
# Boots (one guest at a time, except a pair's two):
#   single  both nodes in one guest, LEFT=RIGHT=--impl (espah: the
#           blocked-host case installs espah the DKMS way; the others)
#   pairs   node right in a second guest joined over a QEMU UDP socket link
#           on 127.0.0.1 (scripts/guest/ike-agent.sh): espah <-> intree
#           (check), and also intree <-> espah (full); with --impl intree:
#           intree <-> intree
#   decode  tshark decrypts every exported capture with the SAs' keys (for
#           the transforms it supports) and checks the inner TCP payload
# --tier    check (default; the reduced matrix of `make check`) or full
#           (`make soak`); the case lists are in scripts/guest/e2e-ike.sh
# --filter  substrings of case names, comma-separated (e.g. rekey,v6 or ls-)
# --keep    keep the exported captures (default: only when something failed)
# Prints the guests' TAP-like lines prefixed with the boot, then
# "N passed, N failed[, N skipped]"; exit status 0 iff nothing failed.
# Logs: $ESPAH_LOGDIR (default /tmp/espah-logs)/ike-KERNEL-STAMP/
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
say() { echo "[run-ike] $*" >&2; }
usage() { sed -n '2,25p' "$0" >&2; exit 2; }

kernel="" tier=check impl=espah filter="" only="" timeout="" keep=0
while (( $# )); do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--tier) tier=$2; shift 2 ;;
	--impl) impl=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) usage ;;
	*) say "unknown argument $1"; usage ;;
	esac
done
[[ -n $kernel ]] || { say "--kernel NAME required"; usage; }
case $tier in check|full) ;; *) say "--tier must be check or full"; exit 2 ;; esac
case $impl in espah|intree) ;; *) say "--impl must be espah or intree"; exit 2 ;; esac
if [[ -z $timeout ]]; then
	timeout=900; [[ $tier == full ]] && timeout=5400
	[[ $kernel == test ]] && timeout=$((timeout * 4))
fi

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}/ike-$kernel-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logdir"
export ESPAH_LOGDIR=$logdir
t0=$(date +%s)
passed=0 failed=0 skipped=0
agent_pid=""
trap '[[ -n $agent_pid ]] && kill "$agent_pid" 2>/dev/null' EXIT

# --------------------------------------------------------------- inputs
module=$repo/build/$kernel/espah.ko
if [[ $impl == espah ]]; then
	[[ -f $module ]] || { say "$module missing: scripts/build.sh $kernel"; exit 2; }
	rel=$("$here/kernels.sh" release "$kernel")
	vm=$(modinfo -F vermagic "$module" 2>/dev/null | awk '{print $1}')
	[[ $vm == "$rel" ]] || { say "$module is built for '$vm', $kernel is '$rel': scripts/build.sh $kernel"; exit 2; }
fi
"$here/ike-daemons.sh" fetch-libreswan || exit 1
ESPAH_GUEST_EXTRA_TREES=$("$here/ike-daemons.sh" trees) || exit 1
export ESPAH_GUEST_EXTRA_TREES
mat=$logdir/material
"$here/ike-daemons.sh" material "$mat" || exit 1
cp "$here/espah-modprobe.conf" "$mat/"
[[ $impl == espah ]] && cp "$module" "$mat/espah.ko"
guest_args=(--kernel "$kernel" --timeout "$timeout" --file "$mat:/espah/ike-material"
            --env "IKE_TIER=$tier")

# --------------------------------------------------------------- results
# count SUMMARY-LINE: add a boot's "N passed, N failed[, N skipped]"
count() {
	local p f s
	read -r p f s < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p' <<<"$1")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
}
# finish_boot LABEL LOG STATUS: add the boot's counts; a boot that printed
# no summary or failed by itself (timeout, kernel report) is one failure
finish_boot() {
	local sum
	sum=$(sed -n 's/^  > \([0-9]* passed, [0-9]* failed.*\)$/\1/p' "$2" | tail -n 1)
	if [[ -n $sum ]]; then count "$sum"
	else    # it died on the way: what it had reported so far still counts
		count "$(grep -c '^  > ok ' "$2") passed, $(grep -c '^  > not ok ' "$2") failed"
	fi
	if [[ -z $sum ]] || [[ $3 != 0 && $3 != 1 ]]; then
		failed=$((failed + 1))
		echo "not ok - $1: the guest failed by itself (status $3): $(grep '^\[run-guest\] FAIL' "$2" | tail -n 1) log: $2"
	fi
}
# show LABEL: the guest's lines (run-guest.sh's "  > ") prefixed with LABEL
show() { sed -u -n "s/^  > /[$1] /p; /^\[run-guest\] \(FAIL\|PASS\|kernel\|qemu\)/s/^/[$1] /p"; }

free_udp_port() {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
nic() { echo "-netdev socket,id=ike,udp=127.0.0.1:$1,localaddr=127.0.0.1:$2 -device virtio-net-pci,netdev=ike,mac=$3,romfile="; }

# --------------------------------------------------------------- boots
run_single() {
	local log=$logdir/single.log st
	say "boot single: left=right=$impl, tier $tier${filter:+, filter $filter}"
	# espah is not in the guest's module tree: the blocked-host case
	# installs it the DKMS way; the other cases insmod it
	ESPAH_QEMU_EXTRA="" "$here/run-guest.sh" "${guest_args[@]}" --export "$logdir/export/single" \
		--env ESPAH_KO=/espah/ike-material/espah.ko \
		--env IKE_ESPAH_DKMS_KO=/espah/ike-material/espah.ko \
		"$here/guest/e2e-ike.sh" "$impl" ${filter:+"$filter"} 2>&1 | tee "$log" | show single
	st=${PIPESTATUS[0]}
	finish_boot single "$log" "$st"
}

# run_pair LEFT-IMPL RIGHT-IMPL
run_pair() {
	local l=$1 r=$2 label=pair-$1-$2 pa pb st ast alog clog
	alog=$logdir/$label-agent.log clog=$logdir/$label.log
	pa=$(free_udp_port); pb=$(free_udp_port)
	say "boot pair: left $l (first guest), right $r (second guest), link 127.0.0.1:$pa <-> 127.0.0.1:$pb"
	local lmod=() rmod=()
	[[ $l == espah ]] && lmod=(--module "$module")
	[[ $r == espah ]] && rmod=(--module "$module")
	ESPAH_QEMU_EXTRA=$(nic "$pa" "$pb" 52:54:00:1e:61:02) \
		"$here/run-guest.sh" "${guest_args[@]}" "${rmod[@]}" --mem 1024 --export "$logdir/export/$label-right" \
		"$here/guest/ike-agent.sh" "$r" >"$alog" 2>&1 &
	agent_pid=$!
	ESPAH_QEMU_EXTRA=$(nic "$pb" "$pa" 52:54:00:1e:61:01) \
		"$here/run-guest.sh" "${guest_args[@]}" "${lmod[@]}" --mem 1024 --export "$logdir/export/$label" \
		--env "IKE_PAIR=$r" "$here/guest/e2e-ike.sh" "$l" ${filter:+"$filter"} 2>&1 | tee "$clog" | show "$label"
	st=${PIPESTATUS[0]}
	# the first guest told the agent to stop; give it time to export and end
	for _ in $(seq 120); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 1; done
	kill "$agent_pid" 2>/dev/null
	wait "$agent_pid"; ast=$?
	agent_pid=""
	show "$label-agent" <"$alog" | grep -E '\] (not )?ok |passed,|FAIL' || true
	finish_boot "$label" "$clog" "$st"
	finish_boot "$label-agent" "$alog" "$ast"
}

if [[ $only != pairs ]]; then run_single; fi
if [[ $only != single ]]; then
	if [[ $impl == intree ]]; then run_pair intree intree
	else
		run_pair espah intree
		[[ $tier == full ]] && run_pair intree espah
	fi
fi

# --------------------------------------------------------------- decode
if [[ -d $logdir/export ]]; then
	say "tshark: decrypting the captured ESP with the SAs' keys"
	dlog=$logdir/decode.log
	python3 "$here/ike-decode.py" "$logdir/export" 2>&1 | tee "$dlog" | sed -u 's/^/[decode] /'
	count "$(tail -n 1 "$dlog")"
	grep -q 'passed, [0-9]* failed' "$dlog" || { failed=$((failed + 1)); echo "not ok - decode: the decoder printed no summary ($dlog)"; }
fi

# the CPU time the guests and tools used: the wall time depends on what
# else runs on the host, this does not (2 cores: wall >= CPU / 2)
times >"$logdir/times"     # (not in a pipe: a subshell has no children)
cpu=$(tail -n 1 "$logdir/times" | awk '{ for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] } printf "%d", s }')
say "kernel $kernel, tier $tier, impl $impl: wall $(( $(date +%s) - t0 ))s, CPU ${cpu}s (load average now $(cut -d' ' -f1 /proc/loadavg)), logs in $logdir"
if (( failed == 0 && keep == 0 )); then rm -rf "$logdir/export"; fi
if (( skipped )); then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
(( failed == 0 ))
