#!/bin/sh
# e2e-offload.sh - ESP GSO/GRO offload, run inside the QEMU guest (issue 10).
#
# usage: e2e-offload.sh espah|intree [FILTER]
#
#   ns1 veth1 (GRO on) ===== veth2 (GRO on) ns2     10.13.0.0/24, fd00:13::/64
#
# Cases:
#   gso-gro-v4|v6-transport|tunnel: a 4 MiB TCP transfer with GRO on and
#     TSO off on both veth ends (a veth in GRO mode runs NAPI, so the ESP
#     GRO hook is called, for packets of senders without TSO): ESP on the wire, sha256, SA counters, no xfrm_stat counter;
#     espah: the sender's SA encrypted GSO segments at device transmit
#     (tx_gso_segments, tx_late) and the receiver's SA took packets through
#     espah's GRO hook (rx_gro), no drop counter. With --impl intree the
#     suite loads esp4_offload/esp6_offload and checks the traffic only.
#   offload-dev: the SAs added with "offload dev veth1|veth2 dir out|in" on
#     a device without IPsec offload run in software (transfer, no drops).
#   early-path-udp-encap: ESP in UDP, where the core keeps the early output
#     path: espah encrypts in type->output (no tx_late), traffic flows.
#   parallel: espah spreads one SA's crypto over both vCPUs
#     (tx_parallel, rx_parallel).
#   esp-null-v4|v6: ESP-NULL without integrity (ecb(cipher_null) +
#     digest_null) through GSO and GRO: espah sends the payload as it is
#     and takes it as it is (tx_null, rx_null: no crypto, no copy); the
#     transfer, the wire (the host's decoder reads the NULL packets) and
#     the counters as in gso-gro.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_suite_args "$@"
if [ "$impl" = intree ]; then
	modprobe esp4_offload || die "modprobe esp4_offload failed"
	modprobe esp6_offload || die "modprobe esp6_offload failed"
fi
e2e_make_payload

CAP1=$E2E_TMP/off-ns1-out.pcap
CAP2=$E2E_TMP/off-ns2-out.pcap

off_diag() {
	e2e_pcap_summary "$CAP1" 10
	e2e_pcap_summary "$CAP2" 10
	e2e_diag_ns ns1 ns2
	for _n in ns1 ns2; do
		echo "== /proc/net/espah_paths ($_n)"
		ns "$_n" cat /proc/net/espah_paths 2>&1
	done
}

# off_path_check NAME NS SPI COUNTER...: each counter of the SA moved
off_path_check() {
	_name=$1 _n=$2 _spi=$3
	shift 3
	[ "$E2E_IMPL" = espah ] || return 0
	_bad="" _seen=""
	for _c in "$@"; do
		_v=$(e2e_espah_path "$_n" "$_spi" "$_c")
		_seen="$_seen $_c=${_v:-?}"
		[ "${_v:-0}" -gt 0 ] || _bad="$_bad $_c=${_v:-absent}"
	done
	if [ -z "$_bad" ]; then t_ok "$_name: $_n SA $_spi took the path:$_seen"
	else t_fail "$_name: $_n SA $_spi took the path" "not moved:$_bad"; fi
}

