#!/usr/bin/env bash
# Build and run espah's KUnit suites (kunit/) in QEMU on the debug test kernel.
#
#   scripts/run-kunit.sh [--impl espah|intree] [--kernel test] [--filter GLOB]
#                        [--module ESPAH.ko] [--timeout SECS] [--log FILE]
#
# --impl espah (default): the suites test espah.ko (built with
#     scripts/build.sh KERNEL unless --module gives one); in-tree esp4/esp6/
#     ah4/ah6 are kept out of the guest's way.
# --impl intree: the suites test the in-tree esp4/esp6 instead; this
#     validates the tests themselves.
# --filter GLOB: kunit.filter_glob (suite[.case]), e.g. 'espah_esp*' or
#     'espah_esp_vectors.input_valid_vector'.
# The KUnit module is built (W=1, warnings are errors) in build/kunit-KERNEL/kunit/,
# the guest runs scripts/guest/kunit.sh, the module's KTAP block is cut from
# the console log and parsed with the kernel's kunit.py; if the guest died
# before printing that block, the module's KTAP document as the kernel
# printed it live is parsed instead, and kunit.py counts each test it
# announced but never reported (and each suite of the module's plan that
# never started) as crashed.  Prints "N passed, N failed, N skipped" where
# failed includes the crashed tests and kunit.py's errors, and exits
# nonzero on any of them, a missing KTAP document, or a
# KASAN/lockdep/kmemleak/WARN report.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
impl=espah kernel=test filter="" module="" timeout=1800 log=""
while (( $# )); do
	case $1 in
	--impl) impl=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	--module) module=$(readlink -f "$2"); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "run-kunit.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
case $impl in espah|intree) ;; *) echo "run-kunit.sh: --impl espah|intree" >&2; exit 2 ;; esac
say() { echo "[run-kunit] $*" >&2; }

"$top/scripts/kernels.sh" fetch "$kernel" >&2
kdir=$("$top/scripts/kernels.sh" kdir "$kernel")
kunitpy=$kdir/source/tools/testing/kunit/kunit.py
[[ -f $kunitpy ]] || kunitpy=${ESPAH_CACHE:-/var/cache/espah}/linux-source-6.12/tools/testing/kunit/kunit.py
[[ -f $kunitpy ]] || { say "kunit.py not found"; exit 1; }

# ---- build the KUnit module (out of the source tree; module/ beside it
# for tests that include espah headers as ../module/...)
kroot=$top/build/kunit-$kernel
kout=$kroot/kunit
rm -rf "$kroot"	# kdir may have changed (new test kernel): always rebuild
mkdir -p "$kroot"
srcs=(); for p in module include kunit; do [[ -e $top/$p ]] && srcs+=("$top/$p"); done
rsync -a --delete --exclude "*.o" --exclude "*.ko" --exclude ".*.cmd" \
	"${srcs[@]}" "$kroot/"
say "building espah_kunit.ko for $kernel ($kdir)"
if ! make -C "$kdir" M="$kout" W=1 modules >"$kout/build.log" 2>&1; then
	cat "$kout/build.log" >&2; say "kunit module build FAILED"; exit 1
fi
if grep -E "(warning|error):" "$kout/build.log" | grep -v "Skipping BTF" >&2; then
	say "kunit module build has warnings: see $kout/build.log"; exit 1
fi

modargs=(--module "$kout/espah_kunit.ko")
if [[ $impl == espah ]]; then
	if [[ -z $module ]]; then
		"$top/scripts/build.sh" "$kernel" >&2
		module=$top/build/$kernel/espah.ko
	fi
	[[ -f $module ]] || { say "$module not found"; exit 1; }
	modargs+=(--module "$module")
fi

# ---- run
[[ -n $log ]] || log=${ESPAH_LOGDIR:-/tmp/espah-logs}/$kernel-kunit-$impl-$(date +%Y%m%d-%H%M%S)-$$.log
mkdir -p "$(dirname "$log")"
envargs=()
[[ -n $filter ]] && envargs+=(--env "KUNIT_FILTER=$filter")
guest_rc=0
"$top/scripts/run-guest.sh" --kernel "$kernel" "${modargs[@]}" "${envargs[@]}" \
	--timeout "$timeout" --log "$log" "$top/scripts/guest/kunit.sh" "$impl" || guest_rc=$?

# ---- extract the module's KTAP block and parse it
ktap=${log%.log}.ktap
tr -d '\r' <"$log" | sed -n '/^ESPAH-KUNIT-KTAP-BEGIN$/,/^ESPAH-KUNIT-KTAP-END$/p' |
	sed '1d;$d' >"$ktap"
status=0
if ! grep -q "^KTAP version" "$ktap"; then
	# the guest died first: the module's document as the kernel printed it,
	# from the last "KTAP version 1" followed by a non-empty plan (the
	# kernel's own boot-time block is "1..0")
	say "FAIL: no KTAP block from kunit.sh in $log: parsing the kernel's live KTAP output"
	status=1
	tr -d '\r' <"$log" | sed -n 's/^\[ *[0-9.]*\] //p' | awk '
		{ line[NR] = $0 }
		/^KTAP version 1$/ { cand = NR }
		/^1\.\.[1-9][0-9]*$/ && cand == NR - 1 { start = cand }
		END { if (start) for (i = start; i <= NR; i++) print line[i] }' >"$ktap"
fi
if ! grep -q "^KTAP version" "$ktap"; then
	say "FAIL: no KTAP output from espah_kunit.ko in $log"
	grep -a "ESPAH-KUNIT-ERROR" "$log" >&2 || true
	echo "0 passed, 1 failed, 0 skipped (no results)"
	exit 1
fi
parsed=${log%.log}.parsed
python3 "$kunitpy" parse <"$ktap" >"$parsed" 2>&1 || status=1
grep -E "\[(FAILED|CRASHED)\]|EXPECTATION FAILED|ASSERTION FAILED|Expected |KASAN|kmemleak" "$parsed" | head -200 >&2 || true
summary=$(grep -E "Testing complete\." "$parsed" | tail -1 || true)
num() { sed -n "s/.*[ ,]$1: \([0-9]*\).*/\1/p" <<<"$summary"; }
ran=$(sed -n 's/.*Ran \([0-9]*\) tests.*/\1/p' <<<"$summary")
passed=$(num passed) failed=$(num failed) skipped=$(num skipped) crashed=$(num crashed) errors=$(num errors)
passed=${passed:-0} failed=${failed:-0} skipped=${skipped:-0} crashed=${crashed:-0} errors=${errors:-0}
splats=$(tr -d '\r' <"$log" | sed -n 's/^ESPAH-KUNIT-SPLATS: \([0-9]*\)$/\1/p' | tail -1)

(( failed + crashed + errors )) && status=1
[[ -z $ran || $ran == 0 ]] && { say "FAIL: kunit.py found no tests"; status=1; }
if [[ ${splats:-0} != 0 ]]; then
	say "FAIL: $splats kmemleak/KASAN/lockdep/WARN report(s), see $log"; status=1
fi
if (( guest_rc )); then
	say "FAIL: run-guest.sh exited $guest_rc (125: sanitizer report, 124: timeout, 126: crash)"
	status=1
fi
say "impl=$impl kernel=$kernel log=$log ktap=$ktap parsed=$parsed"
# crashed tests and kunit.py's errors (missing results) count as failed
echo "$passed passed, $((failed + crashed + errors)) failed, $skipped skipped ($crashed crashed, $errors errors, of ${ran:-0}; impl $impl)"
exit $status
