#!/usr/bin/env bash
# `make bench`: espah against the in-tree ESP, in QEMU (TCG) guests.
# A benchmark, not a test: it fails only if it could not measure something.
#
#   scripts/bench.sh [--kernels "deb61 deb612"] [--vcpus "2 4"]
#        [--configs LIST] [--metrics LIST] [--configs4 LIST] [--metrics4 LIST]
#        [--time S] [--reps N] [--alloc-time S] [--no-allocs] [--no-warmup]
#        [--tcrypt] [--perf] [--timeout S] [--out DIR] [--no-build | --module FILE.ko]
#        [--estimate]
#
# One guest boot per kernel and vCPU count (default: Debian 6.1 and 6.12,
# each with 2 and 4 vCPUs). Each boot runs scripts/guest/bench.sh, which
# measures every configuration in the same boot, between two network
# namespaces joined by a veth (GRO on, TSO off at both ends, so frames go
# through NAPI and GRO for every configuration):
#   configs  plain intree offload espah espah-seq
#            (plain: no IPsec; intree: esp4/esp6; offload: + esp4_offload/
#            esp6_offload, the in-tree stack at its best; espah: default
#            parameters; espah-seq: espah with parallel=0)
#   metrics  tcp_gcm tcp_null udp64 tcp_chacha tcp_cbc tcp_gcm6 tcp_gcm_tun
#            tcp_gcm_x4 tcp_chacha_x4 (scripts/guest/bench.sh says what each is)
# 2 vCPUs: --configs x --metrics (default: all of them). More than 2 vCPUs:
# --configs4 x --metrics4 (default: offload espah espah-seq x tcp_gcm
# tcp_gcm_x4 tcp_chacha tcp_chacha_x4), narrowed by --configs/--metrics if
# given. Lists: words separated by spaces or commas.
# Per boot: a warm-up round (discarded), then --reps rounds (default 3) of
# --time s runs (default 5), the configuration order rotated every round;
# every run checks that the traffic went through the SAs and that no
# xfrm_stat or espah drop counter rose (failures are listed, never turned
# into numbers). Then, unless --no-allocs, allocations per ESP packet of
# each ESP configuration (UDP 1400 B and TCP GCM, --alloc-time s, default 3)
# and, with --tcrypt, the AEAD ceiling (tcrypt, one vCPU, first boot of
# each kernel). --perf: a profile (perf record, cpu-clock, whole guest) of
# each configuration and metric's first measured run, its top symbols in
# the guest output as "bench: perf" lines (a run that is profiled is also
# slowed: read its number with that in mind).
# Output: per boot the table of medians with ratios espah/intree,
# espah/offload, espah/best in-tree (and espah-seq's), a detail table
# (n, median, min, max, failures, NAPI share), espah's path counters,
# allocations per packet, the host load; everything also in DIR (default
# /tmp/espah-bench): bench-STAMP.txt (the tables), bench-STAMP.tsv (one
# value a row, for README), bench-STAMP-KERNEL-Nvcpu.png (bars normalised
# to the best in-tree = 1.0), bench-STAMP-KERNEL-Nvcpu.out (guest output).
# --estimate prints the plan and its estimated duration, then exits.
# Numbers under TCG are only comparable within one boot, and the host's
# load moves them (it is printed): measure on a quiet machine.
# Env: ESPAH_LOGDIR (console logs, default /tmp/espah-logs).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

