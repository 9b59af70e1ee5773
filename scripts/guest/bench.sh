#!/bin/sh
# shellcheck shell=sh
# Guest side of `make bench` (scripts/bench.sh): in one boot, the same
# traffic through every configuration, between two network namespaces
# joined by a veth with GRO on and TSO off at both ends (only then does the
# veth pass frames through NAPI, where the in-tree offload's and espah's ESP
# GRO hooks run; each run reports the share of frames NAPI took):
#
#   plain      no IPsec at all (baseline)
#   intree     in-tree esp4/esp6, esp4_offload/esp6_offload NOT loaded
#   offload    in-tree esp4/esp6 + esp4_offload/esp6_offload (software GSO
#              for ESP, ESP GRO): the in-tree stack at its best
#   espah      espah with its default parameters (offload=1, parallel=8)
#   espah-seq  espah loaded with parallel=0 (each packet's crypto where it
#              arrives)
#
# Metrics (ESP transport mode unless named, IPv4, SAs both ways,
# replay-window 128, iperf3 bl -> br for $BENCH_TIME s):
#   tcp_gcm        TCP, 1 stream, rfc4106(gcm(aes)) 128-bit key, ICV 128
#   tcp_null       TCP, ecb(cipher_null) + digest_null
#   udp64          64-byte UDP datagrams delivered per second (GCM SA;
#                  Udp InDatagrams of the receiving namespace)
#   tcp_chacha     TCP, rfc7539esp(chacha20,poly1305), 256-bit key + salt, ICV 128
#   tcp_cbc        TCP, cbc(aes) 128 + hmac(sha256) truncated to 128
#   tcp_gcm6       TCP over IPv6, GCM
#   tcp_gcm_tun    TCP, GCM, tunnel mode
#   tcp_gcm_x4     4 parallel TCP streams (iperf3 -P 4), GCM
#   tcp_chacha_x4  4 parallel TCP streams, ChaCha20-Poly1305
# plain runs the workload without SAs: tcp (IPv4, 1 stream), tcp6, tcp_x4,
# udp64, each once for all the metrics that share it.
#
# Order and statistics: a warm-up round first (every configuration and
# metric once, discarded), then $BENCH_REPS rounds; the configuration order
# rotates by one every round. Every run checks that the traffic went through
# the SAs (the SA packet and byte counters of both ends: the receiving SA
# must have decrypted at least the payload that iperf3 delivered), that the
# configuration's module serves them (module references), that no
# /proc/net/xfrm_stat counter and (espah) no /proc/net/espah drop counter
# rose. A run that fails a check is reported (BENCH-RUNFAIL) and gives no
# number.
#
# Allocations ($BENCH_ALLOCS=1): after the rounds, each ESP configuration
# runs UDP 1400-byte datagrams and TCP (GCM) for $BENCH_ALLOC_TIME s, after a
# 1 s warm-up, with kmem hist triggers: kmalloc/kmem_cache_alloc calls whose
# call_site lies in the ESP implementation's module text (ranges: section
# addresses from /sys/module/NAME/sections, sizes from $BENCH_TEXTS, which
# the host reads from the .ko files), every slab allocation in the system,
# pages allocated (pgalloc_* in /proc/vmstat) and espah's req_alloc
# counter, each divided by the ESP packets of the run (per direction the
# larger of the sending and the receiving SA's packet count: GSO makes the
# sender count a super-packet once, a flood can lose packets in between).
#
# Machine-readable lines for the host (everything else is progress):
#   BENCH-INFO KEY VALUE...
#   BENCH-METRIC METRIC UNIT PLAINKEY DESCRIPTION...
#   BENCH-SAMPLE CONFIG METRIC ROUND VALUE ESP_PACKETS NAPI_PERCENT TCP_RETRANSMITS|-
#   BENCH-WARMUP CONFIG METRIC VALUE
#   BENCH-RUNFAIL CONFIG METRIC ROUND REASON...
#   BENCH-PATH CONFIG METRIC ROUND ESP_PACKETS NAME=DELTA...   (espah configs)
#   BENCH-ALLOC CONFIG WORKLOAD ESP_PACKETS MODULE_ALLOCS SLAB_ALLOCS PAGES REQ_ALLOC TOP
#   BENCH-FAIL WHAT REASON...
#   BENCH aead ceiling MBITS DRIVER BYTES
# Env: BENCH_TIME (5), BENCH_REPS (3), BENCH_CONFIGS, BENCH_METRICS (default:
# all), BENCH_WARMUP (1), BENCH_ALLOCS (1), BENCH_ALLOC_TIME (3),
# BENCH_TCRYPT (0), BENCH_TEXTS (/espah/run/bench-text.txt).
# Everything stays inside the guest: 192.0.2.1 / 2001:db8:b::1 (ns bl) and
# 192.0.2.2 / 2001:db8:b::2 (ns br).

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

T=${BENCH_TIME:-5}
REPS=${BENCH_REPS:-3}
ALL_CONFIGS="plain intree offload espah espah-seq"
ALL_METRICS="tcp_gcm tcp_null udp64 tcp_chacha tcp_cbc tcp_gcm6 tcp_gcm_tun tcp_gcm_x4 tcp_chacha_x4"
CONFIGS=${BENCH_CONFIGS:-$ALL_CONFIGS}
METRICS=${BENCH_METRICS:-$ALL_METRICS}
WARMUP=${BENCH_WARMUP:-1}
ALLOCS=${BENCH_ALLOCS:-1}
ALLOC_T=${BENCH_ALLOC_TIME:-3}
TCRYPT=${BENCH_TCRYPT:-0}
TEXTS=${BENCH_TEXTS:-/espah/run/bench-text.txt}
L=192.0.2.1
R=192.0.2.2
L6=2001:db8:b::1
R6=2001:db8:b::2
PORT=5201
TMP=$E2E_TMP/bench
TRACE=/sys/kernel/tracing
mkdir -p "$TMP" /etc/modprobe.d

