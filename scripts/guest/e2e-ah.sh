#!/bin/sh
# e2e-ah.sh - host-to-host AH end to end, run inside the QEMU guest.
#
# usage: e2e-ah.sh espah|intree [FILTER]
#   FILTER (optional) is a substring of the case name, e.g. "v6-tunnel".
#
# Topology (one case at a time, rebuilt for each case), as in e2e-esp.sh:
#
#   ns1                                            ns2
#   lo  10.99.0.1 / fd00:99::1 (tunnel inner)      lo  10.99.0.2 / fd00:99::2
#   veth1 10.11.0.1/24 fd00:11::1/64 ===== veth2 10.11.0.2/24 fd00:11::2/64
#         tcpdump here (out)           tcpdump here (out)
#
# Cases (espah refusing to load beside ah4/ah6 is autoload.sh's):
#   v4|v6 x transport|tunnel x sha1-96|sha256-128, then v4-in-v6 and
#   v6-in-v4 tunnels, 'flag align4' (IPv4), 'flag esn', IPv4 packets
#   carrying IP options (Record Route, Router Alert), IPv6 packets carrying
#   a Hop-by-Hop option whose data may change en route, and ESP inside AH
#   on the same traffic (one policy, two templates).
# Each: SAs both ways, policies both ways, then ping, a TCP transfer
# checked by sha256, the captures complete, AH on the wire with an ICV of
# the right length and the payload readable (AH does not encrypt; with ESP
# inside: not readable), SA packet counters moved without integrity
# failures, no /proc/net/xfrm_stat counter rose, and the implementation
# under test holds the states. On the host (scripts/wire-check.py): every
# captured frame authenticates under its SA (scapy's AH, mutable fields
# zeroed), ESP inside AH also decrypts, and each TCP stream is the payload.

here=$(cd "$(dirname "$0")" && pwd)
# 2 x 512 KiB: AH is checked on every packet, a few MiB add time, not cover.
E2E_PAYLOAD_CHUNKS=${E2E_PAYLOAD_CHUNKS:-2}
. "$here/lib.sh"
e2e_plan "$@"

e2e_suite_args "$@"
if [ "$impl" = intree ] && [ "$E2E_PLAN_ONLY" != 1 ]; then
	modprobe ah4 || die "modprobe ah4 failed"
	modprobe ah6 || die "modprobe ah6 failed"
fi
[ "$E2E_PLAN_ONLY" = 1 ] || for m in md5 sha1_generic sha512_generic; do
	modprobe -q "$m" >/dev/null 2>&1 || true
done

CAP1=$E2E_TMP/ah1.pcap
CAP2=$E2E_TMP/ah2.pcap
E2E_PORT_OPTS=5002

# ---------------------------------------------------------------- AH helpers
# lib.sh's SA, policy and counter helpers are ESP-only (proto esp is
# spelled out in them); these are their AH counterparts.

# ah_algo TRANSFORM 1|2: the algorithm part of "ip xfrm state add"
ah_algo() {
	_k=""
	eval "_k=\$E2E_AUTH_KEY_$2"
	case "$1" in
	sha1-96) echo "auth hmac(sha1) $_k" ;;
	sha256-128) echo "auth-trunc hmac(sha256) $_k 128" ;;
	*) echo "unknown-transform-$1"; return 1 ;;
	esac
}

# ah_icv_hex TRANSFORM FLAGS: hex digits tcpdump prints for the ICV field
# (the ICV and its padding to 8 octets, or 4 with align4)
ah_icv_hex() {
	case "$1" in
	sha1-96) _icv=12 ;;
	sha256-128) _icv=16 ;;
	esac
	_al=8
	case "$2" in *align4*) _al=4 ;; esac
	echo $(( ((12 + _icv + _al - 1) / _al * _al - 12) * 2 ))
}

