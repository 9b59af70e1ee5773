#!/bin/sh
# e2e-all.sh - run the end-to-end guest suites in one boot and total them.
#
# usage: e2e-all.sh espah|intree [all|SUITE[,SUITE...]] [FILTER]
# Each suite prints its own TAP-like lines and "N passed, N failed"; the last
# line here is the total over the suites, and the exit status is nonzero if
# any suite failed.

here=$(cd "$(dirname "$0")" && pwd)
impl=${1:?usage: e2e-all.sh espah|intree [all|SUITE[,SUITE...]] [FILTER]}
which=${2:-all}
filter=${3:-}

case "$which" in
all)
	suites=""
	# transforms and features (issue 4) run on request: --suite NAME
	for s in esp gateway ah counters async peer; do
		[ -f "$here/e2e-$s.sh" ] && suites="$suites $s"
	done ;;
*) suites=$(echo "$which" | tr ',' ' ') ;;
esac

# The peer suite's virtio NIC (added by scripts/run-e2e.sh) shows up as eth0
# in the initial netns when the driver is built in, and the other suites
# create veths called eth0: move its name aside. e2e-peer.sh finds it by MAC.
for d in /sys/class/net/*; do
	[ "$(cat "$d/address" 2>/dev/null)" = 52:54:00:e5:9a:01 ] &&
		/usr/sbin/ip link set dev "${d##*/}" name peer0
done

rc=0 p=0 f=0 s=0
for suite in $suites; do
	echo "# ===== suite e2e-$suite ($impl)"
	out=/tmp/e2e-$suite.out
	[ -f "$here/e2e-$suite.sh" ] || { echo "unknown suite '$suite'"; exit 2; }
	sh "$here/e2e-$suite.sh" "$impl" ${filter:+"$filter"} | tee "$out"
	r=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p' "$out" | tail -n 1)
	# the exit status of the suite is lost in the pipe: use its summary line
	if [ -z "$r" ]; then
		echo "# suite e2e-$suite printed no summary (crashed?)"
		rc=1; f=$((f + 1)); continue
	fi
	# shellcheck disable=SC2086
	set -- $r
	p=$((p + $1)); f=$((f + $2)); s=$((s + ${3:-0}))
	[ "$2" -eq 0 ] || rc=1
done
echo "# ===== total over suites: $suites"
if [ "$s" -gt 0 ]; then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
exit $rc
