#!/bin/sh
# e2e-features.sh - ESP features end to end, in the guest.
#
# usage: e2e-features.sh espah|intree [FILTER]
#   FILTER (optional): substring of the case name: esn, tfc, dummy, natt,
#   beet, pmtu, v4, v6, ...
#
# Cases (each builds its own namespaces; two-host cases use
#   ns1 veth1 10.11.0.1/24 fd00:11::1/64 ===== veth2 10.11.0.2/24 fd00:11::2/64 ns2
#   with tunnel/BEET inner addresses 10.99.0.1|2, fd00:99::1|2 on lo):
#
# esn-*      ESN across the 2^32 boundary: "flag esn replay-window 128" with
#            replay-seq/replay-oseq 0xfffffff0 on every SA, 40 pings and a
#            1 MiB TCP transfer; the senders' oseq-hi and the receivers'
#            seq-hi must be 1 afterwards, the wire must show sequence numbers
#            before and after the wrap, no integrity failure, traffic both
#            ways. GCM (rfc4106 with a 12-byte AAD) and CBC+HMAC-SHA256
#            (authencesn).
# tfc-*      TFC padding (tunnel mode): with "tfcpad 1000" every echo ESP
#            packet carries the inner packet padded to 1000 bytes (exact size
#            checked, >= 1000), a TCP transfer still works; after re-adding
#            the SAs without tfcpad the same pings are small again.
# dummy-v4   RFC 4303 dummy packets (next header 59) are dropped on input:
#            with a NULL-encryption/NULL-auth transport SA, ESP packets are
#            crafted by hand and sent from a raw socket: a UDP one (next
#            header 17) must be delivered, the dummy one dropped and counted
#            in xfrm_stat exactly (XfrmInStateProtoError +1, nothing else;
#            espah: rx_dummy 1), no ICMP sent back (the capture holds the 3
#            ESP packets, so it ran), and a UDP one after it delivered.
# natt-v4-*  NAT traversal (RFC 3948): ns1 10.31.1.1 -- nat (nft masquerade)
#            -- ns2 10.31.2.2; "encap espinudp 4500 4500" SAs (ns2 sees ns1 as
#            the NAT's 10.31.2.254), nattsock (UDP_ENCAP_ESPINUDP socket with
#            bypass policies) in ns1 and ns2. TCP sha256, the nat--ns2 link
#            carries UDP 4500 with ESP of both SAs and no raw ESP, no
#            plaintext; SA counters. Tunnel case: then the NAT's mapping is
#            changed (conntrack entry expired, snat to port 5000) and
#            "ip xfrm monitor" in ns2 must report the XFRM_MSG_MAPPING event
#            "Mapping change 10.31.2.254:4500 -> 10.31.2.254:5000", with the
#            packets from the new port still decrypted. "No mapping event"
#            while the mapping is stable counts only if the monitor runs
#            and reported the SAs being added.
# natt-v6    IPv6 UDP encapsulation without a NAT (transport mode): transfer
#            works and every captured UDP packet has a correct, nonzero
#            checksum (tcpdump -vv "udp sum ok").
# beet-*     BEET mode (inner addresses from the SA selector): ping + TCP,
#            ESP on the wire, exact ESP size (no inner IP header sent).
# pmtu-*     hA -- router (far side mtu 1400) -- hB with an ESP tunnel
#            hA<->hB: a 1350-byte ping makes the router send frag-needed /
#            packet-too-big to hA, hA's route to hB then shows mtu 1400, the
#            next large pings reach hB (their replies die at the narrow veth:
#            only the router's side is narrow, so that hB advertises a
#            1500-based MSS), a TCP transfer hA -> hB passes, and every ESP
#            packet hA sends afterwards fits in 1400 bytes.
# Every capture must be complete (e2e_cap_check); the wire captures go to
# the host (scripts/wire-check.py), which authenticates and decrypts each
# frame under its SA and compares each TCP stream with the payload.

here=$(cd "$(dirname "$0")" && pwd)
E2E_TMP=${E2E_TMP:-/tmp/espah-e2e-features}
E2E_PAYLOAD_CHUNKS=${E2E_PAYLOAD_CHUNKS:-2}     # ~1 MiB
. "$here/lib.sh"
e2e_suite_start "$@"
NATTSOCK=$(e2e_helper_bin nattsock)

CAP1=$E2E_TMP/f-ns1.pcap
CAP2=$E2E_TMP/f-ns2.pcap
CAP3=$E2E_TMP/f-third.pcap
MON=$E2E_TMP/xfrm-monitor.txt

want_case() { case "$1" in *"$filter"*) return 0 ;; esac; return 1; }

# sa_w NS SRC DST SPI REQID MODE WORDS: SA with the words in WORDS (split);
# a refusal marks the case setup failed
sa_w() {
	_a1=$1 _a2=$2 _a3=$3 _a4=$4 _a5=$5 _a6=$6 _ws=$7
	set -f
	# shellcheck disable=SC2086
	set -- $_ws
	set +f
	e2e_sa_words "$_a1" "$_a2" "$_a3" "$_a4" "$_a5" "$_a6" "$@" ||
		e2e_setup_fail "xfrm state add in $_a1: $_a2 -> $_a3 spi $_a4 ($_ws): $(echo "$E2E_SA_ERR" | tail -n 1)"
}

pair_diag() {
	e2e_pcap_summary "$CAP1" 12
	e2e_pcap_summary "$CAP2" 12
	e2e_diag_ns ns1 ns2
}

# pair_setup FAMILY MODE: ns1 <-> ns2 (see the header); sets o1 o2 (outer),
# a1 a2 (traffic endpoints), hl (host prefix length), esp_f, plain_f, iphl
pair_setup() {
	if [ "$1" = 4 ]; then
		o1=10.11.0.1 o2=10.11.0.2 plen=24 i1=10.99.0.1 i2=10.99.0.2 hl=32
		esp_f='ip proto 50' plain_f=$E2E_PLAIN_FILTER_4 iphl=20
	else
		o1=fd00:11::1 o2=fd00:11::2 plen=64 i1=fd00:99::1 i2=fd00:99::2 hl=128
		esp_f='ip6 proto 50' plain_f=$E2E_PLAIN_FILTER_6 iphl=40
	fi
	e2e_ns_add ns1 ns2
	e2e_veth ns1 veth1 ns2 veth2
	e2e_addr ns1 veth1 "$o1/$plen"
	e2e_addr ns2 veth2 "$o2/$plen"
	if [ "$2" = transport ]; then
		a1=$o1 a2=$o2
		if [ "$1" = 6 ]; then e2e_nd_bypass ns1; e2e_nd_bypass ns2; fi
	else
		e2e_addr ns1 lo "$i1/$hl"
		e2e_addr ns2 lo "$i2/$hl"
		"$IP" -n ns1 route add "$i2/$hl" via "$o2" src "$i1" || e2e_setup_fail "route in ns1"
		"$IP" -n ns2 route add "$i1/$hl" via "$o1" src "$i2" || e2e_setup_fail "route in ns2"
		a1=$i1 a2=$i2
	fi
}