# ah_sa NS SRC DST SPI REQID MODE TRANSFORM KEYIDX [FLAG...]
ah_sa() {
	_n=$1 _s=$2 _d=$3 _spi=$4 _r=$5 _m=$6 _x=$7 _ki=$8
	shift 8
	_f=""
	[ $# -gt 0 ] && _f="flag $*"
	# shellcheck disable=SC2046,SC2086  # algorithm words are split on purpose
	"$IP" -n "$_n" xfrm state add src "$_s" dst "$_d" proto ah spi "$_spi" \
		reqid "$_r" mode "$_m" replay-window "$E2E_REPLAY_WINDOW" $(ah_algo "$_x" "$_ki") $_f ||
		e2e_setup_fail "xfrm state add in $_n: $_s -> $_d proto ah spi $_spi $_m $_x $_f rejected"
}

# ah_pol NS DIR SELSRC SELDST TMPLSRC TMPLDST REQID MODE [esp]
# With "esp", ESP (reqid + 100, transport) inside AH on the same policy.
ah_pol() {
	_esp=""
	[ "${9:-}" = esp ] &&
		_esp="tmpl src $5 dst $6 proto esp reqid $(($7 + 100)) mode $8"
	# shellcheck disable=SC2086
	"$IP" -n "$1" xfrm policy add src "$3" dst "$4" dir "$2" priority 100 \
		$_esp tmpl src "$5" dst "$6" proto ah reqid "$7" mode "$8" ||
		e2e_setup_fail "xfrm policy add in $1: dir $2 $3 -> $4"
}

# ah_tcp_xfer_opts NS_SRV SRV_ADDR NS_CLI SOCAT_CLIENT_OPTS: as
# e2e_tcp_xfer, with socket options on the sender (IP options, IPv6
# extension headers)
ah_tcp_xfer_opts() {
	e2e_make_payload
	_rx=$E2E_TMP/rx-opts.$$
	rm -f "$_rx"
	case "$2" in
	*:*) _l="TCP6-LISTEN:$E2E_PORT_OPTS,bind=[$2],reuseaddr"; _c="TCP6:[$2]:$E2E_PORT_OPTS" ;;
	*) _l="TCP4-LISTEN:$E2E_PORT_OPTS,bind=$2,reuseaddr"; _c="TCP4:$2:$E2E_PORT_OPTS" ;;
	esac
	ns "$1" timeout "$E2E_TCP_TIMEOUT" socat -u "$_l" "CREATE:$_rx" 2>"$_rx.srv.err" &
	_sp=$!
	if ! ns "$3" timeout "$E2E_TCP_TIMEOUT" socat -u "OPEN:$E2E_TMP/payload" \
		"$_c,$4,retry=20,interval=0.5" 2>"$_rx.cli.err"; then
		kill "$_sp" 2>/dev/null; wait "$_sp" 2>/dev/null
		echo "sender failed: $(tail -n 2 "$_rx.cli.err" | tr '\n' ' ')"
		return 1
	fi
	wait "$_sp"
	_got=$(sha256sum "$_rx" 2>/dev/null | cut -d' ' -f1)
	_want=$(sha256sum "$E2E_TMP/payload" | cut -d' ' -f1)
	_len=$(wc -c <"$_rx" 2>/dev/null)
	rm -f "$_rx"
	if [ "$_got" != "$_want" ]; then
		echo "sha256 mismatch: received $_len bytes; srv: $(tail -n 2 "$_rx.srv.err" | tr '\n' ' ')"
		return 1
	fi
	echo "received $_len bytes with options '$4', sha256 matches"
}

ah_diag() {
	e2e_pcap_summary "$CAP1" 10
	e2e_pcap_summary "$CAP2" 10
	e2e_diag_ns ns1 ns2
}

# ---------------------------------------------------------------- one case

# outer_addrs / inner_addrs FAMILY: veth or lo (tunnel inner) addresses
outer_addrs() {
	if [ "$1" = 4 ]; then o1=10.11.0.1 o2=10.11.0.2 oplen=24 ohl=32
	else o1=fd00:11::1 o2=fd00:11::2 oplen=64 ohl=128; fi
}
inner_addrs() {
	if [ "$1" = 4 ]; then i1=10.99.0.1 i2=10.99.0.2 ihl=32
	else i1=fd00:99::1 i2=fd00:99::2 ihl=128; fi
}

# ah_wire_text PCAP FILTER: the AH packets of a capture, decoded once
# (tcpdump is slow under TCG; every wire check reads this text)
ah_wire_text() {
	tcpdump -r "$1" -n "$2" 2>/dev/null >"$1.txt"
	wc -l <"$1.txt"
}

# ah_icv_check NAME TRANSFORM FLAGS TEXT...: every AH packet has an ICV
# field of the expected length, and it is not all zeros
ah_icv_check() {
	_name=$1 _want=$(ah_icv_hex "$2" "$3")
	shift 3
	_icvs=$(sed -n 's/.*AH(spi=[^,]*,seq=[^,]*,icv=0x\([0-9a-f]*\)).*/\1/p' "$@")
	_bad=$(echo "$_icvs" | awk -v w="$_want" 'NF && (length($0) != w || $0 ~ /^0+$/)' | head -n 1)
	if [ -z "$_icvs" ]; then
		t_fail "$_name: ICV on the wire" "tcpdump decoded no AH ICV"
	elif [ -n "$_bad" ]; then
		t_fail "$_name: ICV on the wire" "ICV field '$_bad' is not $_want non-zero hex digits"
	else
		t_ok "$_name: ICV on the wire ($_want hex digits)"
	fi
}