ALL_CONFIGS="plain intree offload espah espah-seq"
ALL_METRICS="tcp_gcm tcp_null udp64 tcp_chacha tcp_cbc tcp_gcm6 tcp_gcm_tun tcp_gcm_x4 tcp_chacha_x4"
kernels="deb61 deb612" vcpus="2 4" configs="" metrics=""
configs4="offload espah espah-seq" metrics4="tcp_gcm tcp_gcm_x4 tcp_chacha tcp_chacha_x4"
time=5 reps=3 alloc_time=3 allocs=1 warmup=1 tcrypt=0 perf=0 timeout="" build=1 ko="" estimate_only=0
outdir=/tmp/espah-bench
list() { tr ',' ' ' <<<"$1" | xargs; }
while (( $# )); do
	case $1 in
	--kernels | --kernel) kernels=$(list "$2"); shift 2 ;;
	--vcpus) vcpus=$(list "$2"); shift 2 ;;
	--configs) configs=$(list "$2"); shift 2 ;;
	--metrics) metrics=$(list "$2"); shift 2 ;;
	--configs4) configs4=$(list "$2"); shift 2 ;;
	--metrics4) metrics4=$(list "$2"); shift 2 ;;
	--time) time=$2; shift 2 ;;
	--reps) reps=$2; shift 2 ;;
	--alloc-time) alloc_time=$2; shift 2 ;;
	--no-allocs) allocs=0; shift ;;
	--no-warmup) warmup=0; shift ;;
	--tcrypt) tcrypt=1; shift ;;
	--no-tcrypt) tcrypt=0; shift ;;
	--perf) perf=1; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--out) outdir=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--module) ko=$2; build=0; shift 2 ;;
	--estimate) estimate_only=1; shift ;;
	-h | --help) sed -n '2,45p' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
	esac
done

say() { echo "[bench] $*" >&2; }
die() { say "$*"; exit 2; }
for n in "$time" "$reps" "$alloc_time" ${timeout:+"$timeout"}; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "--time, --reps, --alloc-time and --timeout want positive integers"
done
# known WORD... / LIST: fail on a word not in LIST
known() {
	local w
	for w in $1; do [[ " $2 " == *" $w "* ]] || die "unknown name '$w' (known: $2)"; done
}
known "$configs $configs4" "$ALL_CONFIGS"
known "$metrics $metrics4" "$ALL_METRICS"
known "$kernels" "deb61 deb612 test"
for v in $vcpus; do [[ $v =~ ^[1-9][0-9]*$ ]] || die "--vcpus wants numbers"; done
[[ -z $ko ]] || (( $(wc -w <<<"$kernels") == 1 )) || die "--module needs exactly one kernel"

# intersect A B: the words of A that are also in B (A's order)
intersect() {
	local w out=""
	for w in $1; do [[ " $2 " == *" $w "* ]] && out+="$w "; done
	echo "${out% }"
}
# boot_sets VCPUS: sets CFGS and METS of a boot with that many vCPUs
boot_sets() {
	if (( $1 <= 2 )); then
		CFGS=${configs:-$ALL_CONFIGS} METS=${metrics:-$ALL_METRICS}
	else
		CFGS=$(intersect "$configs4" "${configs:-$ALL_CONFIGS}")
		METS=$(intersect "$metrics4" "${metrics:-$ALL_METRICS}")
	fi
}

# ---------------------------------------------------------------- estimate

# Seconds a run costs beyond its --time under TCG on an idle 2-core host
# (SA setup, ping, counters, iperf3 start and end); a busy host takes longer.
RUN_OVERHEAD=8
# plain runs one workload per family / stream count / UDP (the guest's M_PLAIN)
plain_workloads() {
	local m
	for m in $1; do
		case $m in udp64) echo udp ;; tcp_gcm6) echo tcp6 ;; *_x4) echo x4 ;; *) echo tcp ;; esac
	done | sort -u | wc -l
}
# boot_estimate CFGS METS TCRYPT: seconds
boot_estimate() {
	local c esp=0 plain=0 runs
	for c in $1; do if [[ $c == plain ]]; then plain=$(plain_workloads "$2"); else esp=$((esp + 1)); fi; done
	runs=$(( (plain + esp * $(wc -w <<<"$2")) * (reps + warmup) ))
	echo $(( 60 + runs * (time + RUN_OVERHEAD) + $(wc -w <<<"$1") * (reps + warmup) * 4 \
		+ allocs * esp * (2 * (alloc_time + 1 + 2 * RUN_OVERHEAD) + 4) + $3 * 70 ))
}

