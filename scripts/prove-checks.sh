#!/usr/bin/env bash
# The checks' own check: espah broken on purpose must make them fail, with
# a count that shows what did not run. Part of `make soak` (section proof).
#
#   scripts/prove-checks.sh [--kernel deb61] [--only plaintext|crash-beet]
#
# Each sabotage is a patch in scripts/sabotage/, applied to a copy of the
# tree (the product never carries sabotage code), built for the kernel and
# run through scripts/run-e2e.sh, the runner make check uses:
#   plaintext   one ESP packet in 64 leaves with its payload in the clear
#               and a stale ICV (suite esp, IPv4 transport): the host's
#               decoder must fail the run
#   crash-beet  the kernel crashes (BUG) at the first BEET SA, in the last
#               suite of the boot (suites counters, crossfam): the run must
#               fail, and its final count must take in every planned check,
#               those the crash kept from running counted as failed
# Exit 0 when every sabotage was caught as described; logs in
# $ESPAH_LOGDIR (default /tmp/espah-logs), prove-NAME.log.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
kernel=deb61 only=""
while [[ $# -gt 0 ]]; do
	case $1 in
	--kernel) kernel=$2; shift ;;
	--only) only=$2; shift ;;
	-h|--help) sed -n '2,19p' "$0"; exit 0 ;;
	*) echo "prove-checks.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
passed=0 failed=0

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1 # $2"; failed=$((failed + 1)); }

# sabotaged_module NAME: builds the tree with scripts/sabotage/NAME.patch
# applied; prints the module's path
sabotaged_module() {
	local src=$top/build/sabotage-$1
	rm -rf "$src"
	mkdir -p "$src"
	rsync -a --exclude build --exclude .git "$top/" "$src/" || return 1
	patch -s -p1 -d "$src" <"$top/scripts/sabotage/$1.patch" || {
		echo "prove-checks: scripts/sabotage/$1.patch no longer applies: update it" >&2
		return 1
	}
	(cd "$src" && scripts/build.sh "$kernel" >"$logdir/prove-$1-build.log" 2>&1) || {
		echo "prove-checks: the sabotaged build failed: $logdir/prove-$1-build.log" >&2
		return 1
	}
	echo "$src/build/$kernel/espah.ko"
}

# total_of LOG: "passed failed" from run-e2e.sh's last line
total_of() {
	sed -nE 's/^total: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' "$1" | tail -n 1
}

# planned_of LOG: the checks the guest's plans and the host plans promise
planned_of() {
	sed -E 's/^  > //' "$1" | awk '/^# e2e-plan / { n += $4 + $5 } END { print n + 0 }'
}

# sabotage NAME SUITES FILTER: one sabotaged run; leaves its log in $log
sabotage() {
	local name=$1 suites=$2 filter=$3 module args=()
	log=$logdir/prove-$name.log
	echo "=== sabotage $name: suites $suites${filter:+ (filter $filter)}, log $log"
	module=$(sabotaged_module "$name") || { not_ok "$name: sabotaged espah built" "see above"; return 1; }
	[[ -n $filter ]] && args+=(--filter "$filter")
	scripts/run-e2e.sh --kernel "$kernel" --impl espah --module "$module" \
		--suite "$suites" "${args[@]}" >"$log" 2>&1
	rc=$?
	read -r tp tf <<<"$(total_of "$log")"
	echo "    exit $rc; $(grep -E '^total: ' "$log" | tail -n 1)"
	return 0
}

prove_plaintext() {
	sabotage plaintext esp v4-transport || return
	if [[ $rc != 0 && ${tf:-0} -gt 0 ]]; then
		ok "plaintext: the run failed ($tf checks failed)"
	else
		not_ok "plaintext: the run failed" "exit $rc, total '${tp:-?} passed, ${tf:-?} failed'"
	fi
	# the decoder espah did not write must be among what caught it
	if grep -qE '^ *wire> not ok ' "$log"; then
		ok "plaintext: the host's decoder failed $(grep -cE '^ *wire> not ok ' "$log") checks"
		grep -E '^ *wire> not ok ' "$log" | head -n 3 | sed 's/^ */    /'
	else
		not_ok "plaintext: the host's decoder caught the clear packets" "no failed wire> line in $log"
	fi
}

prove_crash_beet() {
	local planned
	sabotage crash-beet counters,crossfam "" || return
	planned=$(planned_of "$log")
	if [[ $rc != 0 ]] && grep -qa 'kernel BUG at\|Kernel panic' "$log"; then
		ok "crash-beet: the guest crashed and the run failed (exit $rc)"
	else
		not_ok "crash-beet: the guest crashed and the run failed" "exit $rc; no kernel BUG in $log"
	fi
	if [[ $planned -gt 0 && $((${tp:-0} + ${tf:-0})) -ge $planned && ${tf:-0} -gt $((planned / 2)) ]]; then
		ok "crash-beet: the count covers the $planned planned checks: ${tp} passed, ${tf} failed"
	else
		not_ok "crash-beet: the count covers every planned check" \
			"planned $planned, total '${tp:-?} passed, ${tf:-?} failed'"
	fi
}

for s in plaintext crash-beet; do
	[[ -z $only || $only == "$s" ]] || continue
	"prove_${s//-/_}"
done
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