# run_case NAME FAMILY INNER_FAMILY MODE TRANSFORM EXTRA
#   EXTRA: "" | align4 | esn | ipopts | hbh | esp
run_case() {
	name=$1 fam=$2 ifam=$3 mode=$4 xf=$5 extra=$6
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	streams=$E2E_PORT
	case "$extra" in ipopts|hbh) streams="5001 $E2E_PORT_OPTS" ;; esac
	# 9 checks, 2 more with options; on the host 1 + one per TCP stream
	set -- $streams
	e2e_case_begin "$name" ah_diag $((7 + 2 * $#)) $((1 + $#)) || return 0

	outer_addrs "$fam"
	if [ "$fam" = 4 ]; then
		ah_f='ip proto 51'
	else
		ah_f='ip6 proto 51 or (ip6[6] == 0 and ip6[40] == 51)'
	fi
	e2e_ns_add ns1 ns2
	e2e_veth ns1 veth1 ns2 veth2
	e2e_addr ns1 veth1 "$o1/$oplen"
	e2e_addr ns2 veth2 "$o2/$oplen"
	if [ "$mode" = tunnel ]; then
		inner_addrs "$ifam"
		e2e_addr ns1 lo "$i1/$ihl"
		e2e_addr ns2 lo "$i2/$ihl"
		# the policy takes the inner packet to the outer route
		"$IP" -n ns1 route add "$i2/$ihl" dev veth1 src "$i1" ||
			e2e_setup_fail "route in ns1"
		"$IP" -n ns2 route add "$i1/$ihl" dev veth2 src "$i2" ||
			e2e_setup_fail "route in ns2"
		a1=$i1 a2=$i2 hl=$ihl
	else
		a1=$o1 a2=$o2 hl=$ohl
	fi

	flags=""
	case "$extra" in align4|esn) flags=$extra ;; esac
	# a selector of the other family than the SA's (xfrm_user.c)
	[ "$fam" != "$ifam" ] && flags=af-unspec
	# AH: 1->2 spi 0x1001 key set 1, 2->1 spi 0x2002 key set 2, in both netns
	for n in ns1 ns2; do
		# shellcheck disable=SC2086
		ah_sa "$n" "$o1" "$o2" 0x1001 1 "$mode" "$xf" 1 $flags
		# shellcheck disable=SC2086
		ah_sa "$n" "$o2" "$o1" 0x2002 2 "$mode" "$xf" 2 $flags
		if [ "$extra" = esp ]; then
			e2e_sa "$n" "$o1" "$o2" 0x3003 101 transport gcm128 1
			e2e_sa "$n" "$o2" "$o1" 0x4004 102 transport gcm128 2
		fi
	done
	esp=""
	[ "$extra" = esp ] && esp=esp
	ah_pol ns1 out "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$mode" $esp
	ah_pol ns1 in  "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$mode" $esp
	ah_pol ns2 out "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$mode" $esp
	ah_pol ns2 in  "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$mode" $esp
	if [ "$mode" = transport ] && [ "$fam" = 6 ]; then
		e2e_nd_bypass ns1
		e2e_nd_bypass ns2
	fi
	e2e_setup_check "$name" || return 0

	e2e_stat_snap_all ns1 ns2
	# the wire = what each end transmits
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out

	t_check "$name: ping" e2e_ping ns1 "$a2" 3
	if out=$(e2e_tcp_xfer ns2 "$a2" ns1); then
		t_ok "$name: tcp sha256"
		log "$out"
	else
		t_fail "$name: tcp sha256" "$out"
	fi
	case "$extra" in
	ipopts)
		# Record Route (mutable: zeroed for the ICV, filled in by the
		# sender), Router Alert (immutable), End of Options
		if out=$(ah_tcp_xfer_opts ns2 "$a2" ns1 "ip-options=x070704000000009404000000"); then
			t_ok "$name: tcp with IP options sha256"
			log "$out"
		else
			t_fail "$name: tcp with IP options sha256" "$out"
		fi
		;;
	hbh)
		# IPV6_HOPOPTS (41:54), 16 octets: option 0x1e (skipped by
		# the receiver, may not change: hashed as is), option 0x3e
		# (skipped, may change en route: data zeroed for the ICV)
		if out=$(ah_tcp_xfer_opts ns2 "$a2" ns1 "setsockopt-bin=41:54:x00011e02aabb3e081122334455667788"); then
			t_ok "$name: tcp with Hop-by-Hop option sha256"
			log "$out"
		else
			t_fail "$name: tcp with Hop-by-Hop option sha256" "$out"
		fi
		;;
	esac

	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name"
	srv=""
	for p in $streams; do srv="$srv $a2,$p"; done
	e2e_wire_export "$name" "$srv" "$CAP1" "$CAP2"

	# on the wire
	n_ah1=$(ah_wire_text "$CAP1" "$ah_f")
	n_ah2=$(ah_wire_text "$CAP2" "$ah_f")
	n_mark=$(e2e_marker_count "$CAP1" "$CAP2")
	log "$name: wire: ah=$n_ah1+$n_ah2 marker=$n_mark"
	if [ "$n_ah1" -gt 0 ] && [ "$n_ah2" -gt 0 ]; then
		t_ok "$name: AH on the wire both ways ($n_ah1 + $n_ah2 pkts)"
	else
		t_fail "$name: AH on the wire both ways" "'$ah_f' packets: ns1->ns2 $n_ah1, ns2->ns1 $n_ah2"
	fi
	ah_icv_check "$name" "$xf" "$flags" "$CAP1.txt" "$CAP2.txt"
	if [ "$extra" = esp ]; then
		n_esp=$(cat "$CAP1.txt" "$CAP2.txt" | grep -c 'ESP(spi=')
		if [ "$n_esp" -gt 0 ] && [ "$n_mark" -eq 0 ]; then
			t_ok "$name: ESP inside AH, payload not readable ($n_esp pkts)"
		else
			t_fail "$name: ESP inside AH, payload not readable" "esp-in-ah=$n_esp marker=$n_mark"
		fi
	elif [ "$n_mark" -gt 0 ]; then
		t_ok "$name: payload readable on the wire (AH does not encrypt)"
	else
		t_fail "$name: payload readable on the wire" "payload marker not in the capture"
	fi
	case "$extra" in
	ipopts)
		n_opt=$(e2e_pcap_count 'ip proto 51 and ip[0] & 0xf > 5' "$CAP1" "$CAP2")
		if [ "$n_opt" -gt 0 ]; then t_ok "$name: AH packets with IP options on the wire ($n_opt)"
		else t_fail "$name: AH packets with IP options on the wire" "none captured"; fi
		;;
	hbh)
		n_hbh=$(e2e_pcap_count 'ip6[6] == 0 and ip6[40] == 51' "$CAP1")
		if [ "$n_hbh" -gt 0 ]; then t_ok "$name: AH after a Hop-by-Hop header on the wire ($n_hbh)"
		else t_fail "$name: AH after a Hop-by-Hop header on the wire" "none captured"; fi
		;;
	esac

	# SA counters
	sas="ns1 $o1 $o2 0x1001 ah|ns1 $o2 $o1 0x2002 ah|ns2 $o1 $o2 0x1001 ah|ns2 $o2 $o1 0x2002 ah"
	[ "$extra" = esp ] &&
		sas="$sas|ns1 $o1 $o2 0x3003 esp|ns1 $o2 $o1 0x4004 esp|ns2 $o1 $o2 0x3003 esp|ns2 $o2 $o1 0x4004 esp"
	_ifs=$IFS IFS='|'
	# shellcheck disable=SC2086  # one SA per |-separated field
	set -- $sas
	IFS=$_ifs
	e2e_counters_check "$name" "$@"

	# xfrm_stat: no XfrmIn*Error / XfrmOut*Error
	e2e_stat_check "$name" ns1 ns2

	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" "$fam" ah
	e2e_cleanup_all
}

for fam in 4 6; do
	for mode in transport tunnel; do
		for xf in sha1-96 sha256-128; do
			run_case "v$fam-$mode-$xf" "$fam" "$fam" "$mode" "$xf" ""
		done
	done
done
run_case v4-in-v6-tunnel-sha256-128 6 4 tunnel sha256-128 ""
run_case v6-in-v4-tunnel-sha256-128 4 6 tunnel sha256-128 ""
run_case v4-transport-sha256-128-align4 4 4 transport sha256-128 align4
run_case v6-tunnel-sha256-128-esn 6 6 tunnel sha256-128 esn
run_case v4-transport-ip-options 4 4 transport sha256-128 ipopts
run_case v6-transport-hop-by-hop 6 6 transport sha256-128 hbh
run_case v4-transport-esp-in-ah 4 4 transport sha1-96 esp
run_case v6-transport-esp-in-ah 6 6 transport sha256-128 esp

t_finish
