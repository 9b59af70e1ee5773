#!/usr/bin/env bash
# The long runs that do not fit `make check`: `make soak`.
#
#   scripts/soak.sh [SECTION...]        (default: every section)
#
# One section per tool: a function soak_NAME below and NAME in
# SOAK_SECTIONS. Each section builds what it needs, runs its tool and
# prints the tool's own "N passed, N failed" line; the last line here sums
# them. Logs: $ESPAH_LOGDIR (default /tmp/espah-logs)/soak-NAME.log.
#
# mutator  scripts/run-mutate.sh: SOAK_MUTATE_PACKETS (default 1000000)
#          hostile packets over every transform family and mode on
#          SOAK_MUTATE_KERNELS (default "test": KASAN, UBSAN, kmemleak,
#          lockdep, panic_on_warn); SOAK_SEED pins the seed. Prints the
#          rate. About 90 minutes on 2 cores.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
start=$(date +%s)
passed=0 failed=0

soak_mutator() {
	local k n=${SOAK_MUTATE_PACKETS:-1000000} rc=0
	for k in ${SOAK_MUTATE_KERNELS:-test}; do
		scripts/build.sh "$k" || return 1
		scripts/run-mutate.sh --kernel "$k" --packets "$n" \
			${SOAK_SEED:+--seed "$SOAK_SEED"} || rc=1
	done
	return "$rc"
}

SOAK_SECTIONS=(mutator)

# Runs a section; adds up the "N passed, N failed" lines of its log (one
# per guest run).
run_section() {
	local name=$1 log="$logdir/soak-$1.log" rc p f before=$failed
	echo "=== [$(( $(date +%s) - start ))s] soak $name (log: $log)"
	"soak_$name" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	while read -r p f; do
		passed=$((passed + p))
		failed=$((failed + f))
	done < <(sed -nE 's/^(  > )?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/p' "$log")
	if [[ $rc != 0 && $failed == "$before" ]]; then
		failed=$((failed + 1))
		echo "!!! soak $name FAILED (exit $rc): see $log"
	fi
}

sections=("$@")
(( ${#sections[@]} )) || sections=("${SOAK_SECTIONS[@]}")
for s in "${sections[@]}"; do
	declare -F "soak_$s" >/dev/null || { echo "soak: no section '$s' (${SOAK_SECTIONS[*]})" >&2; exit 2; }
	run_section "$s"
done
echo "=== soak finished in $(( $(date +%s) - start ))s"
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