boots=() total_est=0
for k in $kernels; do
	first=1
	for v in $vcpus; do
		boot_sets "$v"
		[[ -n $CFGS && -n $METS ]] || { say "skipping $k with $v vCPUs: no configuration/metric left"; continue; }
		tc=$(( tcrypt && first ))
		est=$(boot_estimate "$CFGS" "$METS" "$tc")
		boots+=("$k|$v|$CFGS|$METS|$tc|$est")
		total_est=$((total_est + est))
		first=0
	done
done
(( ${#boots[@]} )) || die "nothing to run"
mins() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }
load() { cut -d' ' -f1-3 /proc/loadavg; }
say "plan: ${#boots[@]} guest boot(s), ${reps} x ${time} s per cell after $( ((warmup)) && echo "a warm-up round" || echo "no warm-up"),"\
	"allocations $( ((allocs)) && echo "${alloc_time} s per workload" || echo off), tcrypt $( ((tcrypt)) && echo on || echo off)"
for b in "${boots[@]}"; do
	IFS='|' read -r k v c m tc est <<<"$b"
	say "  $k, $v vCPUs: configs '$c' x metrics '$m': ~$(mins "$est")"
done
say "estimated duration: ~$(mins "$total_est") on an idle host, plus builds (host load now $(load) on $(nproc) CPUs)"
(( estimate_only )) && exit 0

# ---------------------------------------------------------------- build

# text_sections KO NAME: "NAME SECTION SIZE" for each executable section of
# the module but .init* (freed after loading): the guest adds the section
# addresses from /sys/module/NAME/sections to match allocation call sites
text_sections() {
	local ko=$1 name=$2 tmp=""
	case $ko in
	*.xz) tmp=$(mktemp); xz -dc "$ko" >"$tmp"; ko=$tmp ;;
	*.zst) tmp=$(mktemp); zstd -qdc "$ko" >"$tmp"; ko=$tmp ;;
	esac
	readelf -SW "$ko" | awk -v m="$name" '/^ *\[ *[0-9]+\]/ {
		sub(/^[^]]*\] */, ""); if ($7 ~ /X/ && $1 !~ /^\.init/) print m, $1, "0x" $5 }'
	[[ -z $tmp ]] || rm -f "$tmp"
}

# kernel_texts KERNEL ESPAH_KO OUT: text sections of espah and the in-tree ESP modules
kernel_texts() {
	local mods m f
	mods=$(scripts/kernels.sh moddir "$1")/lib/modules/$(scripts/kernels.sh release "$1")/kernel/net
	{
		text_sections "$2" espah
		for m in ipv4/esp4 ipv4/esp4_offload ipv6/esp6 ipv6/esp6_offload; do
			f=$(find "$mods/${m%/*}" -maxdepth 1 -name "${m#*/}.ko*" 2>/dev/null | head -1)
			[[ -n $f ]] && text_sections "$f" "$(basename "$m")"
		done
	} >"$3"
	grep -q '^espah ' "$3" && grep -q '^esp4 ' "$3"
}

