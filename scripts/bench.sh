#!/usr/bin/env bash
# `make bench`: espah against the in-tree ESP, in one QEMU (TCG) boot.
# A benchmark, not a test: it only fails if it could not measure.
#
#   scripts/bench.sh [--kernel deb61|deb612|test] [--time S] [--reps N]
#                    [--configs "plain intree offload espah"] [--no-tcrypt]
#                    [--timeout S] [--no-build | --module FILE.ko]
#
# Builds espah for the kernel, boots it with scripts/guest/bench.sh, which
# measures between two network namespaces joined by a veth: plain veth,
# in-tree esp4, in-tree esp4 + esp4_offload, espah (each: iperf3 TCP over an
# ESP transport SA with rfc4106(gcm(aes)) 128 and with null crypto, 64-byte
# UDP datagrams/s delivered, GCM SA), then tcrypt's rfc4106(gcm(aes))
# 1420-byte encryption speed as the ceiling. Each number is the median of
# --reps runs of --time seconds (default 3 x 5 s; ~5 min in all under TCG),
# run in interleaved rounds (plain, in-tree, +offload, espah, repeat).
# Prints progress, then the table. Numbers under TCG are only comparable
# within one run, and the host's load moves them (the load is printed).
# Env: ESPAH_LOGDIR (console logs, default /tmp/espah-logs).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

kernel=deb61 time=5 reps=3 configs="plain intree offload espah" tcrypt=1 timeout="" build=1 ko=""
while (( $# )); do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--time) time=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--configs) configs=$2; shift 2 ;;
	--no-tcrypt) tcrypt=0; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--module) ko=$2; build=0; shift 2 ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
	esac
done
[[ $time =~ ^[1-9][0-9]*$ && $reps =~ ^[1-9][0-9]*$ ]] || { echo "bench.sh: --time/--reps want positive integers" >&2; exit 2; }

say() { echo "[bench] $*" >&2; }
t_start=$(date +%s)
load() { cut -d' ' -f1-3 /proc/loadavg; }

bash scripts/install-deps.sh || { say "FAIL: scripts/install-deps.sh"; exit 1; }
scripts/kernels.sh fetch "$kernel" || { say "FAIL: cannot fetch kernel $kernel"; exit 1; }
[[ -n $ko ]] || ko=build/$kernel/espah.ko
if (( build )); then
	if ! scripts/build.sh "$kernel" >&2; then
		say "FAIL: espah does not build for $kernel (log: build/$kernel/build.log)"
		exit 1
	fi
fi
[[ -f $ko ]] || { say "FAIL: $ko missing"; exit 1; }

# budget: boot + per run (time + ~3 s of iperf3/TCG overhead) + setup + tcrypt, x2
nruns=0
for c in $configs; do case $c in plain) nruns=$((nruns + 2)) ;; *) nruns=$((nruns + 3)) ;; esac; done
[[ -n $timeout ]] || timeout=$(( 2 * (60 + nruns * reps * (time + 3) + 15 * $(wc -w <<<"$configs") + 70) ))

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
log=$logdir/$kernel-bench-$(date +%Y%m%d-%H%M%S)-$$.log
out=$(mktemp "${TMPDIR:-/tmp}/espah-bench.XXXXXX")
trap 'rm -f "$out"' EXIT
load0=$(load)
say "kernel $kernel, configs: $configs; ${reps} x ${time}s per measurement; host load $load0 ($(nproc) CPUs)"
say "guest console log: $log"

scripts/run-guest.sh --kernel "$kernel" --module "$ko" --timeout "$timeout" --log "$log" \
	--env "BENCH_TIME=$time" --env "BENCH_REPS=$reps" --env "BENCH_CONFIGS=$configs" \
	--env "BENCH_TCRYPT=$tcrypt" \
	scripts/guest/bench.sh 2>&1 | tee "$out" >&2
rc=${PIPESTATUS[0]}
load1=$(load)
wall=$(( $(date +%s) - t_start ))

