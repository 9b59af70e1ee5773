#!/bin/sh
# shellcheck shell=sh
# kunit.sh - run espah's KUnit suites inside the QEMU guest (busybox sh).
#
#   kunit.sh [espah|intree]
#
# espah (default): insmod espah.ko, in-tree esp4/esp6/ah4/ah6 kept out.
# intree:          modprobe esp4 esp6 (ah4 ah6) instead, to validate the tests.
# Then insmod espah_kunit.ko: the suites run synchronously inside insmod
# (kunit_module_init).  The module's KTAP document (and only it: not the
# kernel's empty "KTAP version 1 / 1..0" block from boot) is printed between
# the lines ESPAH-KUNIT-KTAP-BEGIN / ESPAH-KUNIT-KTAP-END, rebuilt from
# /sys/kernel/debug/kunit/espah_*/results (or cut from dmesg without debugfs).
# Afterwards the module is removed and kmemleak is scanned; new leaks and
# KASAN/lockdep/WARN splats are printed between ESPAH-KUNIT-SPLAT-BEGIN/END
# and counted on the line "ESPAH-KUNIT-SPLATS: N".
#
# Env: ESPAH_KO (default /espah/espah.ko), ESPAH_KUNIT_KO (default
# espah_kunit.ko beside ESPAH_KO), KUNIT_FILTER (kunit.filter_glob, e.g.
# "espah_esp*" or "espah_esp_vectors.input_valid_vector").

impl=${1:-${ESPAH_IMPL:-espah}}
ESPAH_KO=${ESPAH_KO:-/espah/espah.ko}
ESPAH_KUNIT_KO=${ESPAH_KUNIT_KO:-$(dirname "$ESPAH_KO")/espah_kunit.ko}
KMEMLEAK=/sys/kernel/debug/kmemleak

say() { echo "# kunit.sh: $*"; }
die() { echo "ESPAH-KUNIT-ERROR: $*"; exit 1; }

loaded() { grep -q "^$1 " /proc/modules; }

mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

[ -f "$ESPAH_KUNIT_KO" ] || die "$ESPAH_KUNIT_KO not found"

case $impl in
espah)
	# xfrm_get_type() request_module()s "xfrm-type-<family>-<proto>":
	# make sure the in-tree types cannot sneak in.
	mkdir -p /etc/modprobe.d
	for m in esp4 esp6 ah4 ah6; do
		echo "install $m /bin/false"
	done >/etc/modprobe.d/espah-kunit.conf
	for m in esp4 esp6 ah4 ah6; do
		if loaded $m; then
			rmmod $m || die "cannot unload in-tree $m"
		fi
	done
	[ -f "$ESPAH_KO" ] || die "$ESPAH_KO not found"
	# parallel=0: the suites call input()/output() and want the result
	# back in the same call (e2e covers the parallel workers)
	loaded espah || insmod "$ESPAH_KO" parallel=0 || die "insmod $ESPAH_KO failed"
	;;
intree)
	loaded espah && die "espah is loaded; intree needs it absent"
	rm -f /etc/modprobe.d/espah-kunit.conf
	modprobe esp4 || die "modprobe esp4 failed"
	modprobe esp6 || die "modprobe esp6 failed"
	modprobe ah4 || say "modprobe ah4 failed"
	modprobe ah6 || say "modprobe ah6 failed"
	;;
*)
	die "unknown implementation '$impl' (espah|intree)"
	;;
esac
say "impl=$impl kernel=$(uname -r)"
say "modules: $(awk '$1 ~ /^(espah|esp4|esp6|ah4|ah6)$/ {printf "%s ", $1}' /proc/modules)"

# kmemleak: forget what was there before the test module
[ -w $KMEMLEAK ] && echo clear >$KMEMLEAK 2>/dev/null

