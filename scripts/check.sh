#!/usr/bin/env bash
# Every build and test of espah, from a fresh machine: `make check`.
#
# Steps: install packages, fetch/build the three kernels (the debug test
# kernel is cached under $ESPAH_CACHE), build espah for each with W=1 and
# sparse, checkpatch, KUnit in the test kernel, DKMS, the e2e suites in
# QEMU on all three kernels (E2E_SLICES below), the IKE daemons' check tier
# and a slice of the mutator.
# Each step prints its own progress and log paths; the last line sums the
# test cases: "N passed, N failed[, N skipped]". A test step's counts are
# the last summary line it prints: run-kunit.sh counts crashed tests as
# failed; run-e2e.sh ("total: ...") counts every planned check of a guest
# that died, and every host check of a capture that never came out, as
# failed. A step that fails without failing a check counts one failure.
#
#   scripts/check.sh [--kernels "deb61 deb612 test"] [--skip-kunit] [--skip-e2e]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
kernels="deb61 deb612 test"
skip_kunit=0 skip_e2e=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--kernels) kernels=$2; shift ;;
	--skip-kunit) skip_kunit=1 ;;
	--skip-e2e) skip_e2e=1 ;;
	*) echo "check.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
passed=0 failed=0 skipped=0
failures=() steps=()
start=$(date +%s)

elapsed() { echo "$(( $(date +%s) - start ))s"; }

# Runs a step that is one check.
check_step() {
	local name=$1; shift
	echo "=== [$(elapsed)] $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("$name")
		echo "!!! $name FAILED"
	fi
}

# Runs a test suite whose last "N passed, N failed" line is added up.
suite_step() {
	local name=$1; shift
	local log="$logdir/$name.log" p f s line
	echo "=== [$(elapsed)] $name (log: $log)"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	# guest output comes through run-guest.sh as "  > ..." lines
	line=$(sed -E 's/^  > //' "$log" | grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [[ -n $line ]]; then
		p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
		if [[ $rc != 0 && $f == 0 ]]; then
			f=1
		fi
	else
		p=0 f=1 s=0
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
	steps+=("$name: $p passed, $f failed${s:+, $s skipped}")
	if [[ $rc != 0 ]]; then
		failures+=("$name (log: $log)")
		echo "!!! $name FAILED (exit $rc): see $log"
	fi
}

checkpatch() {
	local cp=${ESPAH_CACHE:-/var/cache/espah}/linux-source-6.12/scripts/checkpatch.pl
	"$cp" --no-tree --strict --quiet --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
		-f module/*.[ch] kunit/*.c testmod/*.c scripts/helpers/*.c \
		scripts/helpers/espmut/*.[ch]
}

check_step "install packages" bash scripts/install-deps.sh
for k in $kernels; do
	check_step "kernel $k" scripts/kernels.sh fetch "$k"
done
for k in $kernels; do
	opts=(--sparse --testmod)
	[[ $k == test ]] && opts+=(--kunit)
	check_step "build espah for $k (W=1, sparse)" scripts/build.sh "$k" "${opts[@]}"
done
check_step "checkpatch --strict" checkpatch

if [[ $skip_kunit == 0 && " $kernels " == *" test "* ]]; then
	suite_step kunit-test scripts/run-kunit.sh
fi
if [[ $skip_e2e == 0 && " $kernels " == *" deb61 "* && " $kernels " == *" deb612 "* ]]; then
	suite_step dkms bash scripts/test-dkms.sh
fi
# The e2e slices: one boot per line, "kernel|suites|filter|extra env". What
# a slice leaves out runs at full size in `make soak` (scripts/soak.sh) or
# on another kernel here. Each step prints its wall time.
E2E_SLICES=(
	# every suite on Debian 6.1 (the fastest kernel), with a 1 MiB payload
	# (make soak: 4 MiB)
	"deb61|esp,gateway,ah,counters,async,peer,crossfam,offload,order||E2E_PAYLOAD_CHUNKS=2"
	"deb61|transforms,features,pagecache,config||E2E_PAYLOAD_CHUNKS=2"
	# 6.12: what depends on the kernel's xfrm and GSO/GRO internals, and
	# the kernel's own IPsec selftest
	"deb612|esp,async,offload,order,selftest||E2E_PAYLOAD_CHUNKS=2"
	# the debug kernel (KASAN, UBSAN, kmemleak, lockdep): GSO/GRO, the
	# data paths with asynchronous crypto (order), memory failures, SA
	# churn (crossfam there takes 11 minutes: make soak). The fault sweep
	# covers ESP GCM and AH HMAC-SHA-256 (the suite's default kinds)
	"test|offload,order,faults,churn||E2E_CHURN_CYCLES=100 E2E_CHURN_NETNS=10"
)

# e2e_slice "kernel|suites|filter|env": one boot of run-e2e.sh
e2e_slice() {
	local k suites filter env args=() name
	IFS='|' read -r k suites filter env <<<"$1"
	[[ " $kernels " == *" $k "* ]] || return 0
	name="e2e-$k-${suites//,/-}"
	[[ ${#name} -gt 60 ]] && name="e2e-$k-${suites%%,*}-etc"
	[[ -n $filter ]] && { args+=(--filter "$filter"); name+="-$filter"; }
	args+=(--)
	for e in $env; do args+=(--env "$e"); done
	suite_step "$name" scripts/run-e2e.sh --kernel "$k" --impl espah \
		--module "build/$k/espah.ko" --suite "$suites" "${args[@]}"
}

if [[ $skip_e2e == 0 ]]; then
	for slice in "${E2E_SLICES[@]}"; do
		e2e_slice "$slice"
	done
	# real IKE daemons (strongSwan, libreswan) over espah: the check tier
	# on both Debian kernels (about 3 minutes each)
	for k in deb61 deb612; do
		[[ " $kernels " == *" $k "* ]] || continue
		suite_step "ike-$k" scripts/run-ike.sh --kernel "$k" --tier check
	done
	# hostile packets: a slice of make soak's million (on the debug kernel).
	# The seed is pinned so that make check is reproducible: the same
	# packets every run, a failure replays as it is; make soak draws new
	# seeds.
	if [[ " $kernels " == *" deb61 "* ]]; then
		suite_step mutate-deb61 scripts/run-mutate.sh --kernel deb61 --packets 100000 --seed 7
	fi
fi

echo
echo "=== check finished in $(elapsed)"
for st in "${steps[@]}"; do
	echo "    $st"
done
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
if [[ $skipped -gt 0 ]]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[[ $failed == 0 ]]