# pair_policies MODE: out/in policies for a1 <-> a2 over o1 <-> o2 (reqid 1: 1->2, 2: 2->1)
pair_policies() {
	e2e_pol ns1 out "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$1"
	e2e_pol ns1 in  "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$1"
	e2e_pol ns2 out "$a2/$hl" "$a1/$hl" "$o2" "$o1" 2 "$1"
	e2e_pol ns2 in  "$a1/$hl" "$a2/$hl" "$o1" "$o2" 1 "$1"
}

# ping_n NS DST COUNT [SIZE]: all replies must come back
ping_n() {
	_o=$(ns "$1" ping -c "$3" ${4:+-s "$4"} -i 0.2 -w $(($3 + 15)) "$2" 2>&1)
	_r=$(echo "$_o" | sed -n 's/.* \([0-9][0-9]*\) packets received.*/\1/p' | head -n 1)
	if [ "${_r:-0}" -eq "$3" ]; then echo "$_r/$3 replies"
	else echo "$_o" | tail -n 2 | tr '\n' ' '; echo; return 1; fi
}

# tcp_check NAME NS_SRV SRV_ADDR NS_CLI
tcp_check() {
	if _out=$(e2e_tcp_xfer "$2" "$3" "$4"); then
		t_ok "$1: tcp 1MiB sha256"
		log "$_out"
	else
		t_fail "$1: tcp 1MiB sha256" "$_out"
	fi
}

# esp_sizes PCAP... : "COUNTxLEN ..." of the ESP packets with sequence numbers 1-3
esp_sizes() {
	for _p in "$@"; do e2e_pcap_esp "$_p"; done |
		awk '$2 ~ /^0x[123]$/ { print $3 }' | sort -n | uniq -c |
		awk '{printf "%s%sx%s", sep, $1, $2; sep=" "}'
}

# ---------------------------------------------------------------- ESN

# esn_field NS SRC DST SPI seq-hi|seq|oseq-hi|oseq
esn_field() {
	"$IP" -n "$1" -s xfrm state get src "$2" dst "$3" proto esp spi "$4" 2>/dev/null |
	awk -v f="$5" '/seq-hi .* oseq-hi/ { gsub(/,/, ""); for (i = 1; i < NF; i++) if ($i == f) print $(i+1) }'
}

run_esn() {
	fam=$1 mode=$2 xf=$3
	name="esn-v$fam-$mode-$xf"
	want_case "$name" || return 0
	e2e_case_begin "$name" pair_diag 14 3 || return 0
	pair_setup "$fam" "$mode"
	esn="flag esn replay-seq 0xfffffff0 replay-oseq 0xfffffff0"
	for n in ns1 ns2; do
		sa_w "$n" "$o1" "$o2" 0x1001 1 "$mode" "$(e2e_algo "$xf" 1) $esn"
		sa_w "$n" "$o2" "$o1" 0x2002 2 "$mode" "$(e2e_algo "$xf" 2) $esn"
	done
	pair_policies "$mode"
	e2e_setup_check "$name" || return 0

	e2e_stat_snap_all ns1 ns2
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out
	log "$name: 40 pings $a1 -> $a2 across the 2^32 boundary"
	t_check "$name: ping x40 across the wrap" ping_n ns1 "$a2" 40
	log "$name: TCP transfer $a1 -> $a2"
	tcp_check "$name" ns2 "$a2" ns1
	log "$name: TCP transfer $a2 -> $a1"
	tcp_check "$name (reverse)" ns1 "$a1" ns2
	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name"
	e2e_wire_export "$name" "$a2,$E2E_PORT $a1,$E2E_PORT" "$CAP1" "$CAP2"

	for sa in "ns1 $o1 $o2 0x1001 oseq-hi" "ns2 $o1 $o2 0x1001 seq-hi" \
		  "ns2 $o2 $o1 0x2002 oseq-hi" "ns1 $o2 $o1 0x2002 seq-hi"; do
		# shellcheck disable=SC2086
		set -- $sa
		v=$(esn_field "$1" "$2" "$3" "$4" "$5")
		lo=$(esn_field "$1" "$2" "$3" "$4" "${5%-hi}")
		if [ "$5" = oseq-hi ]; then role=sender; else role=receiver; fi
		if [ "$v" = 0x1 ]; then t_ok "$name: $role $1 spi $4: $5 0x1 (low $lo)"
		else t_fail "$name: $role $1 spi $4: $5 is 0x1" "$5 '${v:-?}' (low ${lo:-?}): the high sequence half did not move"; fi
	done

	# the wire: sequence numbers just below the wrap and small ones after it
	for spi in 0x00001001 0x00002002; do
		hi=$( { e2e_pcap_esp "$CAP1"; e2e_pcap_esp "$CAP2"; } | awk -v s="$spi" '$1 == s && $2 ~ /^0xfffffff/' | wc -l)
		lo=$( { e2e_pcap_esp "$CAP1"; e2e_pcap_esp "$CAP2"; } | awk -v s="$spi" '$1 == s && length($2) <= 6' | wc -l)
		if [ "$hi" -gt 0 ] && [ "$lo" -gt 0 ]; then t_ok "$name: spi $spi on the wire before ($hi) and after ($lo) the wrap"
		else t_fail "$name: spi $spi on the wire before and after the wrap" "$hi packets with seq 0xfffffffX, $lo with seq < 0x10000"; fi
	done
	n_plain=$(e2e_pcap_count "$plain_f" "$CAP1" "$CAP2")
	n_mark=$(e2e_marker_count "$CAP1" "$CAP2")
	if [ "$n_plain" -eq 0 ] && [ "$n_mark" -eq 0 ]; then t_ok "$name: no plaintext on the wire"
	else t_fail "$name: no plaintext on the wire" "$n_plain plaintext packets, marker seen $n_mark times"; fi
	e2e_counters_check "$name" "ns1 $o1 $o2 0x1001" "ns1 $o2 $o1 0x2002" "ns2 $o1 $o2 0x1001" "ns2 $o2 $o1 0x2002"
	e2e_stat_check "$name" ns1 ns2
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" "$fam"
	e2e_cleanup_all
}

# ---------------------------------------------------------------- TFC padding