# ---------------------------------------------------------------- table
# guest lines arrive as "  > BENCH cfg metric median samples..."
declare -A val=() fails=()
while read -r _ cfg met med _; do
	val[$cfg.$met]=$med
done < <(sed -n 's/^  > \(BENCH .*\)/\1/p' "$out" | tr -d '\r' | grep '^BENCH ')
ceil_line=$(sed -n 's/^  > BENCH aead ceiling //p' "$out" | tr -d '\r' | head -1)
while read -r what reason; do
	[[ -n $what ]] && fails[$what]=$reason
done < <(sed -n 's/^  > BENCH-FAIL //p' "$out" | tr -d '\r')

cell() { # cfg metric -> value or reason-ish placeholder
	local v=${val[$1.$2]:-}
	if [[ -n $v ]]; then echo "$v"
	elif [[ -n ${fails[$1/$2]:-} || -n ${fails[$1]:-} ]]; then echo "FAIL"
	elif [[ " $configs " != *" $1 "* ]]; then echo "-"
	else echo "n/a"; fi
}
ratio() { # a b -> a/b
	[[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] || { echo "-"; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "-" }'
}

fmt='%-21s %10s %10s %12s %10s %13s %14s\n'
row() { # label metric plain-metric
	local p i o e
	p=$(cell plain "$3"); i=$(cell intree "$2"); o=$(cell offload "$2"); e=$(cell espah "$2")
	# shellcheck disable=SC2059
	printf "$fmt" "$1" "$p" "$i" "$o" "$e" "$(ratio "$e" "$i")" "$(ratio "$e" "$o")"
}

if (( ${#val[@]} == 0 )) && [[ -z $ceil_line ]]; then
	say "FAIL: no measurement came back (exit $rc; see the messages above); guest console log: $log"
	exit 1
fi
echo
echo "espah benchmark: kernel $kernel ($(scripts/kernels.sh release "$kernel" 2>/dev/null)), QEMU TCG, 2 vCPUs," \
	"ESP transport mode over veth, median of $reps x ${time}s"
# shellcheck disable=SC2059
printf "$fmt" "measurement" "veth plain" "in-tree" "in-tree+offl" "espah" "espah/in-tree" "espah/+offload"
row "TCP GCM-128 (Mbit/s)" tcp_gcm tcp
row "TCP null (Mbit/s)" tcp_null tcp
row "UDP 64B GCM (kpps)" udp64 udp64
if [[ -n $ceil_line ]]; then
	read -r cmbit cdrv csize <<<"$ceil_line"
	echo "AEAD ceiling: rfc4106(gcm(aes)) 128-bit key, ${csize}-byte encryption, 1 vCPU (tcrypt, $cdrv): $cmbit Mbit/s"
elif (( tcrypt )); then
	echo "AEAD ceiling: n/a${fails[aead]:+ (${fails[aead]})}"
fi
echo "(veth plain has no ESP: both TCP rows show the same plain TCP run; UDP: datagrams delivered to the receiving socket per second)"
echo "host load average before/after: $load0 / $load1 on $(nproc) CPUs; wall time ${wall}s"

status=0
if (( ${#fails[@]} )); then
	echo
	echo "FAILURES:"
	for k in "${!fails[@]}"; do echo "  $k: ${fails[$k]}"; done | sort
	status=1
fi
if [[ -n ${fails[espah]:-} ]]; then
	echo "espah could not be benchmarked: ${fails[espah]} -- guest console log (dmesg): $log"
fi
if (( rc != 0 )); then
	case $rc in
	124) why="the guest timed out (--timeout $timeout)" ;;
	125) why="the kernel reported a WARNING/BUG/Oops (see run-guest output above)" ;;
	126) why="the guest died before finishing (kernel crash?)" ;;
	*) why="run-guest/guest script exited $rc" ;;
	esac
	echo "RUN FAILED: $why; guest console log: $log"
	status=1
elif (( status )); then
	echo "some measurements failed; guest console log: $log"
fi
exit $status