now() { cut -d' ' -f1 /proc/uptime; }
T0=$(now)
say() { echo "bench: [$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%4d", b - a }')s] $*"; }
fail() { _w=$1; shift; echo "BENCH-FAIL $_w $*"; say "FAILED: $_w: $*"; }
dmesg_tail() { dmesg | tail -n "${1:-15}" | sed 's/^/bench:   dmesg: /'; }
words() { echo $#; }

# Keep printk's info chatter off the slow serial console; warnings and worse
# still reach it (and run-guest's scan).
OLD_PRINTK=$(cut -f1 /proc/sys/kernel/printk)
echo 5 >/proc/sys/kernel/printk

# ---------------------------------------------------------------- metrics

# metric_spec METRIC: sets M_ALG (gcm|null|chacha|cbc), M_FAM (4|6),
# M_MODE, M_LOAD (tcp|udp), M_STREAMS, M_PLAIN (plain's workload), M_UNIT,
# M_DESC; fails for an unknown name
metric_spec() {
	M_ALG=gcm M_FAM=4 M_MODE=transport M_LOAD=tcp M_STREAMS=1 M_PLAIN=tcp M_UNIT=Mbit/s
	case $1 in
	tcp_gcm) M_DESC="TCP GCM-128" ;;
	tcp_null) M_ALG=null M_DESC="TCP null" ;;
	udp64) M_LOAD=udp M_PLAIN=udp64 M_UNIT=kpps M_DESC="UDP 64 B GCM" ;;
	tcp_chacha) M_ALG=chacha M_DESC="TCP ChaCha20-Poly1305" ;;
	tcp_cbc) M_ALG=cbc M_DESC="TCP CBC-AES128+SHA256" ;;
	tcp_gcm6) M_FAM=6 M_PLAIN=tcp6 M_DESC="TCP GCM-128 IPv6" ;;
	tcp_gcm_tun) M_MODE=tunnel M_DESC="TCP GCM-128 tunnel" ;;
	tcp_gcm_x4) M_STREAMS=4 M_PLAIN=tcp_x4 M_DESC="TCP GCM-128 4 streams" ;;
	tcp_chacha_x4) M_ALG=chacha M_STREAMS=4 M_PLAIN=tcp_x4 M_DESC="TCP ChaCha 4 streams" ;;
	*) return 1 ;;
	esac
}

# the plain workloads the selected metrics need, each once
plain_keys() {
	for _m in $METRICS; do metric_spec "$_m" && echo "$M_PLAIN"; done | awk '!seen[$0]++' | tr '\n' ' '
}

# plain_metric KEY: the first selected metric whose plain workload is KEY
# (its family, load and streams are what plain runs)
plain_metric() {
	for _m in $METRICS; do
		metric_spec "$_m" && [ "$M_PLAIN" = "$1" ] && { echo "$_m"; return; }
	done
}

# ---------------------------------------------------------------- topology

for m in veth xfrm_user xfrm_algo cryptd aesni_intel ghash-clmulni-intel gcm \
	crypto_null authenc cbc hmac sha256_ssse3 sha256_generic chacha20poly1305 \
	chacha-x86_64 chacha_generic poly1305-x86_64 poly1305_generic; do
	modprobe -q "$m" 2>/dev/null
done

# GRO on and TSO off at both veth ends, for every configuration: a veth
# with GRO on has a NAPI instance, but hands a packet to it (and so to GRO,
# where the in-tree offload's and espah's ESP GRO hooks sit) only when the
# sending veth has no TSO (drivers/net/veth.c, veth_skb_is_eligible_for_gro);
# otherwise every frame goes straight to the stack and no ESP GRO runs.
# TCP still builds GSO packets (software GSO before the veth).
VETH_TSO=${BENCH_VETH_TSO:-off}
gro_on() {
	for _n in bl br; do
		ns $_n ethtool -K veth0 gro on tso "$VETH_TSO" 2>"$TMP/ethtool.err" ||
			{ fail setup "ethtool -K veth0 gro on tso $VETH_TSO in $_n: $(cat "$TMP/ethtool.err")"; return 1; }
	done
}
gro_state() {
	for _n in bl br; do
		ns $_n ethtool -k veth0 2>/dev/null | awk -v n=$_n '
			/^generic-receive-offload:/ { g = $2 } /^tcp-segmentation-offload:/ { t = $2 }
			END { printf "%s:gro=%s,tso=%s ", n, g, t }'
	done
}
gro_check() {
	case $(gro_state) in
	"bl:gro=on,tso=$VETH_TSO br:gro=on,tso=$VETH_TSO ") return 0 ;;
	esac
	fail setup "veth GRO/TSO not as set at both ends: $(gro_state)"
	return 1
}

# napi_snap FILE: per veth end "ns napi_frames rx_frames": frames its NAPI
# (GRO) took (ethtool -S rx_queue_N_xdp_packets) and all it received
napi_snap() {
	for _n in bl br; do
		printf '%s %s %s\n' $_n "$(ns $_n ethtool -S veth0 2>/dev/null |
			awk '/rx_queue_[0-9]+_xdp_packets:/ { s += $2 } END { print s + 0 }')" \
			"$(ns $_n cat /sys/class/net/veth0/statistics/rx_packets)"
	done >"$1"
}

# napi_share BEFORE AFTER: percentage of received frames that went through
# the veths' NAPI
napi_share() {
	awk 'FNR == NR { n[$1] = $2; r[$1] = $3; next } { dn += $2 - n[$1]; dr += $3 - r[$1] }
		END { if (dr > 0) printf "%d\n", 100 * dn / dr + 0.5; else print 0 }' "$1" "$2"
}

setup_net() {
	e2e_ns_add bl br
	e2e_veth bl veth0 br veth0
	e2e_addr bl veth0 $L/24
	e2e_addr br veth0 $R/24
	e2e_addr bl veth0 $L6/64
	e2e_addr br veth0 $R6/64
	[ -z "$E2E_SETUP_ERR" ] && gro_on && gro_check
}
if ! setup_net; then
	fail setup "could not create the namespaces/veth: $E2E_SETUP_ERR"
	exit 1
fi
i=0
while ! ns bl ping -c 1 -W 1 $R >/dev/null 2>&1 || ! ns bl ping -c 1 -W 1 $R6 >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -ge 10 ] && { fail setup "no connectivity over the plain veth"; exit 1; }
done
NCPU=$(grep -c ^processor /proc/cpuinfo)
echo "BENCH-INFO vcpus $NCPU"
echo "BENCH-INFO kernel $(uname -r)"
echo "BENCH-INFO gro $(gro_state)"
echo "BENCH-INFO cpu-flags $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'aes|pclmulqdq|avx|avx2|sse4_1|ssse3' | tr '\n' ' ')"
say "namespaces bl ($L, $L6) and br ($R, $R6) joined by veth0 (MTU $(ns bl cat /sys/class/net/veth0/mtu))," \
	"GRO $(gro_state), $NCPU vCPUs, kernel $(uname -r)"