run_tfc() {
	fam=$1
	name="tfc-v$fam-tunnel"
	want_case "$name" || return 0
	e2e_case_begin "$name" pair_diag 11 3 || return 0
	pair_setup "$fam" tunnel
	for n in ns1 ns2; do
		sa_w "$n" "$o1" "$o2" 0x1001 1 tunnel "$(e2e_algo gcm128 1) tfcpad 1000"
		sa_w "$n" "$o2" "$o1" 0x2002 2 tunnel "$(e2e_algo gcm128 2) tfcpad 1000"
	done
	pair_policies tunnel
	e2e_setup_check "$name" || return 0

	# GCM: ESP header 8 + IV 8 + payload padded to 4 with the 2 trailer bytes + ICV 16
	inner=$((iphl + 8 + 56))
	want_tfc=$((8 + 8 + (1000 + 2 + 3) / 4 * 4 + 16))
	want_plain=$((8 + 8 + (inner + 2 + 3) / 4 * 4 + 16))

	e2e_stat_snap_all ns1 ns2
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out
	t_check "$name: ping with tfcpad 1000" ping_n ns1 "$a2" 3 56
	tcp_check "$name" ns2 "$a2" ns1
	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name"
	e2e_wire_export "$name" "$a2,$E2E_PORT" "$CAP1" "$CAP2"
	sizes=$(esp_sizes "$CAP1" "$CAP2")
	log "$name: echo ESP sizes with tfcpad 1000 (count x bytes): $sizes; want 6x$want_tfc"
	if [ "$sizes" = "6x$want_tfc" ]; then
		t_ok "$name: $inner-byte inner packets padded: every echo ESP packet $want_tfc bytes (>= 1000)"
	else
		t_fail "$name: echo ESP packets padded to tfcpad 1000" "sizes (count x bytes) '${sizes:-none}', want 6x$want_tfc"
	fi
	small=$( { e2e_pcap_esp "$CAP1"; e2e_pcap_esp "$CAP2"; } | awk '$3 < 1000' | wc -l)
	if [ "$small" -eq 0 ]; then t_ok "$name: no ESP packet shorter than 1000 bytes with tfcpad (TCP ACKs padded too)"
	else t_fail "$name: no ESP packet shorter than 1000 bytes with tfcpad" "$small shorter ESP packets"; fi
	n_mark=$(e2e_marker_count "$CAP1" "$CAP2")
	if [ "$n_mark" -eq 0 ]; then t_ok "$name: payload marker not on the wire"
	else t_fail "$name: payload marker not on the wire" "seen $n_mark times"; fi
	e2e_counters_check "$name" "ns1 $o1 $o2 0x1001" "ns1 $o2 $o1 0x2002" "ns2 $o1 $o2 0x1001" "ns2 $o2 $o1 0x2002"
	e2e_stat_check "$name" ns1 ns2

	# the same SAs without tfcpad: small packets
	for n in ns1 ns2; do
		"$IP" -n "$n" xfrm state flush
		sa_w "$n" "$o1" "$o2" 0x1001 1 tunnel "$(e2e_algo gcm128 1)"
		sa_w "$n" "$o2" "$o1" 0x2002 2 tunnel "$(e2e_algo gcm128 2)"
	done
	e2e_setup_check "$name: without tfcpad" || return 0
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out
	t_check "$name: ping without tfcpad" ping_n ns1 "$a2" 3 56
	sleep 1
	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name: without tfcpad"
	e2e_wire_export "$name-without-tfcpad" - "$CAP1" "$CAP2"
	sizes=$(esp_sizes "$CAP1" "$CAP2")
	log "$name: echo ESP sizes without tfcpad: $sizes; want $want_plain"
	big=$( { e2e_pcap_esp "$CAP1"; e2e_pcap_esp "$CAP2"; } | awk -v w="$want_plain" '$3 != w' | wc -l)
	n=$( { e2e_pcap_esp "$CAP1"; e2e_pcap_esp "$CAP2"; } | wc -l)
	if [ "$n" -ge 2 ] && [ "$big" -eq 0 ]; then t_ok "$name: without tfcpad the echo ESP packets are $want_plain bytes"
	else t_fail "$name: without tfcpad the echo ESP packets are small" "sizes (count x bytes) '${sizes:-none}', want all $want_plain"; fi
	e2e_cleanup_all
}

# ---------------------------------------------------------------- dummy packets

# hex2bin HEX: write the bytes
hex2bin() {
	# shellcheck disable=SC2059
	printf "$(echo "$1" | sed 's/../\\x&/g')"
}

