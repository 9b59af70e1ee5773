#!/usr/bin/env bash
# The long runs of espah's tests: `make soak`. What make check runs as a
# slice, at full size, and the runs whose output README's figures and
# in-tree comparison come from. Hours on 2 cores under TCG.
#
#   scripts/soak.sh [--section NAME[,NAME...]] [--kernels "deb61 deb612 test"]
#
# Sections (all by default, in this order):
#   e2e        every e2e suite at full payload on every kernel (make check
#              runs slices of them with half the payload)
#   churn      10,000 SA add/update/delete/expire cycles under traffic, sync
#              and async (espah_testcrypt); 100 module load/unload cycles; 1,000
#              network namespaces with SAs (debug kernel)
#   faults     every memory failure in SA setup for every SA kind, per
#              datagram on the sender, at random under traffic (debug
#              kernel), and the KUnit espah_faults suite
#   pagecache  the page-cache, zerocopy and tap suite on every kernel,
#              espah and the in-tree stack (README's comparison table)
#   config     the configuration matrix on every kernel, with the in-tree
#              comparison
#   ike        the full IKE matrix (scripts/run-ike.sh --tier full:
#              strongSwan and libreswan, every proposal, mode and family,
#              rekeying, trap, NAT, DPD, route-based, espah against the
#              in-tree stack both ways, tshark decoding) on the Debian kernels
#   mutator    scripts/run-mutate.sh: SOAK_MUTATE_PACKETS (default 1000000)
#              hostile packets over every transform family and mode on
#              the debug kernel; SOAK_SEED pins the seed (about 90 minutes)
#   proof      scripts/prove-checks.sh: espah broken on purpose (a packet in
#              the clear, a crash in the last suite) must fail the checks,
#              with a count of what did not run (Debian 6.1)
# A section is a function soak_NAME; add one by adding the function and
# its name to SOAK_SECTIONS. Logs: $ESPAH_LOGDIR (default /tmp/espah-logs),
# one per run; the last line sums the runs' "N passed, N failed".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
SOAK_SECTIONS=(e2e churn faults pagecache config ike mutator proof)
sections="" kernels="deb61 deb612 test"
while [[ $# -gt 0 ]]; do
	case $1 in
	--section) sections=${2//,/ }; shift ;;
	--kernels) kernels=$2; shift ;;
	-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[[ -n $sections ]] || sections="${SOAK_SECTIONS[*]}"

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
passed=0 failed=0 failures=()
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start ))s"; }
has_kernel() { [[ " $kernels " == *" $1 "* ]]; }

# soak_run NAME CMD...: one run; its last "N passed, N failed" is added up
soak_run() {
	local name=$1 log line p f
	shift
	log=$logdir/soak-$name.log
	echo "=== [$(elapsed)] $name (log: $log)"
	"$@" >"$log" 2>&1
	local rc=$?
	line=$(sed -E 's/^  > //' "$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	p=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$line")
	f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-1}))
	[[ $rc != 0 && ${f:-1} == 0 ]] && failed=$((failed + 1))
	# the figures the suites print for README
	sed -E 's/^  > //' "$log" | grep -E '^# (CHURN|FAULTS|SUMMARY|CONFIG-DIFF)' | sed 's/^/    /'
	echo "    ${line:-no summary} (exit $rc)"
	[[ $rc == 0 ]] || failures+=("$name (log: $log)")
}

build() { scripts/build.sh "$1" --testmod >/dev/null || { echo "build for $1 failed" >&2; return 1; }; }

soak_churn() {
	has_kernel test || return 0
	build test || return 1
	soak_run churn-test scripts/run-e2e.sh --kernel test --suite churn --timeout 36000 -- \
		--env E2E_CHURN_CYCLES=10000 --env E2E_CHURN_MODULES=100 --env E2E_CHURN_NETNS=1000
}

soak_faults() {
	has_kernel test || return 0
	build test || return 1
	soak_run faults-test scripts/run-e2e.sh --kernel test --suite faults --timeout 14400 -- \
		--env E2E_FAULTS_PINGS=1000 --env "E2E_FAULTS_KINDS=esp-gcm-v4 esp-cbc-sha256-esn-v6 esp-gcm-encap-v4 esp-chacha-v6 ah-sha256-v4 ah-xcbc-v6"
	soak_run kunit-faults scripts/run-kunit.sh --filter 'espah_faults*'
}

soak_e2e() {
	local k
	for k in $kernels; do
		build "$k" || continue
		soak_run "e2e-$k" scripts/run-e2e.sh --kernel "$k" --timeout 14400 --suite \
			esp,gateway,ah,counters,async,peer,crossfam,offload,order,selftest,transforms,features \
			-- --env ORDER_ALL=1
	done
}

soak_pagecache() {
	local k impl
	for k in $kernels; do
		build "$k" || continue
		for impl in espah intree; do
			soak_run "pagecache-$k-$impl" scripts/run-e2e.sh --kernel "$k" --impl "$impl" \
				--suite pagecache --timeout 7200 -- --env E2E_PC_COUNT=8
		done
	done
}

soak_config() {
	local k
	for k in $kernels; do
		build "$k" || continue
		soak_run "config-$k" scripts/run-e2e.sh --kernel "$k" --suite config --timeout 7200
	done
}

soak_ike() {
	local k
	for k in $kernels; do
		[[ $k == test ]] && continue
		build "$k" || continue
		soak_run "ike-$k" scripts/run-ike.sh --kernel "$k" --tier full
	done
}

soak_mutator() {
	has_kernel test || return 0
	build test || return 1
	soak_run mutator-test scripts/run-mutate.sh --kernel test \
		--packets "${SOAK_MUTATE_PACKETS:-1000000}" ${SOAK_SEED:+--seed "$SOAK_SEED"}
}

soak_proof() {
	has_kernel deb61 || return 0
	soak_run proof-deb61 scripts/prove-checks.sh --kernel deb61
}

for s in $sections; do
	declare -F "soak_$s" >/dev/null || { echo "soak.sh: no section '$s' (${SOAK_SECTIONS[*]})" >&2; exit 2; }
	"soak_$s"
done

echo
echo "=== soak finished in $(elapsed)"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