dmesg -c >/dev/null 2>&1 || dmesg -C >/dev/null 2>&1
if [ -n "${KUNIT_FILTER:-}" ]; then
	# kunit.filter_glob belongs to the (built-in) kunit core
	printf "%s" "$KUNIT_FILTER" >/sys/module/kunit/parameters/filter_glob ||
		die "cannot set kunit.filter_glob"
	say "filter_glob=$KUNIT_FILTER"
fi
insmod "$ESPAH_KUNIT_KO" impl="$impl"
rc=$?
[ $rc = 0 ] || die "insmod $ESPAH_KUNIT_KO failed ($rc): see dmesg"

# insmod returns after the suites ran; still, wait (max 60 s) until every
# suite of the module has its result in debugfs.
n=0
while [ $n -lt 60 ]; do
	pending=0
	for d in /sys/kernel/debug/kunit/espah_*; do
		[ -r "$d/results" ] || continue
		grep -q "^\(not \)\?ok 1 " "$d/results" || pending=1
	done
	[ $pending = 0 ] && break
	sleep 1
	n=$((n + 1))
done

log=/tmp/espah-kunit.dmesg
dmesg >$log
suites=0
for d in /sys/kernel/debug/kunit/espah_*; do
	[ -r "$d/results" ] && suites=$((suites + 1))
done
echo "ESPAH-KUNIT-KTAP-BEGIN"
if [ "$suites" -gt 0 ]; then
	# Rebuilt from debugfs (complete even if the printk ring buffer
	# overflowed): one top-level document, each suite's results file
	# without its own "KTAP version 1 / 1..1" header, renumbered.
	echo "KTAP version 1"
	echo "1..$suites"
	i=0
	for d in /sys/kernel/debug/kunit/espah_*; do
		i=$((i + 1))
		awk -v i=$i 'NR > 2 {
			if ($0 ~ /^(not )?ok 1 /) sub(/ok 1 /, "ok " i " ")
			print
		}' "$d/results"
	done
else
	# no debugfs: the module's document from the kernel log, i.e. from the
	# last "KTAP version 1" followed by a non-empty plan "1..N" to the end
	sed 's/^\[ *[0-9.]*\] //' $log | awk '
		{ line[NR] = $0 }
		/^KTAP version 1$/ { cand = NR }
		/^1\.\.[1-9][0-9]*$/ && cand == NR - 1 { start = cand }
		END { if (start) for (i = start; i <= NR; i++) print line[i] }'
fi
echo "ESPAH-KUNIT-KTAP-END"

rmmod espah_kunit 2>/dev/null || say "rmmod espah_kunit failed"

splats=0
echo "ESPAH-KUNIT-SPLAT-BEGIN"
if [ -w $KMEMLEAK ]; then
	# objects must be older than 5 s before kmemleak reports them
	sleep 6
	echo scan >$KMEMLEAK
	sleep 1
	echo scan >$KMEMLEAK
	leaks=$(grep -c "^unreferenced object" $KMEMLEAK)
	if [ "$leaks" -gt 0 ]; then
		echo "kmemleak: $leaks new unreferenced object(s)"
		cat $KMEMLEAK
		splats=$((splats + leaks))
	fi
else
	echo "kmemleak: not available"
fi
dmesg >$log
bad=$(grep -c -E "BUG: KASAN|BUG: KFENCE|WARNING: .* at |WARNING: possible|possible circular locking|BUG: sleeping function|BUG: unable to handle|general protection fault|Oops|UBSAN:|refcount_t:" $log)
if [ "$bad" -gt 0 ]; then
	echo "dmesg: $bad splat line(s):"
	grep -E -A20 "BUG: KASAN|BUG: KFENCE|WARNING: .* at |WARNING: possible|possible circular locking|BUG: sleeping function|BUG: unable to handle|general protection fault|Oops|UBSAN:|refcount_t:" $log | head -200
	splats=$((splats + bad))
fi
echo "ESPAH-KUNIT-SPLAT-END"
echo "ESPAH-KUNIT-SPLATS: $splats"
exit 0