# esp_null_pkt SPI SEQ NEXTHDR PAYLOADHEX: an ESP packet with NULL encryption
# and no ICV (ecb(cipher_null) + digest_null), padded to 4 (RFC 4303 2.4)
esp_null_pkt() {
	_pl=$4
	_n=$(( ${#_pl} / 2 ))
	_pad=$(( (4 - (_n + 2) % 4) % 4 ))
	_p=""
	_i=1
	while [ "$_i" -le "$_pad" ]; do _p="$_p$(printf %02x "$_i")"; _i=$((_i + 1)); done
	printf '%08x%08x%s%s%02x%02x' "$1" "$2" "$_pl" "$_p" "$_pad" "$3"
}

asc2hex() { printf %s "$1" | od -An -tx1 -v | tr -d ' \n'; }

dummy_diag() {
	e2e_pcap_summary "$CAP2" 10
	echo "== received: $(tr '\n' '|' <"$E2E_TMP/dummy.rx" 2>/dev/null)"
	echo "== socat: $(cat "$E2E_TMP/dummy.rx.err" 2>/dev/null)"
	e2e_diag_ns ns2
}

# dummy_stat_exact FROM TO WANT: the xfrm_stat counters that rose between
# the snapshots FROM and TO are exactly WANT ("Name +N ...", "" for none)
dummy_stat_exact() {
	_d=$(e2e_stat_diff "$1" "$2" | awk '{ printf "%s%s %s", sep, $1, $5; sep = " " }' | tr -d '()')
	[ "$_d" = "$3" ] && return 0
	echo "rose: '${_d:-nothing}', want '${3:-nothing}'"
	return 1
}

run_dummy() {
	name=dummy-v4
	want_case "$name" || return 0
	e2e_case_begin "$name" dummy_diag 8 || return 0
	e2e_ns_add ns1 ns2
	e2e_veth ns1 veth1 ns2 veth2
	e2e_addr ns1 veth1 10.11.0.1/24
	e2e_addr ns2 veth2 10.11.0.2/24
	# ns2 only: ns1 sends hand-made ESP from a raw socket (no xfrm there)
	e2e_sa_words ns2 10.11.0.1 10.11.0.2 0x3003 3 transport \
		enc "ecb(cipher_null)" "" auth digest_null "" ||
		e2e_setup_fail "NULL/NULL SA refused: $(echo "$E2E_SA_ERR" | tail -n 1)"
	e2e_pol ns2 in 10.11.0.1/32 10.11.0.2/32 10.11.0.1 10.11.0.2 3 transport
	e2e_setup_check "$name" || return 0

	rx=$E2E_TMP/dummy.rx
	rm -f "$rx"
	"$IP" netns exec ns2 socat -u UDP4-RECV:9999,bind=10.11.0.2 "OPEN:$rx,creat,append" 2>"$rx.err" &
	e2e_bg_add $!
	sleep 0.5
	# UDP 1234 -> 9999, zero checksum (allowed in IPv4), then the text
	udp() {
		_d=$(asc2hex "$1")
		printf '04d2270f%04x0000%s' $(( ${#_d} / 2 + 8 )) "$_d"
	}
	send() { hex2bin "$1" >"$E2E_TMP/dummy.pkt"; ns ns1 socat -u -b 4096 "OPEN:$E2E_TMP/dummy.pkt" IP4-SENDTO:10.11.0.2:50; }

	e2e_stat_snap ns2 "$E2E_TMP/stat-ns2.before"
	# both ways: the 3 ESP packets in prove the capture ran
	e2e_cap_start ns2 veth2 "$CAP2" inout
	send "$(esp_null_pkt 0x3003 1 17 "$(udp "espah-control-one
")")"
	sleep 0.5
	e2e_stat_snap ns2 "$E2E_TMP/stat-ns2.mid"
	send "$(esp_null_pkt 0x3003 2 59 "$(asc2hex "espah-dummy-packet-payload-ignore-me
")")"
	sleep 0.5
	e2e_stat_snap ns2 "$E2E_TMP/stat-ns2.dummy"
	send "$(esp_null_pkt 0x3003 3 17 "$(udp "espah-control-two
")")"
	sleep 1
	e2e_stat_snap ns2 "$E2E_TMP/stat-ns2.after"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name"

	got=$(tr '\n' ' ' <"$rx" 2>/dev/null)
	log "$name: received: '$got'"
	case "$got" in
	"espah-control-one espah-control-two ") t_ok "$name: hand-made ESP (next header 17) before and after the dummy delivered" ;;
	*) t_fail "$name: hand-made ESP (next header 17) before and after the dummy delivered" "udp receiver got '$got'" ;;
	esac
	if grep -q dummy "$rx" 2>/dev/null; then t_fail "$name: dummy payload not delivered" "it reached the UDP socket"
	else t_ok "$name: dummy payload not delivered"; fi
	# RFC 4303 2.6: dropped; both stacks return -EINVAL from input(), which
	# the xfrm core counts as XfrmInStateProtoError, and nothing else
	if out=$(dummy_stat_exact "$E2E_TMP/stat-ns2.before" "$E2E_TMP/stat-ns2.mid" "") &&
	   out=$(dummy_stat_exact "$E2E_TMP/stat-ns2.mid" "$E2E_TMP/stat-ns2.dummy" "XfrmInStateProtoError +1") &&
	   out=$(dummy_stat_exact "$E2E_TMP/stat-ns2.dummy" "$E2E_TMP/stat-ns2.after" ""); then
		t_ok "$name: xfrm_stat: the dummy counted once in XfrmInStateProtoError, the two UDP packets nowhere"
	else
		t_fail "$name: xfrm_stat: the dummy counted once in XfrmInStateProtoError, the two UDP packets nowhere" "$out"
	fi
	if [ "$E2E_IMPL" = espah ]; then
		dr=$(e2e_espah_drops ns2)
		if [ "$dr" = "rx_dummy=1 " ] && [ "$(e2e_espah_counter ns2 0x00003003 rx_dummy)" = 1 ]; then
			t_ok "$name: espah counted rx_dummy 1 on SA 0x3003, nothing else"
		else
			t_fail "$name: espah counted rx_dummy 1 on SA 0x3003, nothing else" "espah counters: '${dr:-none}'"
		fi
	else
		t_skip "$name: espah counted rx_dummy 1 on SA 0x3003" "espah's own counters ($E2E_IMPL under test)"
	fi
	n_esp=$(e2e_pcap_count 'ip proto 50 and src host 10.11.0.1' "$CAP2")
	n_icmp=$(e2e_pcap_count 'icmp and src host 10.11.0.2' "$CAP2")
	if ! e2e_cap_complete "$CAP2" || [ "$n_esp" != 3 ]; then
		t_fail "$name: no ICMP sent back for the dummy" "the capture is incomplete or did not see the 3 ESP packets sent ($n_esp)"
	elif [ "$n_icmp" -eq 0 ]; then
		t_ok "$name: no ICMP sent back for the dummy (the capture saw the 3 ESP packets)"
	else
		t_fail "$name: no ICMP sent back for the dummy" "$n_icmp ICMP packets from ns2: $(tcpdump -r "$CAP2" -n icmp 2>/dev/null | head -n 2 | tr '\n' ' ')"
	fi
	f=$(e2e_sa_field ns2 10.11.0.1 10.11.0.2 0x3003 failed)
	p=$(e2e_sa_field ns2 10.11.0.1 10.11.0.2 0x3003 packets)
	r=$(e2e_sa_field ns2 10.11.0.1 10.11.0.2 0x3003 replay)
	log "$name: SA 0x3003 packets=$p failed=$f replay=$r"
	# the core counts a packet on the SA only once the type accepted it
	if [ "$p" = 2 ] && [ "$f" = 0 ] && [ "$r" = 0 ]; then
		t_ok "$name: SA 0x3003: packets 2 (the UDP ones), integrity failures 0, replay 0"
	else
		t_fail "$name: SA 0x3003: packets 2 (the UDP ones), integrity failures 0, replay 0" "packets=${p:-?} failed=${f:-?} replay=${r:-?}"
	fi
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" 4
	e2e_cleanup_all
}

# ---------------------------------------------------------------- NAT-T

natt_diag() {
	e2e_pcap_summary "$CAP3" 12
	echo "== xfrm monitor (ns2):"; head -n 20 "$MON" 2>/dev/null
	echo "== nattsock: $(cat "$E2E_TMP"/nattsock-*.out 2>/dev/null | tr '\n' ' ')"
	echo "== nft (nat):"; ns nat nft list ruleset 2>&1 | head -n 20
	echo "== udp sockets (ns1, ns2):"; ns ns1 ss -uanp 2>&1 | head -n 5; ns ns2 ss -uanp 2>&1 | head -n 5
	e2e_diag_ns ns1 ns2
}

# monitor_start NS: "ip xfrm monitor" (all groups, incl. XFRMNLGRP_MAPPING) into $MON
monitor_start() {
	rm -f "$MON"
	"$IP" -n "$1" xfrm monitor >"$MON" 2>&1 &
	MON_PID=$!
	e2e_bg_add "$MON_PID"
	sleep 0.3
}

# monitor_ran SPI: the monitor still runs and reported the SA SPI being
# added (so it would have seen a mapping event too)
monitor_ran() {
	kill -0 "$MON_PID" 2>/dev/null || { echo "ip xfrm monitor is not running: $(tail -n 2 "$MON" 2>/dev/null | tr '\n' ' ')"; return 1; }
	grep -q "spi $1" "$MON" 2>/dev/null || { echo "ip xfrm monitor did not report adding SA $1: '$(head -n 3 "$MON" 2>/dev/null | tr '\n' ' ')'"; return 1; }
}

run_natt4() {
	mode=$1
	name="natt-v4-$mode"
	want_case "$name" || return 0
	# 10 checks, 5 more for the mapping change (tunnel); on the host 2, 3
	if [ "$mode" = tunnel ]; then nchk=15 nhost=3; else nchk=10 nhost=2; fi
	e2e_case_begin "$name" natt_diag "$nchk" "$nhost" || return 0
	if [ -z "$NATTSOCK" ]; then e2e_case_skip "$name" "no nattsock helper in the guest (scripts/helpers/nattsock.c)"; return 0; fi
	pub=10.31.2.254 h1=10.31.1.1 h2=10.31.2.2
	e2e_ns_add ns1 nat ns2
	e2e_veth ns1 eth0 nat priv0
	e2e_veth nat pub0 ns2 eth0
	e2e_addr ns1 eth0 10.31.1.1/24
	e2e_addr nat priv0 10.31.1.254/24
	e2e_addr nat pub0 10.31.2.254/24
	e2e_addr ns2 eth0 10.31.2.2/24
	"$IP" -n ns1 route add default via 10.31.1.254 || e2e_setup_fail "route in ns1"
	ns nat sysctl -q -w net.ipv4.ip_forward=1 >/dev/null
	printf 'table ip espah_nat {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname "pub0" masquerade\n\t}\n}\n' >"$E2E_TMP/nat.nft"
	ns nat nft -f "$E2E_TMP/nat.nft" || e2e_setup_fail "nft masquerade in nat"
	if [ "$mode" = tunnel ]; then
		e2e_addr ns1 lo 10.99.1.1/32
		e2e_addr ns2 lo 10.99.2.2/32
		"$IP" -n ns1 route add 10.99.2.2/32 via 10.31.1.254 src 10.99.1.1 || e2e_setup_fail "inner route in ns1"
		"$IP" -n ns2 route add 10.99.1.1/32 via "$pub" src 10.99.2.2 || e2e_setup_fail "inner route in ns2"
		a1=10.99.1.1 a2=10.99.2.2
		s1=10.99.1.1 d1=10.99.2.2 s2=10.99.2.2 d2=10.99.1.1
	else
		a1=$h1 a2=$h2
		# ns2 sees ns1 as the NAT's public address
		s1=$h1 d1=$h2 s2=$h2 d2=$pub
	fi
	e2e_nattsock_start ns1 4
	e2e_nattsock_start ns2 4
	monitor_start ns2
	encap="encap espinudp 4500 4500 0.0.0.0"
	sa_w ns1 "$h1" "$h2" 0x1001 1 "$mode" "$(e2e_algo gcm128 1) $encap"
	sa_w ns1 "$h2" "$h1" 0x2002 2 "$mode" "$(e2e_algo gcm128 2) $encap"
	sa_w ns2 "$pub" "$h2" 0x1001 1 "$mode" "$(e2e_algo gcm128 1) $encap"
	sa_w ns2 "$h2" "$pub" 0x2002 2 "$mode" "$(e2e_algo gcm128 2) $encap"
	e2e_pol ns1 out "$s1/32" "$d1/32" "$h1" "$h2" 1 "$mode"
	e2e_pol ns1 in "$d1/32" "$s1/32" "$h2" "$h1" 2 "$mode"
	e2e_pol ns2 out "$s2/32" "$d2/32" "$h2" "$pub" 2 "$mode"
	e2e_pol ns2 in "$d2/32" "$s2/32" "$pub" "$h2" 1 "$mode"
	e2e_setup_check "$name" || return 0

	e2e_stat_snap_all ns1 ns2
	e2e_cap_start nat pub0 "$CAP3" inout
	t_check "$name: ping $a1 -> $a2 through the NAT" ping_n ns1 "$a2" 3
	tcp_check "$name" ns2 "$a2" ns1
	e2e_cap_stop nat pub0 "$CAP3"
	e2e_cap_check "$name"
	e2e_wire_export "$name" "$a2,$E2E_PORT" "$CAP3"

	n_udp_in=$(e2e_pcap_count "udp and src host $pub and dst host $h2 and src port 4500 and dst port 4500" "$CAP3")
	n_udp_out=$(e2e_pcap_count "udp and src host $h2 and dst host $pub and src port 4500 and dst port 4500" "$CAP3")
	n_esp=$(e2e_pcap_count "ip proto 50" "$CAP3")
	spi1=$(e2e_pcap_esp "$CAP3" | grep -c '^0x00001001 ')
	spi2=$(e2e_pcap_esp "$CAP3" | grep -c '^0x00002002 ')
	n_plain=$(e2e_pcap_count "$E2E_PLAIN_FILTER_4" "$CAP3")
	n_mark=$(e2e_marker_count "$CAP3")
	log "$name: nat--ns2 wire: udp4500 in=$n_udp_in out=$n_udp_out esp-in-udp spi1001=$spi1 spi2002=$spi2 raw-esp=$n_esp plain=$n_plain marker=$n_mark"
	if [ "$n_udp_in" -gt 0 ] && [ "$n_udp_out" -gt 0 ] && [ "$spi1" -gt 0 ] && [ "$spi2" -gt 0 ]; then
		t_ok "$name: nat--ns2 carries ESP in UDP 4500 both ways ($spi1 + $spi2 pkts)"
	else
		t_fail "$name: nat--ns2 carries ESP in UDP 4500 both ways" "udp 4500 nat->ns2 $n_udp_in, ns2->nat $n_udp_out; ESP spi 0x1001 $spi1, 0x2002 $spi2"
	fi
	if [ "$n_esp" -eq 0 ]; then t_ok "$name: no raw ESP (proto 50) behind the NAT"
	else t_fail "$name: no raw ESP (proto 50) behind the NAT" "$n_esp packets"; fi
	if [ "$n_plain" -eq 0 ] && [ "$n_mark" -eq 0 ]; then t_ok "$name: no plaintext behind the NAT"
	else t_fail "$name: no plaintext behind the NAT" "$n_plain tcp/icmp packets, marker seen $n_mark times"; fi
	e2e_counters_check "$name" "ns1 $h1 $h2 0x1001" "ns1 $h2 $h1 0x2002" "ns2 $pub $h2 0x1001" "ns2 $h2 $pub 0x2002"
	e2e_stat_check "$name" ns1 ns2
	if ! why=$(monitor_ran 0x00001001); then t_fail "$name: no mapping event while the NAT mapping is stable" "$why"
	elif grep -q "Mapping change" "$MON"; then t_fail "$name: no mapping event while the NAT mapping is stable" "$(grep -A1 'Mapping change' "$MON" | head -n 2 | tr '\n' ' ')"
	else t_ok "$name: no mapping event while the NAT mapping is stable (the monitor saw the SAs added)"; fi
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" 4

	if [ "$mode" = tunnel ]; then natt_remap; fi
	e2e_cleanup_all
}

# the NAT moves ns1's flow to source port 5000: ns2 must report the new mapping
natt_remap() {
	# let the NAT forget the old mapping quickly: short UDP timeouts, refreshed
	# by one more packet, then a new rule for new flows and a quiet period
	if ! ns nat sysctl -q -w net.netfilter.nf_conntrack_udp_timeout=1 \
		net.netfilter.nf_conntrack_udp_timeout_stream=1 >/dev/null; then
		e2e_case_skip "$name: NAT mapping change reported" "cannot shorten conntrack UDP timeouts in the nat netns"
		return
	fi
	ns ns1 ping -c 1 -w 3 "$a2" >/dev/null 2>&1
	ns nat nft flush chain ip espah_nat post
	ns nat nft add rule ip espah_nat post oifname pub0 meta l4proto udp snat to "$pub:5000" ||
		{ t_fail "$name: NAT mapping change" "nft snat rule refused"; return; }
	sleep 4
	p0=$(e2e_sa_field ns2 "$pub" "$h2" 0x1001 packets)
	e2e_cap_start nat pub0 "$CAP3" inout
	# the replies go to the old port and are lost: only ns1 -> ns2 matters
	ns ns1 ping -c 2 -w 4 "$a2" >/dev/null 2>&1
	sleep 1
	e2e_cap_stop nat pub0 "$CAP3"
	e2e_cap_check "$name: after the remap"
	# ns2's answers go to the old port: the NAT sends "port unreachable"
	E2E_WIRE_EXTRA="allow icmp-unreachable-natt"
	e2e_wire_export "$name-remap" - "$CAP3"
	E2E_WIRE_EXTRA=""
	p1=$(e2e_sa_field ns2 "$pub" "$h2" 0x1001 packets)
	n5000=$(e2e_pcap_count "udp and src host $pub and src port 5000 and dst port 4500" "$CAP3")
	log "$name: after the remap: udp from $pub:5000 = $n5000, ns2 SA 0x1001 packets $p0 -> $p1; monitor: $(tr '\n' ' ' <"$MON")"
	if [ "$n5000" -eq 0 ]; then
		t_fail "$name: the NAT moved the flow to port 5000" "no such packets captured"
		return
	fi
	t_ok "$name: the NAT moved the flow to port 5000 ($n5000 packets)"
	if [ "${p1:-0}" -gt "${p0:-0}" ]; then t_ok "$name: ESP in UDP from the new port 5000 decrypted ($p0 -> $p1 packets)"
	else t_fail "$name: ESP in UDP from the new port 5000 decrypted" "ns2 SA 0x1001 packets $p0 -> $p1"; fi
	if grep -q "Mapping change $pub:4500 -> $pub:5000" "$MON"; then
		t_ok "$name: XFRM_MSG_MAPPING: $(grep -m1 'Mapping change' "$MON")"
	else
		t_fail "$name: XFRM_MSG_MAPPING event for the new port" "monitor: '$(tr '\n' ' ' <"$MON")', want 'Mapping change $pub:4500 -> $pub:5000'"
	fi
	sa=$("$IP" -n ns2 xfrm state get src "$pub" dst "$h2" proto esp spi 0x1001 2>/dev/null | grep -o 'encap type espinudp sport [0-9]* dport [0-9]*')
	if [ "$sa" = "encap type espinudp sport 4500 dport 4500" ]; then t_ok "$name: the SA itself is left to the key manager (still sport 4500)"
	else t_fail "$name: the SA itself is left to the key manager" "ns2 SA 0x1001 now '$sa'"; fi
}

natt6_diag() {
	e2e_pcap_summary "$CAP1" 8
	e2e_pcap_summary "$CAP2" 8
	tcpdump -r "$CAP1" -n -vv 'udp port 4500' 2>/dev/null | head -n 6
	e2e_diag_ns ns1 ns2
}

run_natt6() {
	name="natt-v6-transport"
	want_case "$name" || return 0
	e2e_case_begin "$name" natt6_diag 9 2 || return 0
	if [ -z "$NATTSOCK" ]; then e2e_case_skip "$name" "no nattsock helper in the guest (scripts/helpers/nattsock.c)"; return 0; fi
	pair_setup 6 transport
	e2e_nattsock_start ns1 6
	e2e_nattsock_start ns2 6
	encap="encap espinudp 4500 4500 ::"
	for n in ns1 ns2; do
		sa_w "$n" "$o1" "$o2" 0x1001 1 transport "$(e2e_algo cbc-sha256 1) $encap"
		sa_w "$n" "$o2" "$o1" 0x2002 2 transport "$(e2e_algo cbc-sha256 2) $encap"
	done
	pair_policies transport
	e2e_setup_check "$name" || return 0

	e2e_stat_snap_all ns1 ns2
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out
	t_check "$name: ping" ping_n ns1 "$a2" 3
	tcp_check "$name" ns2 "$a2" ns1
	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name"
	e2e_wire_export "$name" "$a2,$E2E_PORT" "$CAP1" "$CAP2"

	u1=$(e2e_pcap_count 'udp and src port 4500 and dst port 4500' "$CAP1")
	u2=$(e2e_pcap_count 'udp and src port 4500 and dst port 4500' "$CAP2")
	n_esp=$(e2e_pcap_count 'ip6 proto 50' "$CAP1" "$CAP2")
	n_plain=$(e2e_pcap_count "$E2E_PLAIN_FILTER_6" "$CAP1" "$CAP2")
	n_mark=$(e2e_marker_count "$CAP1" "$CAP2")
	if [ "$u1" -gt 0 ] && [ "$u2" -gt 0 ] && [ "$n_esp" -eq 0 ]; then t_ok "$name: ESP in UDP 4500 both ways ($u1 + $u2), no raw ESP"
	else t_fail "$name: ESP in UDP 4500 both ways, no raw ESP" "udp 4500: ns1->ns2 $u1, ns2->ns1 $u2; raw ESP $n_esp"; fi
	if [ "$n_plain" -eq 0 ] && [ "$n_mark" -eq 0 ]; then t_ok "$name: no plaintext on the wire"
	else t_fail "$name: no plaintext on the wire" "$n_plain tcp/icmp packets, marker seen $n_mark times"; fi
	for c in "$CAP1" "$CAP2"; do
		tcpdump -r "$c" -n -vv 'udp port 4500' 2>/dev/null
	done >"$E2E_TMP/natt6.vv"
	ok=$(grep -c 'udp sum ok' "$E2E_TMP/natt6.vv")
	bad=$(grep -c -e 'bad udp cksum' -e 'no cksum' "$E2E_TMP/natt6.vv")
	log "$name: UDP checksums: $ok ok, $bad bad/zero of $((u1 + u2))"
	if [ "$ok" -eq $((u1 + u2)) ] && [ "$bad" -eq 0 ] && [ "$ok" -gt 0 ]; then
		t_ok "$name: every ESP-in-UDP packet has a correct nonzero checksum ($ok)"
	else
		t_fail "$name: every ESP-in-UDP packet has a correct nonzero checksum" "$ok 'udp sum ok', $bad bad or zero, of $((u1 + u2)) packets: $(grep -m1 -e 'bad udp cksum' -e 'no cksum' "$E2E_TMP/natt6.vv")"
	fi
	e2e_counters_check "$name" "ns1 $o1 $o2 0x1001" "ns1 $o2 $o1 0x2002" "ns2 $o1 $o2 0x1001" "ns2 $o2 $o1 0x2002"
	e2e_stat_check "$name" ns1 ns2
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" 6
	e2e_cleanup_all
}

# ---------------------------------------------------------------- BEET

run_beet() {
	fam=$1 xf=$2
	name="beet-v$fam-$xf"
	want_case "$name" || return 0
	e2e_case_begin "$name" pair_diag 9 2 || return 0
	pair_setup "$fam" tunnel      # inner addresses on lo, routed via the peer
	for n in ns1 ns2; do
		sa_w "$n" "$o1" "$o2" 0x1001 1 beet "$(e2e_algo "$xf" 1) sel src $a1/$hl dst $a2/$hl"
		sa_w "$n" "$o2" "$o1" 0x2002 2 beet "$(e2e_algo "$xf" 2) sel src $a2/$hl dst $a1/$hl"
	done
	pair_policies beet
	e2e_setup_check "$name" || return 0

	e2e_stat_snap_all ns1 ns2
	e2e_cap_start ns1 veth1 "$CAP1" out
	e2e_cap_start ns2 veth2 "$CAP2" out
	t_check "$name: ping $a1 -> $a2" ping_n ns1 "$a2" 3 100
	tcp_check "$name" ns2 "$a2" ns1
	e2e_cap_stop ns1 veth1 "$CAP1"
	e2e_cap_stop ns2 veth2 "$CAP2"
	e2e_cap_check "$name"
	e2e_wire_export "$name" "$a2,$E2E_PORT" "$CAP1" "$CAP2"

	n_esp1=$(e2e_pcap_count "$esp_f" "$CAP1")
	n_esp2=$(e2e_pcap_count "$esp_f" "$CAP2")
	n_plain=$(e2e_pcap_count "$plain_f" "$CAP1" "$CAP2")
	n_mark=$(e2e_marker_count "$CAP1" "$CAP2")
	if [ "$n_esp1" -gt 0 ] && [ "$n_esp2" -gt 0 ]; then t_ok "$name: ESP on the wire both ways ($n_esp1 + $n_esp2)"
	else t_fail "$name: ESP on the wire both ways" "ns1->ns2 $n_esp1, ns2->ns1 $n_esp2"; fi
	if [ "$n_plain" -eq 0 ] && [ "$n_mark" -eq 0 ]; then t_ok "$name: no plaintext on the wire"
	else t_fail "$name: no plaintext on the wire" "$n_plain tcp/icmp packets, marker seen $n_mark times"; fi
	# BEET sends no inner IP header: ESP carries the 108-byte ICMP message only
	if [ "$xf" = gcm128 ]; then want=$((8 + 8 + 112 + 16)); else want=$((8 + 16 + 112 + 16)); fi
	sizes=$(esp_sizes "$CAP1" "$CAP2")
	if [ "$sizes" = "6x$want" ]; then t_ok "$name: echo ESP packets $want bytes (no inner IP header on the wire)"
	else t_fail "$name: echo ESP packets carry no inner IP header" "sizes (count x bytes) '${sizes:-none}', want 6x$want"; fi
	e2e_counters_check "$name" "ns1 $o1 $o2 0x1001" "ns1 $o2 $o1 0x2002" "ns2 $o1 $o2 0x1001" "ns2 $o2 $o1 0x2002"
	e2e_stat_check "$name" ns1 ns2
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" "$fam"
	e2e_cleanup_all
}

# ---------------------------------------------------------------- PMTU

pmtu_diag() {
	e2e_pcap_summary "$CAP1" 12
	e2e_pcap_summary "$CAP2" 8
	for _n in hA rt hB; do
		echo "-- routes $_n"; "$IP" -n "$_n" route show 2>&1; "$IP" -n "$_n" -6 route show 2>&1 | grep -v '^fe80\|^multicast\|^ff00'
	done
	echo "-- hA route get $pB: $("$IP" -n hA route get "$pB" 2>&1 | tr '\n' ' ')"
	ns hA sh -c 'cat /proc/net/snmp 2>/dev/null | grep -A1 ^Icmp: ; grep -i icmp6 /proc/net/snmp6 | head -n 20' 2>&1
	e2e_diag_ns hA hB
}

run_pmtu() {
	fam=$1 xf=$2
	name="pmtu-v$fam-$xf"
	want_case "$name" || return 0
	e2e_case_begin "$name" pmtu_diag 10 2 || return 0
	if [ "$fam" = 4 ]; then
		pA=10.41.1.1 rA=10.41.1.254 rB=10.41.2.254 pB=10.41.2.2 pl=24 iA=10.99.1.1 iB=10.99.2.2 hl=32
		ptb_f='icmp and icmp[0] == 3 and icmp[1] == 4' iphl=20
	else
		pA=fd00:41:1::1 rA=fd00:41:1::fe rB=fd00:41:2::fe pB=fd00:41:2::2 pl=64 iA=fd00:99:1::1 iB=fd00:99:2::2 hl=128
		ptb_f='icmp6 and ip6[40] == 2' iphl=40
	fi
	e2e_ns_add hA rt hB
	e2e_veth hA eth0 rt a0
	e2e_veth rt b0 hB eth0
	# only the router's side of the far link is narrow: hB still advertises a
	# 1500-based MSS, so hA's TCP must learn the path MTU from the router
	"$IP" -n rt link set b0 mtu 1400
	e2e_addr hA eth0 "$pA/$pl"; e2e_addr rt a0 "$rA/$pl"
	e2e_addr rt b0 "$rB/$pl"; e2e_addr hB eth0 "$pB/$pl"
	e2e_addr hA lo "$iA/$hl"; e2e_addr hB lo "$iB/$hl"
	"$IP" -n hA route add default via "$rA" || e2e_setup_fail "route in hA"
	"$IP" -n hB route add default via "$rB" || e2e_setup_fail "route in hB"
	"$IP" -n hA route add "$iB/$hl" via "$rA" src "$iA" || e2e_setup_fail "inner route in hA"
	"$IP" -n hB route add "$iA/$hl" via "$rB" src "$iB" || e2e_setup_fail "inner route in hB"
	if [ "$fam" = 4 ]; then ns rt sysctl -q -w net.ipv4.ip_forward=1
	else ns rt sysctl -q -w net.ipv6.conf.all.forwarding=1; fi >/dev/null
	for n in hA hB; do
		sa_w "$n" "$pA" "$pB" 0x1001 1 tunnel "$(e2e_algo "$xf" 1)"
		sa_w "$n" "$pB" "$pA" 0x2002 2 tunnel "$(e2e_algo "$xf" 2)"
	done
	e2e_pol hA out "$iA/$hl" "$iB/$hl" "$pA" "$pB" 1 tunnel
	e2e_pol hA in  "$iB/$hl" "$iA/$hl" "$pB" "$pA" 2 tunnel
	e2e_pol hB out "$iB/$hl" "$iA/$hl" "$pB" "$pA" 2 tunnel
	e2e_pol hB in  "$iA/$hl" "$iB/$hl" "$pA" "$pB" 1 tunnel
	e2e_setup_check "$name" || return 0

	# 1. a 1350-byte ping: the ESP packet (> 1400, < 1500) dies at the router
	e2e_cap_start hA eth0 "$CAP1" inout
	t_check "$name: small ping $iA -> $iB" ping_n hA "$iB" 2
	ns hA ping -c 1 -s 1350 -w 3 "$iB" >/dev/null 2>&1
	sleep 0.5
	e2e_cap_stop hA eth0 "$CAP1"
	e2e_cap_check "$name: PMTU discovery"
	n_ptb=$(e2e_pcap_count "$ptb_f and src host $rA" "$CAP1")
	big=$(e2e_pcap_esp "$CAP1" | awk -v h="$iphl" '$1 == "0x00001001" && $3 + h > 1400' | wc -l)
	if [ "$n_ptb" -gt 0 ]; then t_ok "$name: the router sent frag-needed/packet-too-big to hA ($n_ptb) for $big oversized ESP packets"
	else t_fail "$name: the router sent frag-needed/packet-too-big to hA" "none captured on hA's link ($big ESP packets > 1400 sent)"; fi
	rg=$("$IP" -n hA route get "$pB" 2>&1 | tr '\n' ' ')
	log "$name: hA: ip route get $pB: $rg"
	case "$rg" in
	*"mtu 1400"*) t_ok "$name: hA's route to hB learned mtu 1400" ;;
	*) t_fail "$name: hA's route to hB learned mtu 1400" "ip route get $pB: $rg" ;;
	esac

	# 2. afterwards large packets are sized to fit
	e2e_cap_start hA eth0 "$CAP1" out
	e2e_cap_start rt b0 "$CAP2" out
	# (hB's replies are as large and die silently at the narrow veth: only
	# the requests matter, hB's SA must have decrypted them)
	p0=$(e2e_sa_field hB "$pA" "$pB" 0x1001 packets)
	ns hA ping -c 3 -s 1350 -i 0.3 -w 4 "$iB" >/dev/null 2>&1
	p1=$(e2e_sa_field hB "$pA" "$pB" 0x1001 packets)
	if [ $((${p1:-0} - ${p0:-0})) -ge 3 ]; then t_ok "$name: 1350-byte pings reach hB after the PMTU update ($p0 -> $p1 ESP packets decrypted)"
	else t_fail "$name: 1350-byte pings reach hB after the PMTU update" "hB SA 0x1001 packets $p0 -> $p1 for 3 pings"; fi
	tcp_check "$name" hB "$iB" hA
	e2e_cap_stop hA eth0 "$CAP1"
	e2e_cap_stop rt b0 "$CAP2"
	e2e_cap_check "$name"
	e2e_wire_export "$name" "$iB,$E2E_PORT" "$CAP1" "$CAP2"
	e2e_pcap_esp "$CAP1" | awk '$1 == "0x00001001" { print $3 }' | sort -n >"$E2E_TMP/pmtu.lens"
	n=$(wc -l <"$E2E_TMP/pmtu.lens")
	max=$(tail -n 1 "$E2E_TMP/pmtu.lens")
	over=$(awk -v h="$iphl" '$1 + h > 1400' "$E2E_TMP/pmtu.lens" | wc -l)
	log "$name: after the update hA sent $n ESP packets, largest $((${max:-0} + iphl)) bytes IP, $over over 1400"
	if [ "$n" -gt 0 ] && [ "$over" -eq 0 ] && [ $((${max:-0} + iphl)) -gt 1200 ]; then
		t_ok "$name: every ESP packet hA sends fits in 1400 (largest $((max + iphl)) of $n)"
	else
		t_fail "$name: every ESP packet hA sends fits in 1400 and large ones are used" "$n packets, $over over 1400, largest $((${max:-0} + iphl))"
	fi
	nn=$(e2e_pcap_esp "$CAP2" | wc -l)
	if [ "$nn" -gt 0 ]; then t_ok "$name: ESP crosses the 1400 link ($nn packets)"
	else t_fail "$name: ESP crosses the 1400 link" "none captured on the router's b0"; fi
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" "$fam"
	e2e_cleanup_all
}

# ---------------------------------------------------------------- cases

run_esn 4 transport gcm128
run_esn 4 transport cbc-sha256
run_esn 6 tunnel gcm128
run_tfc 4
run_tfc 6
run_dummy
run_natt4 tunnel
run_natt4 transport
run_natt6
run_beet 4 gcm128
run_beet 6 cbc-sha256
run_pmtu 4 gcm128
run_pmtu 6 cbc-sha256

t_finish
