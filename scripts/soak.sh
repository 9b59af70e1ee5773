#!/usr/bin/env bash
# make soak: the long tests that do not fit `make check`'s time budget.
#
#   scripts/soak.sh [--kernels "deb61 deb612"]
#
# Today: the full IKE matrix (scripts/run-ike.sh --tier full: strongSwan
# and libreswan, every proposal, mode and family, rekeying, trap, NAT, DPD,
# route-based, espah on both ends and against the in-tree stack both ways,
# tshark decoding) on each kernel; espah is built for each first.
# Prints each run's lines, then "N passed, N failed[, N skipped]".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kernels="deb61 deb612"
while (( $# )); do
	case $1 in
	--kernels) kernels=$2; shift 2 ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

t0=$(date +%s)
passed=0 failed=0 skipped=0
for k in $kernels; do
	echo "[soak] ===== $k: build, full IKE matrix"
	if ! nice -n 10 "$here/build.sh" "$k" >/dev/null; then
		echo "not ok - $k: scripts/build.sh $k failed"
		failed=$((failed + 1)); continue
	fi
	sum=$(nice -n 10 "$here/run-ike.sh" --kernel "$k" --tier full | tee /dev/stderr | tail -n 1)
	read -r p f s < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$/\1 \2 \4/p' <<<"$sum")
	if [[ -z ${p:-} ]]; then echo "not ok - $k: run-ike.sh printed no summary"; failed=$((failed + 1)); continue; fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
done
echo "[soak] done in $(( $(date +%s) - t0 ))s"
if (( skipped )); then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
(( failed == 0 ))
