#!/bin/sh
# e2e-all.sh - run the end-to-end guest suites in one boot and total them.
#
# usage: e2e-all.sh espah|intree [all|SUITE[,SUITE...]] [FILTER]
#
# Before the first suite runs, every suite's plan (its checks, and the
# checks the host's wire decoder makes on its exports) is printed as
# "# e2e-plan SUITE N HOST" (the suite run with E2E_PLAN_ONLY=1, see lib.sh);
# a suite that is not in the guest image fails at once. After each suite,
# "# e2e-result SUITE PASSED FAILED SKIPPED", where a suite that stopped
# without its summary line counts every planned check it did not pass as
# failed. The last line is the total over the suites; the exit status is
# nonzero if any check failed. scripts/run-e2e.sh reads the same lines from
# the console, so that a guest that dies counts the checks that never ran;
# each suite's exports go to the host as soon as it ends (export-flush.sh).
# The counters suite is espah's own: "all" leaves it out for intree.

here=$(cd "$(dirname "$0")" && pwd)
impl=${1:?usage: e2e-all.sh espah|intree [all|SUITE[,SUITE...]] [FILTER]}
which=${2:-all}
filter=${3:-}

case "$which" in
all)
	# transforms, features and crossfam run on request: --suite NAME
	suites="esp gateway ah counters async peer"
	[ "$impl" = intree ] && suites="esp gateway ah async peer" &&
		echo "# e2e-all: the counters suite is espah's own, left out for intree" ;;
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
plans=""
for suite in $suites; do
	if [ ! -f "$here/e2e-$suite.sh" ]; then
		echo "not ok - suite e2e-$suite # not in the guest image ($here/e2e-$suite.sh)"
		echo "# e2e-plan $suite 1 0"
		echo "# e2e-result $suite 0 1 0"
		f=$((f + 1)) rc=1
		continue
	fi
	# a suite without a plan (no e2e_plan, directly or through
	# e2e_suite_start) would run in full here
	if ! grep -q '^e2e_plan\|^e2e_suite_start' "$here/e2e-$suite.sh"; then
		echo "# e2e-plan $suite 0 0"
		plans="$plans $suite:0"
		continue
	fi
	pl=$(E2E_PLAN_ONLY=1 sh "$here/e2e-$suite.sh" "$impl" ${filter:+"$filter"} 2>/dev/null)
	n=$(echo "$pl" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | tail -n 1)
	h=$(echo "$pl" | sed -n 's/^# host-plan \([0-9][0-9]*\)$/\1/p' | tail -n 1)
	echo "# e2e-plan $suite ${n:-0} ${h:-0}"
	plans="$plans $suite:${n:-0}"
done

for sp in $plans; do
	suite=${sp%%:*} n=${sp#*:}
	echo "# ===== suite e2e-$suite ($impl)"
	out=/tmp/e2e-$suite.out
	sh "$here/e2e-$suite.sh" "$impl" ${filter:+"$filter"} | tee "$out"
	# the exit status of the suite is lost in the pipe: use its summary line
	r=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p' "$out" | tail -n 1)
	if [ -z "$r" ]; then
		# no summary: what it reported, and every other planned check failed
		sp=$(grep -c '^ok ' "$out") ss=$(grep -c '^ok .* # SKIP ' "$out")
		sf=$(grep -c '^not ok ' "$out")
		miss=$((n - sp - sf))
		[ "$miss" -gt 0 ] || miss=0
		echo "# suite e2e-$suite printed no summary (crashed?): $((sp - ss)) passed, $sf failed, $ss skipped, $miss of $n planned did not run"
		r="$((sp - ss)) $((sf + miss)) $ss"
	fi
	# shellcheck disable=SC2086
	set -- $r
	echo "# e2e-result $suite $1 $2 ${3:-0}"
	p=$((p + $1)); f=$((f + $2)); s=$((s + ${3:-0}))
	[ "$2" -eq 0 ] || rc=1
	# the suite's captures to the host now: they survive a later crash
	sh "$here/export-flush.sh"
done
echo "# ===== total over suites: $suites"
if [ "$s" -gt 0 ]; then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
exit $rc