# ---------------------------------------------------------------- xfrm

xfrm_flush() {
	for _n in bl br; do
		"$IP" -n $_n xfrm policy flush
		"$IP" -n $_n xfrm state flush
	done
}

# sa_add NS SRC DST SPI REQID SEED: one SA of the current metric
sa_add() {
	case $M_ALG in
	gcm) e2e_sa_words "$1" "$2" "$3" "$4" "$5" $M_MODE aead 'rfc4106(gcm(aes))' "$(e2e_hexkey 20 "$6")" 128 ;;
	chacha) e2e_sa_words "$1" "$2" "$3" "$4" "$5" $M_MODE aead 'rfc7539esp(chacha20,poly1305)' "$(e2e_hexkey 36 "$6")" 128 ;;
	cbc) e2e_sa_words "$1" "$2" "$3" "$4" "$5" $M_MODE enc 'cbc(aes)' "$(e2e_hexkey 16 "$6")" \
		auth-trunc 'hmac(sha256)' "$(e2e_hexkey 32 "$6$6")" 128 ;;
	null) e2e_sa_words "$1" "$2" "$3" "$4" "$5" $M_MODE enc 'ecb(cipher_null)' "" auth digest_null "" ;;
	esac
}

# the current metric's addresses: A (bl), B (br), selector prefix length
metric_addrs() {
	if [ "$M_FAM" = 6 ]; then A=$L6 B=$R6 PL=128; else A=$L B=$R PL=32; fi
}

# xfrm_setup: SAs both ways (spi 0x1000 bl->br, 0x2000 br->bl) in both
# namespaces and the policies for the current metric; errors in XFRM_ERR
xfrm_setup() {
	xfrm_flush
	metric_addrs
	E2E_SETUP_ERR=""
	for _n in bl br; do
		sa_add $_n $A $B 0x1000 1 1 || { XFRM_ERR="SA $A -> $B in $_n: $E2E_SA_ERR"; return 1; }
		sa_add $_n $B $A 0x2000 2 2 || { XFRM_ERR="SA $B -> $A in $_n: $E2E_SA_ERR"; return 1; }
		[ "$M_FAM" = 6 ] && e2e_nd_bypass $_n
	done
	e2e_pol bl out $A/$PL $B/$PL $A $B 1 $M_MODE
	e2e_pol bl in $B/$PL $A/$PL $B $A 2 $M_MODE
	e2e_pol br out $B/$PL $A/$PL $B $A 2 $M_MODE
	e2e_pol br in $A/$PL $B/$PL $A $B 1 $M_MODE
	XFRM_ERR=$E2E_SETUP_ERR
	[ -z "$XFRM_ERR" ]
}

