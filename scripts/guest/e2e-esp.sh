#!/bin/sh
# e2e-esp.sh - host-to-host ESP end to end, run inside the QEMU guest.
#
# usage: e2e-esp.sh espah|intree [FILTER]
#   FILTER (optional) is a substring of the case name, e.g. "v6-tunnel".
#
# Topology (one case at a time, rebuilt for each case):
#
#   ns1                                            ns2
#   lo  10.99.0.1 / fd00:99::1 (tunnel inner)      lo  10.99.0.2 / fd00:99::2
#   veth1 10.11.0.1/24 fd00:11::1/64 ===== veth2 10.11.0.2/24 fd00:11::2/64
#   tcpdump -Q out on veth1 and on veth2: together exactly the wire
#   (an ingress capture would also show tunnel-mode plaintext re-injected
#   on the receiving device after decapsulation)
#
# For v4|v6 x transport|tunnel x gcm128|cbc-sha256: SAs both ways, policies
# (dir out on the sender, dir in on the receiver, both directions), then:
#   ping, a ~4 MiB TCP transfer checked by sha256, both captures complete,
#   ESP on the wire, no plaintext TCP/ICMP and no payload marker on the
#   wire, SA packet counters moved, no /proc/net/xfrm_stat counter rose,
#   the implementation under test holds the states; with
#   E2E_ASYNC_CHECK=1 (e2e-async.sh), each SA holds a cryptd transform.
# On the host (scripts/wire-check.py): every captured frame authenticates
# and decrypts under its SA, and the decrypted TCP stream is the payload.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_suite_start "$@"

CAP1=$E2E_TMP/esp-ns1-out.pcap
CAP2=$E2E_TMP/esp-ns2-out.pcap

esp_diag() {
	e2e_pcap_summary "$CAP1" 15
	e2e_pcap_summary "$CAP2" 15
	e2e_diag_ns ns1 ns2
}

# run_case FAMILY MODE TRANSFORM
run_case() {
	fam=$1 mode=$2 xf=$3
	name="v$fam-$mode-$xf"
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	e2e_case_begin "$name" esp_diag $((9 + ${E2E_ASYNC_CHECK:-0})) 2 || return 0

	if [ "$fam" = 4 ]; then
		o1=10.11.0.1 o2=10.11.0.2 plen=24 i1=10.99.0.1 i2=10.99.0.2 hl=32
		esp_f='ip proto 50' plain_f=$E2E_PLAIN_FILTER_4
	else
		o1=fd00:11::1 o2=fd00:11::2 plen=64 i1=fd00:99::1 i2=fd00:99::2 hl=128
		esp_f='ip6 proto 50' plain_f=$E2E_PLAIN_FILTER_6
	fi

	e2e_ns_add ns1 ns2
	e2e_veth ns1 veth1 ns2 veth2
	e2e_addr ns1 veth1 "$o1/$plen"
	e2e_addr ns2 veth2 "$o2/$plen"
	if [ "$mode" = tunnel ]; then
		# inner addresses on lo, routed over the veth with the inner source
		e2e_addr ns1 lo "$i1/$hl"
		e2e_addr ns2 lo "$i2/$hl"
		"$IP" -n ns1 route add "$i2/$hl" via "$o2" src "$i1" || e2e_setup_fail "route in ns1"
		"$IP" -n ns2 route add "$i1/$hl" via "$o1" src "$i2" || e2e_setup_fail "route in ns2"
		a1=$i1 a2=$i2
	else
		a1=$o1 a2=$o2
	fi

	[ "${E2E_ASYNC_CHECK:-0}" = 1 ] && e2e_crypto_snap "$E2E_TMP/crypto.before"
	# SAs: 1->2 spi 0x1001 key set 1, 2->1 spi 0x2002 key set 2, in both netns
	for n in ns1 ns2; do
		e2e_sa "$n" "$o1" "$o2" 0x1001 1 "$mode" "$xf" 1
		e2e_sa "$n" "$o2" "$o1" 0x2002 2 "$mode" "$xf" 2
	done
	e2e_pol ns1 out "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$mode"
	e2e_pol ns1 in  "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$mode"
	e2e_pol ns2 out "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$mode"
	e2e_pol ns2 in  "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$mode"
	if [ "$fam" = 6 ]; then
		e2e_nd_bypass ns1
		e2e_nd_bypass ns2
	fi

	e2e_setup_check "$name" || return 0

	e2e_stat_snap_all ns1 ns2
	# the wire = what each end transmits
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out

	log "$name: ping $a1 -> $a2"
	t_check "$name: ping" e2e_ping ns1 "$a2" 3

	log "$name: TCP transfer $a1 -> $a2"
	if out=$(e2e_tcp_xfer ns2 "$a2" ns1); then
		t_ok "$name: tcp 4MiB sha256"
		log "$out"
	else
		t_fail "$name: tcp 4MiB sha256" "$out"
	fi

	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name"
	e2e_wire_export "$name" "$a2,$E2E_PORT" "$CAP1" "$CAP2"

	# (c) on the wire
	n_esp1=$(e2e_pcap_count "$esp_f" "$CAP1")
	n_esp2=$(e2e_pcap_count "$esp_f" "$CAP2")
	n_esp=$((n_esp1 + n_esp2))
	n_plain=$(e2e_pcap_count "$plain_f" "$CAP1" "$CAP2")
	n_mark=$(e2e_marker_count "$CAP1" "$CAP2")
	log "$name: wire: esp=$n_esp plaintext-tcp/icmp=$n_plain marker=$n_mark"
	if [ "$n_esp1" -gt 0 ] && [ "$n_esp2" -gt 0 ]; then t_ok "$name: ESP on the wire both ways ($n_esp1 + $n_esp2 pkts)"
	else t_fail "$name: ESP on the wire both ways" "'$esp_f' packets: ns1->ns2 $n_esp1, ns2->ns1 $n_esp2"; fi
	if [ "$n_plain" -eq 0 ]; then t_ok "$name: no plaintext tcp/icmp on the wire"
	else t_fail "$name: no plaintext tcp/icmp on the wire" "$n_plain packets match '$plain_f'"; fi
	if [ "$n_mark" -eq 0 ]; then t_ok "$name: payload marker not on the wire"
	else t_fail "$name: payload marker not on the wire" "marker seen $n_mark times"; fi

	# (d) SA counters
	e2e_counters_check "$name" "ns1 $o1 $o2 0x1001" "ns1 $o2 $o1 0x2002" \
		"ns2 $o1 $o2 0x1001" "ns2 $o2 $o1 0x2002"

	# (e) xfrm_stat
	e2e_stat_check "$name" ns1 ns2

	# (f) the implementation under test holds the states
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" "$fam"
	[ "${E2E_ASYNC_CHECK:-0}" = 1 ] && e2e_check_sa_crypto "$name" "$E2E_TMP/crypto.before" 4 async

	e2e_cleanup_all
}

for fam in 4 6; do
	for mode in transport tunnel; do
		for xf in gcm128 cbc-sha256; do
			run_case "$fam" "$mode" "$xf"
		done
	done
done

t_finish