off_topology() {
	fam=$1
	if [ "$fam" = 4 ]; then
		o1=10.13.0.1 o2=10.13.0.2 pl=24 i1=10.97.0.1 i2=10.97.0.2 hl=32
		esp_f='ip proto 50'
	else
		o1=fd00:13::1 o2=fd00:13::2 pl=64 i1=fd00:97::1 i2=fd00:97::2 hl=128
		esp_f='ip6 proto 50'
	fi
	e2e_ns_add ns1 ns2
	e2e_veth ns1 veth1 ns2 veth2
	# GRO on makes a veth run NAPI, where the ESP GRO hook is called; a
	# veth passes TSO-capable senders' packets around NAPI, so TSO off
	for _e in "ns1 veth1" "ns2 veth2"; do
		# shellcheck disable=SC2086
		ns ${_e% *} ethtool -K ${_e#* } gro on tso off >/dev/null 2>&1 ||
			e2e_setup_fail "ethtool -K ${_e#* } gro on tso off"
	done
	e2e_addr ns1 veth1 "$o1/$pl"
	e2e_addr ns2 veth2 "$o2/$pl"
}

# off_tunnel_routes: inner addresses on lo, routed over the veth
off_tunnel_routes() {
	e2e_addr ns1 lo "$i1/$hl"
	e2e_addr ns2 lo "$i2/$hl"
	"$IP" -n ns1 route add "$i2/$hl" via "$o2" src "$i1" || e2e_setup_fail "route in ns1"
	"$IP" -n ns2 route add "$i1/$hl" via "$o1" src "$i2" || e2e_setup_fail "route in ns2"
}

# off_sas MODE [WORDS...]: GCM SAs both ways in both namespaces
off_sas() {
	_m=$1
	shift
	for _n in ns1 ns2; do
		e2e_sa_words "$_n" "$o1" "$o2" 0x1001 1 "$_m" $(e2e_algo gcm128 1) "$@" ||
			e2e_setup_fail "state 0x1001 in $_n: $E2E_SA_ERR"
		e2e_sa_words "$_n" "$o2" "$o1" 0x2002 2 "$_m" $(e2e_algo gcm128 2) "$@" ||
			e2e_setup_fail "state 0x2002 in $_n: $E2E_SA_ERR"
	done
}

# off_null_sas: ESP-NULL without integrity both ways, transport mode
off_null_sas() {
	for _n in ns1 ns2; do
		e2e_sa "$_n" "$o1" "$o2" 0x1001 1 transport null 1
		e2e_sa "$_n" "$o2" "$o1" 0x2002 2 transport null 2
	done
}

off_policies() {
	e2e_pol ns1 out "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$1"
	e2e_pol ns1 in  "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$1"
	e2e_pol ns2 out "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$1"
	e2e_pol ns2 in  "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$1"
	if [ "$fam" = 6 ] && [ "$1" = transport ]; then
		e2e_nd_bypass ns1
		e2e_nd_bypass ns2
	fi
}

# off_traffic NAME: ping, transfer, wire, counters, stats
off_traffic() {
	e2e_stat_snap_all ns1 ns2
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out
	t_check "$1: ping" e2e_ping ns1 "$a2" 3
	if out=$(e2e_tcp_xfer ns2 "$a2" ns1); then
		t_ok "$1: tcp 4MiB sha256"
		log "$out"
	else
		t_fail "$1: tcp 4MiB sha256" "$out"
	fi
	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	_n1=$(e2e_pcap_count "$esp_f" "$CAP1")
	_n2=$(e2e_pcap_count "$esp_f" "$CAP2")
	if [ "$_n1" -gt 0 ] && [ "$_n2" -gt 0 ]; then t_ok "$1: ESP on the wire both ways ($_n1 + $_n2 pkts)"
	else t_fail "$1: ESP on the wire both ways" "'$esp_f': $_n1, $_n2"; fi
	e2e_counters_check "$1" "ns1 $o1 $o2 0x1001" "ns1 $o2 $o1 0x2002" \
		"ns2 $o1 $o2 0x1001" "ns2 $o2 $o1 0x2002"
	e2e_stat_check "$1" ns1 ns2
	e2e_espah_no_drops "$1" ns1 ns2
}

run_gso_gro() {
	fam=$1 mode=$2
	name="gso-gro-v$fam-$mode"
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	e2e_case_begin "$name" off_diag
	off_topology "$fam"
	if [ "$mode" = tunnel ]; then
		off_tunnel_routes
		a1=$i1 a2=$i2
	else
		a1=$o1 a2=$o2
	fi
	off_sas "$mode"
	off_policies "$mode"
	e2e_setup_check "$name" || return 0
	off_traffic "$name"
	off_path_check "$name" ns1 0x00001001 tx_late tx_gso_segments tx_out_of_place
	off_path_check "$name" ns2 0x00001001 rx_gro
	e2e_cleanup_all
}

# ESP-NULL: no crypto, the payload neither copied nor written
run_null() {
	fam=$1
	name="esp-null-v$fam"
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	e2e_case_begin "$name" off_diag
	off_topology "$fam"
	a1=$o1 a2=$o2
	off_null_sas
	off_policies transport
	e2e_setup_check "$name" || return 0
	off_traffic "$name"
	off_path_check "$name" ns1 0x00001001 tx_late tx_gso_segments tx_null
	off_path_check "$name" ns2 0x00001001 rx_gro rx_null
	e2e_cleanup_all
}

# SAs on a device without IPsec offload: the core keeps them in software
run_offload_dev() {
	name=offload-dev
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	e2e_case_begin "$name" off_diag
	off_topology 4
	a1=$o1 a2=$o2
	# (e2e_sa_words uses _n, _s, _d ... itself: other names here)
	for _x in "ns1 veth1" "ns2 veth2"; do
		off_ns=${_x% *} off_dev=${_x#* }
		if [ "$off_ns" = ns1 ]; then off_o=out off_i=in; else off_o=in off_i=out; fi
		e2e_sa_words "$off_ns" "$o1" "$o2" 0x1001 1 transport $(e2e_algo gcm128 1) \
			offload dev "$off_dev" dir "$off_o" ||
			e2e_setup_fail "offload state 0x1001 in $off_ns: $E2E_SA_ERR"
		e2e_sa_words "$off_ns" "$o2" "$o1" 0x2002 2 transport $(e2e_algo gcm128 2) \
			offload dev "$off_dev" dir "$off_i" ||
			e2e_setup_fail "offload state 0x2002 in $off_ns: $E2E_SA_ERR"
	done
	off_policies transport
	e2e_setup_check "$name" || return 0
	off_traffic "$name"
	e2e_cleanup_all
}

# ESP in UDP: the core does not offload it, espah's type->output runs
run_early_path() {
	name=early-path-udp-encap
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	e2e_case_begin "$name" off_diag
	off_topology 4
	a1=$o1 a2=$o2
	off_sas transport encap espinudp 4500 4500 0.0.0.0
	off_policies transport
	e2e_nattsock_start ns1 4
	e2e_nattsock_start ns2 4
	e2e_setup_check "$name" || return 0
	esp_f='udp port 4500'
	off_traffic "$name"
	if [ "$E2E_IMPL" = espah ]; then
		_late=$(e2e_espah_path ns1 0x00001001 tx_late)
		_enc=$(( $(e2e_espah_path ns1 0x00001001 tx_in_place) + $(e2e_espah_path ns1 0x00001001 tx_out_of_place) ))
		if [ "${_late:-1}" -eq 0 ] && [ "$_enc" -gt 0 ]; then
			t_ok "$name: encrypted on the early path ($_enc packets, none at device transmit)"
		else
			t_fail "$name: encrypted on the early path" "tx_late=${_late:-?}, encrypted=$_enc"
		fi
	fi
	e2e_cleanup_all
}

# one SA's crypto on both vCPUs
run_parallel() {
	name=parallel
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	[ "$E2E_IMPL" = espah ] || return 0
	if [ "$(grep -c ^processor /proc/cpuinfo)" -lt 2 ]; then
		t_skip "$name" "one vCPU"
		return 0
	fi
	e2e_case_begin "$name" off_diag
	off_topology 4
	a1=$o1 a2=$o2
	off_sas transport
	off_policies transport
	e2e_setup_check "$name" || return 0
	# single packets (received ones: GRO merges are not GSO batches) go
	# to other CPUs only with parallel_single
	echo 1 >/sys/module/espah/parameters/parallel_single
	off_traffic "$name"
	echo 0 >/sys/module/espah/parameters/parallel_single
	off_path_check "$name" ns1 0x00001001 tx_parallel
	off_path_check "$name" ns2 0x00001001 rx_parallel
	e2e_cleanup_all
}

for fam in 4 6; do
	for mode in transport tunnel; do
		run_gso_gro "$fam" "$mode"
	done
done
run_null 4
run_null 6
run_offload_dev
run_early_path
run_parallel

t_finish