# sa_snap FILE: "NS SPI BYTES PACKETS" for every ESP SA of both namespaces
sa_snap() {
	for _n in bl br; do
		"$IP" -n $_n -s xfrm state 2>/dev/null | awk -v n=$_n '
			/proto esp spi/ { for (i = 1; i < NF; i++) if ($i == "spi") { s = $(i + 1); sub(/\(.*/, "", s) } }
			/lifetime current:/ { getline; gsub(/[(),]/, " "); print n, s, $1, $3 }'
	done >"$1"
}

# sa_delta BEFORE AFTER NS SPI bytes|packets
sa_delta() {
	awk -v n="$3" -v s="$4" -v f="$5" '
		$1 == n && $2 == s { v = (f == "bytes") ? $3 : $4; if (FNR == NR) b = v; else a = v }
		END { print a - b }' "$1" "$2"
}

# esp_packets BEFORE AFTER: ESP packets that crossed the veth, both ways
# (per direction the larger of the sender's and the receiver's SA count)
esp_packets() {
	awk '{ k = $1 " " $2 } FNR == NR { b[k] = $4; next } { d[k] = $4 - b[k] }
		END { t = d["bl 0x00001000"]; r = d["br 0x00001000"]; x = (t > r) ? t : r
		      t = d["br 0x00002000"]; r = d["bl 0x00002000"]; x += (t > r) ? t : r
		      print x + 0 }' "$1" "$2"
}

# xfrm_stat of both namespaces, "ns:Name value"
stat_snap() { for _n in bl br; do e2e_stat_snap $_n "$TMP/xs.$_n"; sed "s/^/$_n:/" "$TMP/xs.$_n"; done >"$1"; }

# espah_snap FILE: the total lines of /proc/net/espah and espah_paths in
# both namespaces as "ns:file:column value" (gauges left out)
espah_snap() {
	for _n in bl br; do
		for _f in espah espah_paths; do
			ns $_n cat /proc/net/$_f 2>/dev/null | awk -v p="$_n:$_f:" '
				NR == 1 { for (i = 5; i <= NF; i++) c[i] = $i; next }
				$1 == "total" { for (i = 5; i <= NF; i++) if (c[i] !~ /_queued$/) print p c[i], $i }'
		done
	done >"$1"
}

# counters_diff BEFORE AFTER [PREFIX]: "name+delta" for every counter that
# rose (optionally only names starting with PREFIX), space separated
counters_diff() {
	awk -v p="${3:-}" 'FNR == NR { b[$1] = $2; next }
		index($1, p) == 1 && $2 > b[$1] { printf "%s+%d ", $1, $2 - b[$1] }' "$1" "$2"
}

# path_deltas BEFORE AFTER: espah's path counters, both namespaces summed,
# "name=delta" for every counter that moved
path_deltas() {
	awk 'FNR == NR { b[$1] = $2; next }
		$1 ~ /:espah_paths:/ { n = $1; sub(/.*:/, "", n); d[n] += $2 - b[$1] }
		END { for (n in d) if (d[n]) printf "%s=%d ", n, d[n] }' "$1" "$2"
}

# ---------------------------------------------------------------- traffic

srv_start() {
	ns br iperf3 -s -1 -p "$PORT" >"$TMP/srv.out" 2>&1 &
	SRV=$!
	_i=0
	while ! ns br cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -qE ":$(printf %04X "$PORT") [0-9A-F:]+ 0A "; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ] || ! kill -0 "$SRV" 2>/dev/null; then
			RUN_ERR="iperf3 server did not start: $(tail -n 2 "$TMP/srv.out" | tr '\n' ' ')"
			return 1
		fi
		sleep 0.1
	done
}
srv_stop() {
	_i=0
	while kill -0 "$SRV" 2>/dev/null && [ "$_i" -lt 30 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill "$SRV" 2>/dev/null
	wait "$SRV" 2>/dev/null
}

# json_num FILE SECTION KEY: iperf3 -J's end.SECTION.KEY (first "KEY": after
# the "SECTION" line that follows the "end": { object)
json_num() {
	awk -v sec="\"$2\"" -v key="\"$3\"" '
		/"end":[ \t]*\{/ { e = 1 }
		e && index($0, sec) { f = 1 }
		f && index($0, key) { v = $0; sub(/.*:[ \t]*/, "", v); sub(/[ \t,]*$/, "", v); print v + 0; exit }' "$1"
}

# iperf_client DST SECONDS ARGS...: iperf3 from bl, JSON in $TMP/cli.json
iperf_client() {
	_dst=$1 _secs=$2
	shift 2
	srv_start || return 1
	timeout $((_secs + 40)) "$IP" netns exec bl iperf3 -c "$_dst" -p "$PORT" -t "$_secs" -J "$@" \
		>"$TMP/cli.json" 2>"$TMP/cli.err"
	_rc=$?
	srv_stop
	[ "$_rc" = 0 ] && return 0
	RUN_ERR="iperf3 client exit $_rc: $(grep -h '"error"' "$TMP/cli.json" 2>/dev/null) $(tail -n 2 "$TMP/cli.err" | tr '\n' ' ')"
	return 1
}

# tcp_once DST STREAMS SECONDS: R_VAL Mbit/s received, R_PAYLOAD bytes
tcp_once() {
	iperf_client "$1" "$3" -P "$2" || return 1
	_bps=$(json_num "$TMP/cli.json" sum_received bits_per_second)
	R_PAYLOAD=$(json_num "$TMP/cli.json" sum_received bytes)
	if [ -z "$_bps" ] || [ -z "$R_PAYLOAD" ]; then
		RUN_ERR="no sum_received in iperf3's JSON: $(head -c 200 "$TMP/cli.json")"
		return 1
	fi
	R_VAL=$(awk -v b="$_bps" 'BEGIN { printf "%.1f\n", b / 1e6 }')
	R_RETR=$(json_num "$TMP/cli.json" sum_sent retransmits)
	R_NOTE="TCP retransmits $R_RETR"
}

udp_in() { # InDatagrams RcvbufErrors of ns br
	ns br cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else { print $c["InDatagrams"], $c["RcvbufErrors"]; exit } }'
}

# udp_once DST SIZE SECONDS: iperf3 -u -b 0; R_VAL kpps delivered at br,
# R_PAYLOAD bytes delivered, R_DGRAMS datagrams delivered
udp_once() {
	_c=$(udp_in)
	_in0=${_c% *} _rb0=${_c#* }
	iperf_client "$1" "$3" -u -l "$2" -b 0 || return 1
	_c=$(udp_in)
	R_DGRAMS=$((${_c% *} - _in0))
	_rb=$((${_c#* } - _rb0))
	_sent=$(json_num "$TMP/cli.json" sum packets)
	if [ "$R_DGRAMS" -le 0 ]; then
		RUN_ERR="no UDP datagram delivered"
		return 1
	fi
	R_PAYLOAD=$((R_DGRAMS * $2)) R_RETR=-
	R_VAL=$(awk -v n="$R_DGRAMS" -v t="$3" 'BEGIN { printf "%.1f\n", n / t / 1000 }')
	R_NOTE=$(awk -v s="${_sent:-0}" -v t="$3" -v rb="$_rb" 'BEGIN { printf "sent %.1f kpps, receive-buffer drops %d", s / t / 1000, rb }')
}

# traffic SECONDS: the current metric's workload
traffic() {
	metric_addrs
	if [ "$M_LOAD" = udp ]; then udp_once $B 64 "$1"; else tcp_once $B "$M_STREAMS" "$1"; fi
}

# ---------------------------------------------------------------- implementations

# nudge_cpus: a ping over lo from each CPU, so each runs its network
# softirq: after a flush, the last reference to a state can sit in a
# freed-later object (a deferred skb free, an RCU-freed dst) of a CPU that
# has gone idle, and go away only when that CPU sees network traffic again
# (seen on 6.12 with 4 vCPUs: esp4_offload held for minutes)
nudge_cpus() {
	_c=0
	while [ $_c -lt "$NCPU" ]; do
		taskset -c $_c ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1
		_c=$((_c + 1))
	done
}

# rmmod_wait MODULE: SAs are freed by a worker after a flush, so the module
# references they hold go away a little later; retry for up to 60 s (every
# 2 s nudging each CPU) and say when it took longer than 2 s
rmmod_wait() {
	_i=0
	while e2e_mod_loaded "$1"; do
		if rmmod "$1" 2>/dev/null; then
			[ $_i -ge 20 ] && say "rmmod $1 took $((_i / 10)) s (its references went away slowly)"
			return 0
		fi
		_i=$((_i + 1))
		[ $_i = 20 ] && say "rmmod $1: still $(e2e_mod_refcnt "$1") references 2 s after the flush" \
			"(states left: bl $("$IP" -n bl xfrm state count 2>&1 | tr -d '\t'), br $("$IP" -n br xfrm state count 2>&1 | tr -d '\t'))"
		[ $((_i % 20)) = 0 ] && nudge_cpus
		[ $_i -ge 600 ] && return 1
		sleep 0.1
	done
}

# block MODULE...: modprobe may not load them (by name, alias or dependency)
block() {
	for _m in "$@"; do echo "install $_m /bin/false"; done >/etc/modprobe.d/bench.conf
}

# unload MODULE...: rmmod each (in order), LOAD_ERR on failure
unload() {
	for _m in "$@"; do
		rmmod_wait "$_m" && continue
		LOAD_ERR="cannot rmmod $_m ($(e2e_mod_refcnt "$_m") refs) after flushing every SA: a leaked module reference?"
		return 1
	done
}

# load_impl CONFIG: make CONFIG's ESP implementation the one serving new
# SAs (espah is loaded afresh on every visit, with CONFIG's parameters)
load_impl() {
	xfrm_flush
	LOAD_ERR=""
	case $1 in
	plain) return 0 ;;
	intree)
		block espah esp4_offload esp6_offload
		unload espah esp4_offload esp6_offload || return 1
		if ! modprobe esp4 || ! modprobe esp6; then
			LOAD_ERR="modprobe esp4/esp6 failed"
			return 1
		fi
		;;
	offload)
		block espah
		unload espah || return 1
		if ! modprobe esp4_offload || ! modprobe esp6_offload; then
			LOAD_ERR="modprobe esp4_offload/esp6_offload failed"
			return 1
		fi
		;;
	espah | espah-seq)
		# espah refuses occupied slots; the in-tree modules must not come back
		block esp4 esp6 ah4 ah6 esp4_offload esp6_offload
		unload espah esp4_offload esp6_offload esp4 esp6 ah4 ah6 || return 1
		_par=""
		[ "$1" = espah-seq ] && _par="parallel=0"
		# shellcheck disable=SC2086
		if ! modprobe espah $_par 2>"$TMP/modprobe.err"; then
			LOAD_ERR="modprobe espah $_par failed: $(tail -n 1 "$TMP/modprobe.err")"
			dmesg_tail 10
			return 1
		fi
		ESPAH_PARAMS=$(cd /sys/module/espah/parameters && for _p in *; do printf '%s=%s ' "$_p" "$(cat "$_p")"; done)
		;;
	*) LOAD_ERR="unknown configuration" && return 1 ;;
	esac
}