t_start=$(date +%s)
bash scripts/install-deps.sh || { say "FAIL: scripts/install-deps.sh"; exit 1; }
mkdir -p "$outdir" || exit 1
stamp=$(date +%Y%m%d-%H%M%S)
txt=$outdir/bench-$stamp.txt tsv=$outdir/bench-$stamp.tsv
work=$(mktemp -d "${TMPDIR:-/tmp}/espah-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
declare -A kos=()
for k in $kernels; do
	scripts/kernels.sh fetch "$k" || { say "FAIL: cannot fetch kernel $k"; exit 1; }
	kos[$k]=${ko:-build/$k/espah.ko}
	if (( build )); then
		say "building espah for $k"
		scripts/build.sh "$k" >&2 || { say "FAIL: espah does not build for $k (log: build/$k/build.log)"; exit 1; }
	fi
	[[ -f ${kos[$k]} ]] || { say "FAIL: ${kos[$k]} missing"; exit 1; }
	kernel_texts "$k" "${kos[$k]}" "$work/text-$k" ||
		{ say "FAIL: no text sections of espah/esp4 for $k (readelf)"; exit 1; }
done

# ---------------------------------------------------------------- boots

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
load_start=$(load)
status=0 n=0 pngs=()
for b in "${boots[@]}"; do
	IFS='|' read -r k v c m tc est <<<"$b"
	n=$((n + 1))
	raw=$outdir/bench-$stamp-$k-${v}vcpu.out
	log=$logdir/$k-bench-${v}vcpu-$stamp.log
	t0=$(date +%s) load0=$(load)
	say "boot $n/${#boots[@]}: $k, $v vCPUs, ~$(mins "$est") (elapsed so far $(mins $((t0 - t_start))));" \
		"host load $load0; guest console log: $log"
	ESPAH_GUEST_EXTRA_BINS=$( ((perf)) && echo perf) \
	scripts/run-guest.sh --kernel "$k" --module "${kos[$k]}" --smp "$v" --log "$log" \
		--timeout "${timeout:-$((3 * est + 300))}" \
		--file "$work/text-$k:/espah/run/bench-text.txt" \
		--env "BENCH_TIME=$time" --env "BENCH_REPS=$reps" --env "BENCH_CONFIGS=$c" \
		--env "BENCH_METRICS=$m" --env "BENCH_WARMUP=$warmup" --env "BENCH_ALLOCS=$allocs" \
		--env "BENCH_ALLOC_TIME=$alloc_time" --env "BENCH_TCRYPT=$tc" --env "BENCH_PERF=$perf" \
		--env "BENCH_PERF_CALLERS=${BENCH_PERF_CALLERS:-}" \
		scripts/guest/bench.sh 2>&1 | tee "$raw" | grep --line-buffered -v '^  > BENCH' >&2
	rc=${PIPESTATUS[0]}
	wall=$(( $(date +%s) - t0 ))
	png=$outdir/bench-$stamp-$k-${v}vcpu.png
	python3 scripts/bench-report.py --raw "$raw" --kernel "$k" --release "$(scripts/kernels.sh release "$k")" \
		--vcpus "$v" --configs "$c" --time "$time" --reps "$reps" --alloc-time "$alloc_time" \
		--warmup "$warmup" --load-before "$load0" --load-after "$(load)" --wall "$wall" --tsv "$tsv" --png "$png" | tee -a "$txt"
	rrc=${PIPESTATUS[0]}
	[[ -f $png ]] && pngs+=("$png")
	if (( rc != 0 )); then
		case $rc in
		124) why="the guest timed out" ;;
		125) why="the kernel reported a WARNING/BUG/Oops (see the run-guest output above)" ;;
		126) why="the guest died before finishing (kernel crash?)" ;;
		*) why="run-guest/guest script exited $rc" ;;
		esac
		echo "RUN FAILED ($k, $v vCPUs): $why; guest console log: $log" | tee -a "$txt"
		status=1
	fi
	(( rrc != 0 )) && status=1
	echo | tee -a "$txt"
	say "boot $n/${#boots[@]} done in $(mins "$wall") (estimated $(mins "$est"))"
done

wall=$(( $(date +%s) - t_start ))
{
	echo "host load average at the start/end: $load_start / $(load) on $(nproc) CPUs; wall time $(mins "$wall")"
	echo "tables: $txt"
	echo "summary (TSV, one value a row): $tsv"
	for p in "${pngs[@]}"; do echo "chart: $p"; done
	(( status )) && echo "some measurements failed: see FAILURES above"
} | tee -a "$txt"
exit $status