# impl_check CONFIG: with the metric's SAs installed, the configuration's
# module holds them and no other ESP implementation is loaded
impl_check() {
	_loaded=$(awk '$1 ~ /^(espah|esp4|esp6|esp4_offload|esp6_offload)$/ { printf "%s(%s) ", $1, $3 }' /proc/modules)
	case $1 in
	intree) _need=esp$M_FAM _absent="espah esp4_offload esp6_offload" ;;
	offload) _need=esp${M_FAM}_offload _absent=espah ;;
	*) _need=espah _absent="esp4 esp6 esp4_offload esp6_offload" ;;
	esac
	for _m in $_absent; do
		e2e_mod_loaded "$_m" && { RUN_ERR="$_m is loaded (modules: $_loaded)"; return 1; }
	done
	_ref=$(e2e_mod_refcnt $_need)
	[ "${_ref:-0}" -ge 1 ] && return 0
	RUN_ERR="$_need holds no reference with the SAs installed: not the implementation serving them (modules: $_loaded)"
	return 1
}

# ---------------------------------------------------------------- one run

# BROKEN: configurations and config/metric pairs that failed to set up
BROKEN=" "
broken() { BROKEN="$BROKEN$1 "; }
is_broken() { case $BROKEN in *" $1 "*) return 0 ;; esac; return 1; }

# prepare CONFIG METRIC: the metric's SAs (none for plain), checked with a
# ping through them; RUN_ERR on failure
prepare() {
	if [ "$1" = plain ]; then
		xfrm_flush
		return 0
	fi
	if ! xfrm_setup 2>"$TMP/xfrm.err"; then
		RUN_ERR="ip xfrm rejected the SAs/policies: $XFRM_ERR $(tail -n 1 "$TMP/xfrm.err")"
		return 2
	fi
	impl_check "$1" || return 1
	sa_snap "$TMP/sa.ping0"
	metric_addrs
	if ! _p=$(e2e_ping bl $B 1); then
		RUN_ERR="no ping through the SAs: $_p"
		return 1
	fi
	sa_snap "$TMP/sa.ping1"
	[ "$(sa_delta "$TMP/sa.ping0" "$TMP/sa.ping1" br 0x00001000 packets)" -ge 1 ] && return 0
	RUN_ERR="a ping got through but the bl->br SA counted no packet: the traffic bypasses IPsec"
	return 1
}

# verify CONFIG: after a run, the checks that make its number valid
verify() {
	_xs=$(counters_diff "$TMP/xs.0" "$TMP/xs.1")
	[ -n "$_xs" ] && { RUN_ERR="xfrm_stat counters rose: $_xs"; return 1; }
	if [ "$1" = plain ]; then
		_n=$( { "$IP" -n bl xfrm state; "$IP" -n br xfrm state; } | grep -c '^src')
		[ "$_n" = 0 ] || { RUN_ERR="plain run with $_n SAs installed"; return 1; }
		return 0
	fi
	sa_snap "$TMP/sa.1"
	_tx=$(sa_delta "$TMP/sa.0" "$TMP/sa.1" bl 0x00001000 packets)
	_rx=$(sa_delta "$TMP/sa.0" "$TMP/sa.1" br 0x00001000 packets)
	_rxb=$(sa_delta "$TMP/sa.0" "$TMP/sa.1" br 0x00001000 bytes)
	_back=$(sa_delta "$TMP/sa.0" "$TMP/sa.1" bl 0x00002000 packets)
	if [ "$_tx" -le 0 ] || [ "$_rx" -le 0 ] || [ "$_back" -le 0 ]; then
		RUN_ERR="SA packet counters did not move (bl->br: sent $_tx, received $_rx; br->bl received $_back)"
		return 1
	fi
	if [ "$_rxb" -lt "$R_PAYLOAD" ]; then
		RUN_ERR="the receiving SA decrypted $_rxb bytes, less than the $R_PAYLOAD payload bytes delivered: traffic bypassed the SA"
		return 1
	fi
	if [ "$M_LOAD" = udp ] && [ "$_rx" -lt "$R_DGRAMS" ]; then
		RUN_ERR="the receiving SA counted $_rx packets for $R_DGRAMS datagrams delivered"
		return 1
	fi
	ESP_PKTS=$(esp_packets "$TMP/sa.0" "$TMP/sa.1")
	case $1 in espah*) ;; *) return 0 ;; esac
	espah_snap "$TMP/es.1"
	_d=$(counters_diff "$TMP/es.0" "$TMP/es.1" "bl:espah:"; counters_diff "$TMP/es.0" "$TMP/es.1" "br:espah:")
	[ -n "$_d" ] && { RUN_ERR="espah drop counters rose: $_d"; return 1; }
	PATHS=$(path_deltas "$TMP/es.0" "$TMP/es.1")
	return 0
}

RUN_NO=0
# perf_start ROUND: with BENCH_PERF=1, profile the whole guest during the
# first measured round's traffic (cpu-clock: TCG has no PMU)
perf_start() {
	PERF_PID=""
	[ "${BENCH_PERF:-0}" = 1 ] && [ "$1" = 1 ] || return 0
	e2e_perf_allow
	perf record -a -g -e cpu-clock -F 997 -o "$TMP/perf.data" -- sleep "$T" >"$TMP/perf.err" 2>&1 &
	PERF_PID=$!
}

# perf_stop CONFIG METRIC: wait for the profile, print its top symbols
perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	wait "$PERF_PID"
	say "perf $1 $2: top symbols (share of all samples, both vCPUs)"
	perf report -i "$TMP/perf.data" --stdio --no-children --sort dso,sym --percent-limit 0.5 -g none 2>&1 |
		grep -v '^#' | grep -v '^$' | head -n 45 | sed "s/^/bench: perf $1 $2 /"
	# BENCH_PERF_CALLERS="SYM ...": who calls these (call chains, callers first)
	for _s in ${BENCH_PERF_CALLERS:-}; do
		perf report -i "$TMP/perf.data" --stdio --no-children --symbols "$_s" \
			-g caller,2,callee,function,percent 2>&1 | grep -v '^#' | grep -v '^$' |
			head -n 60 | sed "s/^/bench: perf $1 $2 callers of $_s /"
	done
	rm -f "$TMP/perf.data"
}

# measure CONFIG METRIC ROUND [KEY]: one run (ROUND 0: the warm-up,
# discarded), its number recorded under KEY (default METRIC; plain: the
# plain workload)
measure() {
	RUN_NO=$((RUN_NO + 1))
	_key=${4:-$2}
	_tag="run $RUN_NO/$RUNS_TOTAL"
	[ "$3" = 0 ] && _tag="$_tag warm-up" || _tag="$_tag round $3/$REPS"
	[ "$RUN_NO" = 1 ] && T_RUN1=$(now)
	[ "$RUN_NO" -gt 1 ] && _tag="$_tag, ~$(awk -v a="$T_RUN1" -v b="$(now)" -v d=$((RUN_NO - 1)) \
		-v r=$((RUNS_TOTAL - RUN_NO + 1)) 'BEGIN { printf "%d", (b - a) / d * r / 60 + 0.5 }') min left"
	metric_spec "$2"
	RUN_ERR="" ESP_PKTS=0 PATHS=""
	prepare "$1" "$2"
	_mrc=$?
	if [ "$_mrc" = 0 ]; then
		stat_snap "$TMP/xs.0"
		sa_snap "$TMP/sa.0"
		espah_snap "$TMP/es.0"
		napi_snap "$TMP/napi.0"
		perf_start "$3"
		traffic "$T"
		_trc=$?
		perf_stop "$1" "$_key"
		if [ "$_trc" = 0 ]; then
			stat_snap "$TMP/xs.1"
			napi_snap "$TMP/napi.1"
			NAPI=$(napi_share "$TMP/napi.0" "$TMP/napi.1")
			verify "$1" || _mrc=1
		else
			_mrc=1
		fi
	fi
	if [ "$_mrc" != 0 ]; then
		echo "BENCH-RUNFAIL $1 $_key $3 $RUN_ERR"
		say "$_tag: $1 $_key: FAILED: $RUN_ERR"
		[ "$_mrc" = 2 ] && { fail "$1/$_key" "$RUN_ERR"; broken "$1/$_key"; dmesg_tail 5; }
		return
	fi
	if [ "$3" = 0 ]; then echo "BENCH-WARMUP $1 $_key $R_VAL"
	else echo "BENCH-SAMPLE $1 $_key $3 $R_VAL $ESP_PKTS $NAPI ${R_RETR:--}"; fi
	[ -n "$PATHS" ] && [ "$3" != 0 ] && echo "BENCH-PATH $1 $_key $3 $ESP_PKTS $PATHS"
	_esp=""
	[ "$1" != plain ] && _esp=", $ESP_PKTS ESP packets"
	say "$_tag: $1 $_key: $R_VAL $M_UNIT$_esp, veth NAPI $NAPI%${R_NOTE:+, $R_NOTE}${PATHS:+; espah paths: $PATHS}"
}

# visit CONFIG ROUND: load CONFIG, run each of its metrics once
visit() {
	is_broken "$1" && return
	if ! load_impl "$1"; then
		fail "$1" "$LOAD_ERR"
		broken "$1"
		return
	fi
	gro_check || exit 1
	if [ "$2" = "$FIRST_ROUND" ] && [ "$1" != plain ]; then
		say "$1: modules $(awk '$1 ~ /^(espah|esp4|esp4_offload|esp6|esp6_offload)$/ { printf "%s ", $1 }' /proc/modules)${ESPAH_PARAMS:+; espah parameters: $ESPAH_PARAMS}"
		[ -n "${ESPAH_PARAMS:-}" ] && echo "BENCH-INFO params $1 $ESPAH_PARAMS"
	fi
	ESPAH_PARAMS=""
	if [ "$1" = plain ]; then
		for _vk in $PLAIN_KEYS; do
			is_broken "plain/$_vk" || measure plain "$(plain_metric "$_vk")" "$2" "$_vk"
		done
		return
	fi
	for _vm in $METRICS; do
		is_broken "$1/$_vm" || measure "$1" "$_vm" "$2"
	done
	xfrm_flush
}

# rotate N WORD...: the words rotated left by N
rotate() {
	_n=$1
	shift
	_k=$((_n % $#))
	while [ "$_k" -gt 0 ]; do
		_w=$1
		shift
		set -- "$@" "$_w"
		_k=$((_k - 1))
	done
	echo "$@"
}

# ---------------------------------------------------------------- allocations

# the ESP implementation's modules of CONFIG
esp_modules() {
	case $1 in
	intree) echo "esp4 esp6" ;;
	offload) echo "esp4 esp6 esp4_offload esp6_offload" ;;
	*) echo espah ;;
	esac
}

# text_filter CONFIG: a trace filter matching call sites in the text of
# CONFIG's loaded modules: "(call_site >= A && call_site < B) || ...".
# $TEXTS has "MODULE SECTION SIZE" per executable section (from the .ko);
# the address is the section's in /sys/module (bash arithmetic: 64-bit
# addresses wrap as they should; the guest's sh is bash)
text_filter() {
	_f=""
	for _m in $(esp_modules "$1"); do
		e2e_mod_loaded "$_m" || continue
		while read -r _mod _sec _size; do
			[ "$_mod" = "$_m" ] || continue
			_a=$(cat "/sys/module/$_m/sections/$_sec" 2>/dev/null) || continue
			case $_a in 0x*[1-9a-f]*) ;; *) continue ;; esac
			_f="${_f:+$_f || }(call_site >= $_a && call_site < $(printf '0x%x' $((_a + _size))))"
		done <"$TEXTS"
	done
	echo "$_f"
}

ALLOC_EVENTS=""
trace_ready() {
	[ -d $TRACE/events ] || mount -t tracefs nodev $TRACE 2>/dev/null
	for _e in kmalloc kmalloc_node kmem_cache_alloc kmem_cache_alloc_node; do
		[ -d "$TRACE/events/kmem/$_e" ] && ALLOC_EVENTS="$ALLOC_EVENTS $_e"
	done
	[ -n "$ALLOC_EVENTS" ]
}

# hist_start FILTER: two hist triggers per slab allocation event: the call
# sites FILTER matches (the ESP module's text), and every allocation
hist_start() {
	for _e in $ALLOC_EVENTS; do
		_t=$TRACE/events/kmem/$_e/trigger
		echo "hist:keys=call_site.sym:vals=hitcount:sort=hitcount.descending:size=4096 if $1" >"$_t" &&
			echo "hist:keys=bytes_alloc:vals=hitcount:size=512" >>"$_t" || return 1
	done
}

# hist_stop: "MODULE_HITS SLAB_HITS DROPPED TOP" (TOP: the module's call
# sites, "function:count,..."); removes the triggers
hist_stop() {
	for _e in $ALLOC_EVENTS; do
		cat "$TRACE/events/kmem/$_e/hist"
		: >"$TRACE/events/kmem/$_e/trigger"	# O_TRUNC removes every trigger
	done >"$TMP/hist.txt"
	awk '/^# trigger info:/ { mod = index($0, "call_site") > 0 }
		/^ *Hits:/ { if (mod) mh += $2; else sh += $2 }
		/^ *Dropped:/ { dr += $2 }
		mod && /call_site:/ && /hitcount:/ { s = $0; sub(/^[^]]*\] /, "", s); sub(/[+ ].*/, "", s); top[s] += $NF }
		END {
			printf "%d %d %d ", mh, sh, dr
			for (k = 0; k < 4; k++) { b = ""; for (s in top) if (b == "" || top[s] > top[b]) b = s
				if (b == "") break; printf "%s%s:%d", k ? "," : "", b, top[b]; delete top[b] }
			if (!k) printf "-"
			print ""
		}' "$TMP/hist.txt"
}

# frames sent on the veth, both ends (a cross-check of the SA counts)
veth_frames() { for _n in bl br; do ns $_n cat /sys/class/net/veth0/statistics/tx_packets; done | awk '{ s += $1 } END { print s + 0 }'; }

pgalloc() { awk '/^pgalloc_/ { s += $2 } END { print s + 0 }' /proc/vmstat; }

# espah's req_alloc counter, both namespaces (0 without espah)
req_allocs() { awk '$1 ~ /:espah_paths:req_alloc$/ { s += $2 } END { print s + 0 }' "$1"; }

# alloc_traffic WORKLOAD SECONDS
alloc_traffic() {
	case $1 in
	udp1400) udp_once $R 1400 "$2" ;;
	tcp_gcm) tcp_once $R 1 "$2" ;;
	esac
}

# alloc_run CONFIG WORKLOAD: allocations per ESP packet (GCM, IPv4
# transport SAs; CONFIG loaded)
alloc_run() {
	metric_spec tcp_gcm
	RUN_ERR=""
	if ! prepare "$1" tcp_gcm; then
		fail "alloc/$1/$2" "$RUN_ERR"
		return
	fi
	_filter=$(text_filter "$1")
	[ -n "$_filter" ] || { fail "alloc/$1/$2" "no text section of $(esp_modules "$1") found"; return; }
	# fills the per-CPU caches and the SA's state before anything counts
	alloc_traffic "$2" 1 || { fail "alloc/$1/$2" "warm-up: $RUN_ERR"; return; }
	stat_snap "$TMP/xs.0"
	sa_snap "$TMP/sa.0"
	espah_snap "$TMP/es.0"
	_pg0=$(pgalloc)
	_vf0=$(veth_frames)
	if ! hist_start "$_filter" 2>"$TMP/hist.err"; then
		hist_stop >/dev/null
		fail "alloc/$1/$2" "cannot set the kmem hist triggers: $(cat "$TMP/hist.err")"
		return
	fi
	alloc_traffic "$2" "$ALLOC_T"
	_rc=$?
	_h=$(hist_stop)
	_pg=$(($(pgalloc) - _pg0))
	_vf=$(($(veth_frames) - _vf0))
	[ "$_rc" = 0 ] || { fail "alloc/$1/$2" "$RUN_ERR"; return; }
	stat_snap "$TMP/xs.1"
	sa_snap "$TMP/sa.1"
	espah_snap "$TMP/es.1"
	_xs=$(counters_diff "$TMP/xs.0" "$TMP/xs.1")
	[ -z "$_xs" ] || { fail "alloc/$1/$2" "xfrm_stat counters rose: $_xs"; return; }
	_pk=$(esp_packets "$TMP/sa.0" "$TMP/sa.1")
	[ "$_pk" -gt 0 ] || { fail "alloc/$1/$2" "no ESP packet counted by the SAs"; return; }
	_req=$(($(req_allocs "$TMP/es.1") - $(req_allocs "$TMP/es.0")))
	# shellcheck disable=SC2086  # the four fields of hist_stop
	set -- "$1" "$2" $_h
	[ "$5" = 0 ] || say "alloc $1 $2: WARNING: the hist tables dropped $5 entries (counts are low)"
	echo "BENCH-ALLOC $1 $2 $_pk $3 $4 $_pg $_req $6"
	say "alloc $1 $2: $_pk ESP packets ($_vf frames on the veth), $R_VAL $([ "$2" = udp1400 ] && echo kpps || echo Mbit/s); per packet: $(awk -v p="$_pk" -v m="$3" -v s="$4" -v g="$_pg" -v r="$_req" \
		'BEGIN { printf "%.3f in the module, %.2f slab system-wide, %.3f pages, req_alloc %.3f", m / p, s / p, g / p, r / p }'); module call sites: $6"
}

alloc_phase() {
	_cfgs=""
	for _ac in $CONFIGS; do [ "$_ac" != plain ] && ! is_broken "$_ac" && _cfgs="$_cfgs $_ac"; done
	[ -n "$_cfgs" ] || return 0
	if ! trace_ready; then
		fail alloc "no tracefs kmem events (mount -t tracefs at $TRACE)"
		return
	fi
	[ -r "$TEXTS" ] || { fail alloc "no module text sizes ($TEXTS)"; return; }
	say "allocations: UDP 1400 B and TCP GCM for ${ALLOC_T}s per configuration (kmem events:$ALLOC_EVENTS)"
	for _ac in $_cfgs; do
		if ! load_impl "$_ac"; then
			fail "alloc/$_ac" "$LOAD_ERR"
			continue
		fi
		for _aw in udp1400 tcp_gcm; do alloc_run "$_ac" $_aw; done
	done
	xfrm_flush
}

# ---------------------------------------------------------------- AEAD ceiling

# tcrypt mode 211 = rfc4106(gcm(aes)) enc, gcm(aes) enc, then both dec; with
# sec=1 every (key, size) pair takes 1 s, ~64 s in all, and modprobe cannot
# be interrupted. We only need rfc4106 encryption (first, 160-bit key =
# AES-128 + salt, 8 sizes): run it in the background, take the 1420-byte
# line (or the nearest size once that section is over) and move on; the
# rest of tcrypt keeps one vCPU busy while the guest powers off.
run_tcrypt() {
	say "AEAD ceiling: modprobe tcrypt mode=211 sec=1 (rfc4106(gcm(aes)) encryption, one vCPU)"
	_mark="bench-tcrypt-$$-$(now)"
	echo "$_mark" >/dev/kmsg
	modprobe tcrypt mode=211 sec=1 >/dev/null 2>&1 &
	_tp=$!
	_i=0 _res=""
	while [ $_i -lt 60 ]; do
		sleep 1
		_i=$((_i + 1))
		dmesg >"$TMP/dmesg.txt"
		# -> "state size ops secs bytes driver" ; state: done|partial
		_res=$(awk -v mark="$_mark" '
			index($0, mark) { on = 1; next }
			!on { next }
			/testing speed of rfc4106\(gcm\(aes\)\)/ && /encryption/ {
				sec = 1; drv = $0; sub(/.*\) \(/, "", drv); sub(/\).*/, "", drv); next }
			sec && /testing speed of/ { over = 1; sec = 0; next }
			sec && /bit key, [0-9]+ byte blocks\): [0-9]+ operations in [0-9]+ seconds \([0-9]+ bytes\)/ {
				s = $0; sub(/.*key, /, "", s); sub(/ byte.*/, "", s)
				o = $0; sub(/.*blocks\): /, "", o); sub(/ operations.*/, "", o)
				t = $0; sub(/.*operations in /, "", t); sub(/ seconds.*/, "", t)
				b = $0; sub(/.*seconds \(/, "", b); sub(/ bytes.*/, "", b)
				d = s - 1420; if (d < 0) d = -d
				if (best == "" || d < bd) { best = s; bd = d; bb = b; bt = t }
				if (s + 0 == 1420) over = 1
			}
			END {
				if (best != "") printf "%s %d %s %s %s\n", (over ? "done" : "partial"), best, bb, bt, (drv == "" ? "?" : drv)
			}' "$TMP/dmesg.txt")
		case $_res in done*) break ;; esac
		kill -0 $_tp 2>/dev/null || { sleep 1; dmesg >"$TMP/dmesg.txt"; break; }
	done
	# shellcheck disable=SC2086
	set -- $_res
	if [ -z "$_res" ]; then
		fail aead "no rfc4106(gcm(aes)) encryption speed line from tcrypt mode=211"
		awk -v mark="$_mark" 'index($0, mark) { on = 1; next } on' "$TMP/dmesg.txt" | tail -n 5 | sed 's/^/bench:   dmesg: /'
		return 1
	fi
	_mbit=$(awk -v b="$3" -v t="$4" 'BEGIN { printf "%.1f\n", b * 8 / t / 1e6 }')
	echo "BENCH aead ceiling $_mbit $5 $2"
	say "AEAD ceiling: rfc4106(gcm(aes)) 128-bit key, $2-byte blocks: $_mbit Mbit/s ($5, $3 bytes in $4 s)"
	kill -0 $_tp 2>/dev/null && say "(tcrypt's remaining speed tests keep running; the guest powers off anyway)"
}

# crypto drivers the kernel picked (highest priority) for the SAs' algorithms
crypto_drivers() {
	awk '/^name/ { n = $3 } /^driver/ { d = $3 } /^priority/ { p = $3 }
		/^$/ && (n == "rfc4106(gcm(aes))" || n == "rfc7539esp(chacha20,poly1305)" || n == "authenc(hmac(sha256),cbc(aes))") {
			if (!(n in bp) || p + 0 > bp[n]) { bp[n] = p + 0; bd[n] = d } }
		END { for (n in bd) printf "%s=%s ", n, bd[n] }' /proc/crypto
}

# ---------------------------------------------------------------- main

for m in $METRICS; do
	metric_spec "$m" || { fail setup "unknown metric $m (known: $ALL_METRICS)"; exit 1; }
	echo "BENCH-METRIC $m $M_UNIT $M_PLAIN $M_DESC"
done
for c in $CONFIGS; do
	case " $ALL_CONFIGS " in *" $c "*) ;; *) fail setup "unknown configuration $c (known: $ALL_CONFIGS)"; exit 1 ;; esac
done
PLAIN_KEYS=$(plain_keys)
per_round=0
for c in $CONFIGS; do
	# shellcheck disable=SC2086
	if [ "$c" = plain ]; then per_round=$((per_round + $(words $PLAIN_KEYS)))
	else per_round=$((per_round + $(words $METRICS))); fi
done
FIRST_ROUND=1
[ "$WARMUP" = 1 ] && FIRST_ROUND=0
RUNS_TOTAL=$((per_round * (REPS + 1 - FIRST_ROUND)))
say "plan: configurations '$CONFIGS', metrics '$METRICS' (plain: $PLAIN_KEYS);" \
	"$RUNS_TOTAL runs of ${T}s ($([ "$WARMUP" = 1 ] && echo "1 warm-up round + ")$REPS rounds," \
	"order rotating every round); allocations: $ALLOCS; tcrypt: $TCRYPT"

ROUND=$FIRST_ROUND
while [ "$ROUND" -le "$REPS" ]; do
	# shellcheck disable=SC2086
	order=$(rotate "$ROUND" $CONFIGS)
	if [ "$ROUND" = 0 ]; then say "warm-up round (discarded): $order"
	else say "round $ROUND/$REPS: $order"; fi
	for c in $order; do visit "$c" "$ROUND"; done
	ROUND=$((ROUND + 1))
done
echo "BENCH-INFO drivers $(crypto_drivers)"
[ "$ALLOCS" = 1 ] && alloc_phase
[ "$TCRYPT" = 1 ] && run_tcrypt
echo "$OLD_PRINTK" >/proc/sys/kernel/printk
say "done"
exit 0
