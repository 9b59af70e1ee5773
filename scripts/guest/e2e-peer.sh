#!/bin/sh
# e2e-peer.sh - espah against an IPsec implementation it did not write: scapy
# (scripts/ipsec-peer.py) on the host end of the guest's virtio NIC, which
# scripts/run-e2e.sh connects to a QEMU UDP socket link.
#
# usage: e2e-peer.sh espah|intree [FILTER]
#   FILTER (optional): substring of the case name, e.g. "ccm", "v6-tunnel".
#
# Topology: the NIC with MAC 52:54:00:e5:9a:01 moves into netns "wire".
#   control  10.99.0.1/24       plaintext UDP to the peer's 10.99.0.2:7000
#   outer    10.99.1.1/24 fd00:99:1::1/64   peer 10.99.1.2 fd00:99:1::2
#   inner    10.99.2.1 fd00:99:2::1 on lo   peer 10.99.3.2 fd00:99:3::2 (tunnel)
# The peer's addresses have permanent neighbour entries.
#
# Per case (transform x v4/v6 x transport/tunnel; AH; ESN; NAT-T), SAs 0x5001
# guest->peer and 0x6002 peer->guest, the peer told the same keys:
#   - the guest pings the peer once per size 0..15 and 1200 (every padding
#     length of a 16-byte block): scapy decrypts each request and answers
#     protected; every reply must come back through espah
#   - the peer pings the guest with the same sizes: espah decrypts scapy's
#     requests and answers; scapy checks every reply's payload
#   - the peer's counters: every packet decrypted and verified, none failed,
#     sequence numbers 1, 2, 3..., minimal RFC 4303 padding, valid inner
#     ICMP checksums, nothing for a protected address in the clear
#   - the wire (tcpdump -Q out on the NIC): exactly the expected number of
#     ESP/AH (NAT-T: ESP-in-UDP) packets and no plaintext ICMP
#   - SA packet counters exact both ways, no integrity failure, no
#     xfrm_stat counter rose, and the states are held by the implementation
#     under test
#   - the SAs hold synchronous transforms (no cryptd wrapper left over by
#     e2e-async.sh, which runs before this suite)
#   - the capture is complete; on the host, scripts/wire-check.py checks
#     every captured frame under its SA as well

here=$(cd "$(dirname "$0")" && pwd)
E2E_TMP=${E2E_TMP:-/tmp/espah-e2e-peer}
. "$here/lib.sh"
e2e_plan "$@"

impl=${1:-}
filter=${2:-}
[ -n "$impl" ] || { echo "usage: $0 espah|intree [FILTER]"; exit 2; }

GUEST_MAC=52:54:00:e5:9a:01
PEER_MAC=52:54:00:e5:9a:02
CTRL=10.99.0.2
CTRL_PORT=7000
E2E_WIRE_EXTRA="allow udp-port-$CTRL_PORT"
WIRE=wire
# the host's decoder reads the SAs of the peer link's namespace and lets
# the plaintext control channel to the scapy peer pass
E2E_WIRE_NETNS=$WIRE
CAP=$E2E_TMP/peer-out.pcap
SIZES="0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 1200"
NPINGS=17
SPI_OUT=0x5001
SPI_IN=0x6002

# ---------------------------------------------------------------- link

peer_nic() {
	for _d in /sys/class/net/*; do
		[ "$(cat "$_d/address" 2>/dev/null)" = "$GUEST_MAC" ] && { basename "$_d"; return 0; }
	done
	return 1
}

# peer_cmd WORD...: one control command; prints the peer's answer
peer_cmd() {
	ns "$WIRE" udpq -w 30 "$CTRL" "$CTRL_PORT" "$@"
}

peer_link_up() {
	modprobe -q virtio_pci 2>/dev/null
	modprobe -q virtio_net 2>/dev/null
	_i=0
	until dev=$(peer_nic); do
		_i=$((_i + 1))
		[ "$_i" -gt 50 ] && return 1
		sleep 0.1
	done
	"$IP" netns add "$WIRE" || return 1
	"$IP" link set "$dev" netns "$WIRE" || return 1
	"$IP" -n "$WIRE" link set lo up
	"$IP" -n "$WIRE" link set "$dev" up || return 1
	"$IP" -n "$WIRE" addr add 10.99.0.1/24 dev "$dev"
	"$IP" -n "$WIRE" addr add 10.99.1.1/24 dev "$dev"
	"$IP" -n "$WIRE" -6 addr add fd00:99:1::1/64 dev "$dev" nodad
	"$IP" -n "$WIRE" addr add 10.99.2.1/32 dev lo
	"$IP" -n "$WIRE" -6 addr add fd00:99:2::1/128 dev lo
	for _a in 10.99.0.2 10.99.1.2 fd00:99:1::2; do
		"$IP" -n "$WIRE" neigh replace "$_a" lladdr "$PEER_MAC" dev "$dev" nud permanent || return 1
	done
	"$IP" -n "$WIRE" route add 10.99.3.2/32 via 10.99.1.2 src 10.99.2.1 || return 1
	"$IP" -n "$WIRE" -6 route add fd00:99:3::2/128 via fd00:99:1::2 src fd00:99:2::1 || return 1
	e2e_nd_bypass "$WIRE"
}

peer_teardown() {
	e2e_bg_kill
	"$IP" -n "$WIRE" xfrm policy flush 2>/dev/null
	"$IP" -n "$WIRE" xfrm state flush 2>/dev/null
	e2e_nd_bypass "$WIRE" 2>/dev/null
}

# ---------------------------------------------------------------- transforms

# _hex NBYTES SEED: key bytes without "0x" (the peer's spelling)
_hex() { e2e_hexkey "$1" "$2" | sed 's/^0x//'; }

# pxf_def NAME: sets pxf_proto and, per direction D (1 guest->peer, 2
# peer->guest), pxf_linuxD ("ip xfrm state" words) and pxf_peerD (scapy's
# names for the same keys)
pxf_def() {
	pxf_proto=esp
	case "$1" in
	gcm128) _p_aead "rfc4106(gcm(aes))" 20 AES-GCM ;;
	gcm256) _p_aead "rfc4106(gcm(aes))" 36 AES-GCM ;;
	ccm128) _p_aead "rfc4309(ccm(aes))" 19 AES-CCM ;;
	chacha20poly1305) _p_aead "rfc7539esp(chacha20,poly1305)" 36 CHACHA20-POLY1305 ;;
	cbc-sha256) _p_encauth "cbc(aes)" 16 AES-CBC "hmac(sha256)" 32 128 SHA2-256-128 ;;
	ctr-sha1) _p_encauth "rfc3686(ctr(aes))" 20 AES-CTR "hmac(sha1)" 20 96 HMAC-SHA1-96 ;;
	3des-md5) _p_encauth "cbc(des3_ede)" 24 3DES "hmac(md5)" 16 96 HMAC-MD5-96 ;;
	cbc256-sha512) _p_encauth "cbc(aes)" 32 AES-CBC "hmac(sha512)" 64 256 SHA2-512-256 ;;
	cbc-cmac) _p_encauth "cbc(aes)" 16 AES-CBC "cmac(aes)" 16 96 AES-CMAC-96 ;;
	null-sha384)
		for _d in 1 2; do
			eval "pxf_linux$_d=\"enc ecb(cipher_null) EMPTY auth-trunc hmac(sha384) $(e2e_hexkey 48 "$_d") 192\""
			eval "pxf_peer$_d=\"enc=NULL auth=SHA2-384-192 authkey=$(_hex 48 "$_d")\""
		done ;;
	ah-sha256) _p_ah "hmac(sha256)" 32 128 SHA2-256-128 ;;
	ah-sha1) _p_ah "hmac(sha1)" 20 96 HMAC-SHA1-96 ;;
	*) return 1 ;;
	esac
}

# _p_aead LINUXNAME KEYBYTES SCAPYNAME
_p_aead() {
	for _d in 1 2; do
		eval "pxf_linux$_d=\"aead $1 $(e2e_hexkey "$2" "$_d") 128\""
		eval "pxf_peer$_d=\"enc=$3 enckey=$(_hex "$2" "$_d")\""
	done
}

# _p_encauth ENC KEYBYTES SCAPYENC AUTH KEYBYTES TRUNCBITS SCAPYAUTH
_p_encauth() {
	for _d in 1 2; do
		_ek=$(e2e_hexkey "$2" "$_d") _ak=$(e2e_hexkey "$5" $((_d + 4)))
		eval "pxf_linux$_d=\"enc $1 $_ek auth-trunc $4 $_ak $6\""
		eval "pxf_peer$_d=\"enc=$3 enckey=${_ek#0x} auth=$7 authkey=${_ak#0x}\""
	done
}

# _p_ah AUTH KEYBYTES TRUNCBITS SCAPYAUTH
_p_ah() {
	pxf_proto=ah
	for _d in 1 2; do
		_ak=$(e2e_hexkey "$2" $((_d + 4)))
		eval "pxf_linux$_d=\"auth-trunc $1 $_ak $3\""
		eval "pxf_peer$_d=\"auth=$4 authkey=${_ak#0x}\""
	done
}

# guest_sa SRC DST SPI REQID MODE WORDS [EXTRA...]: WORDS are split on
# blanks, the word EMPTY is the empty key of cipher_null
guest_sa() {
	_s=$1 _d=$2 _spi=$3 _rq=$4 _md=$5 _ws=$6
	shift 6
	_extra=$*
	set --
	set -f
	for _w in $_ws $_extra; do
		[ "$_w" = EMPTY ] && _w=""
		set -- "$@" "$_w"
	done
	set +f
	_err=$("$IP" -n "$WIRE" xfrm state add src "$_s" dst "$_d" proto "$pxf_proto" \
		spi "$_spi" reqid "$_rq" mode "$_md" replay-window "$E2E_REPLAY_WINDOW" "$@" 2>&1) ||
		e2e_setup_fail "xfrm state add $_s -> $_d spi $_spi: $_err"
}

# ---------------------------------------------------------------- checks

# guest_pings DST: one ping per size, each must be answered
guest_pings() {
	_lost=""
	for _sz in $SIZES; do
		ns "$WIRE" ping -c 1 -W 5 -s "$_sz" "$1" >/dev/null 2>&1 || _lost="$_lost $_sz"
	done
	if [ -n "$_lost" ]; then echo "no reply for sizes:$_lost"; return 1; fi
	echo "$NPINGS/$NPINGS sizes answered"
}

# peer_pings SRC DST: the peer pings the guest, all replies must match
peer_pings() {
	_a=$(peer_cmd ping src="$1" dst="$2" sizes="$(echo "$SIZES" | tr ' ' ',')") || { echo "$_a"; return 1; }
	echo "$_a"
	[ "$_a" = "sent=$NPINGS ok=$NPINGS bad=0 lost=0" ]
}

# stat_of "k=v ..." NAME
stat_of() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

peer_stats_ok() {
	_st=$(peer_cmd stats) || { echo "$_st"; return 1; }
	_want=$((2 * NPINGS))
	_bad=""
	[ "$(stat_of "$_st" dec_ok)" = "$_want" ] || _bad="$_bad dec_ok!=$_want"
	for _c in dec_fail unknown_spi seq_bad pad_bad icmp_bad udp_bad plain; do
		[ "$(stat_of "$_st" "$_c")" = 0 ] || _bad="$_bad $_c!=0"
	done
	echo "$_st"
	[ -z "$_bad" ] || { echo "peer:$_bad (details: the peer's log)"; return 1; }
}

sa_exact() { # SRC DST SPI WANT
	_p=$(e2e_sa_field "$WIRE" "$1" "$2" "$3" packets "$pxf_proto")
	_f=$(e2e_sa_field "$WIRE" "$1" "$2" "$3" failed "$pxf_proto")
	echo "spi $3 packets=${_p:-?} failed=${_f:-?}"
	[ "$_p" = "$4" ] && [ "${_f:-0}" = 0 ]
}

peer_diag() {
	e2e_pcap_summary "$CAP" 12
	echo "== peer stats: $(peer_cmd stats 2>&1)"
	echo "== neighbours"; "$IP" -n "$WIRE" neigh 2>&1
	e2e_diag_ns "$WIRE"
}

# ---------------------------------------------------------------- cases

# run_case FAMILY MODE TRANSFORM [esn|natt]
run_case() {
	fam=$1 mode=$2 xf=$3 opt=${4:-}
	name="v$fam-$mode-$xf${opt:+-$opt}"
	case "$name" in *"$filter"*) ;; *) return 0 ;; esac
	e2e_case_begin "$name" peer_diag 10 1 || return 0
	[ -n "$PEER_SKIP" ] && { e2e_case_skip "$name" "$PEER_SKIP"; return 0; }
	pxf_def "$xf" || { t_fail "$name" "unknown transform"; return 0; }
	if [ "$fam" = 4 ]; then
		g=10.99.1.1 p=10.99.1.2 hl=32 wire_f="ip proto 50 or ip proto 51" plain_f=icmp
		gi=10.99.2.1 pi=10.99.3.2
	else
		g=fd00:99:1::1 p=fd00:99:1::2 hl=128 wire_f="ip6 proto 50 or ip6 proto 51"
		plain_f=$E2E_PLAIN_FILTER_6 gi=fd00:99:2::1 pi=fd00:99:3::2
	fi
	[ "$mode" = tunnel ] || { gi=$g pi=$p; }
	peer_teardown
	e2e_crypto_snap "$E2E_TMP/crypto.before"
	sa_in_opts="" sa_out_opts="" opt_peer=""
	# Linux pads an IPv4 AH header to 8 octets unless told otherwise; RFC 4302
	# asks for 4, as scapy (and most peers) send
	[ "$pxf_proto$fam" = ah4 ] && sa_in_opts="flag align4" sa_out_opts="flag align4"
	case "$opt" in
	esn)
		# high half 1 on both SAs: a peer that left it out of the ICV fails
		sa_out_opts="flag esn replay-oseq-hi 1" sa_in_opts="flag esn replay-seq-hi 1" opt_peer="esn=1" ;;
	natt)
		if [ "$fam" = 4 ]; then oa=0.0.0.0; else oa=::; fi
		sa_in_opts="encap espinudp 4500 4500 $oa" sa_out_opts=$sa_in_opts opt_peer="natt=4500:4500"
		wire_f="udp port 4500" ;;
	esac

	guest_sa "$g" "$p" "$SPI_OUT" 1 "$mode" "$pxf_linux1" "$sa_out_opts"
	guest_sa "$p" "$g" "$SPI_IN" 2 "$mode" "$pxf_linux2" "$sa_in_opts"
	e2e_pol "$WIRE" out "$gi/$hl" "$pi/$hl" "$g" "$p" 1 "$mode" "$pxf_proto"
	e2e_pol "$WIRE" in "$pi/$hl" "$gi/$hl" "$p" "$g" 2 "$mode" "$pxf_proto"
	common="proto=$pxf_proto mode=$mode inner=$fam $opt_peer"
	for c in "reset" \
		"sa dir=in spi=${SPI_OUT#0x} src=$g dst=$p $common $pxf_peer1" \
		"sa dir=out spi=${SPI_IN#0x} src=$p dst=$g $common $pxf_peer2"; do
		# shellcheck disable=SC2086
		a=$(peer_cmd $c) && [ "$a" = ok ] || e2e_setup_fail "peer: '$c' answered '$a'"
	done
	[ "$opt" = natt ] && e2e_nattsock_start "$WIRE" "$fam"
	e2e_setup_check "$name" || { peer_teardown; return 0; }

	e2e_stat_snap_all "$WIRE"
	e2e_cap_start "$WIRE" "$dev" "$CAP" out
	log "$name: guest -> peer $pi, $NPINGS sizes"
	t_check "$name: guest pings, scapy answers" guest_pings "$pi"
	log "$name: peer -> guest $gi, $NPINGS sizes"
	t_check "$name: scapy pings, guest answers" peer_pings "$pi" "$gi"
	e2e_cap_stop "$WIRE" "$dev" "$CAP"
	e2e_cap_check "$name"
	e2e_wire_export "$name" - "$CAP"

	t_check "$name: scapy verified every packet (seq, padding, ICMP)" peer_stats_ok
	n_wire=$(e2e_pcap_count "$wire_f" "$CAP")
	n_plain=$(e2e_pcap_count "$plain_f" "$CAP")
	want=$((2 * NPINGS))
	if [ "$n_wire" = "$want" ] && [ "$n_plain" = 0 ]; then
		t_ok "$name: wire: $n_wire $pxf_proto packets out, no plaintext ICMP"
	else
		t_fail "$name: wire" "$n_wire packets matching '$wire_f' (want $want), $n_plain plaintext ICMP"
	fi
	t_check "$name: SA guest->peer counted $want packets" sa_exact "$g" "$p" "$SPI_OUT" "$want"
	t_check "$name: SA peer->guest counted $want packets" sa_exact "$p" "$g" "$SPI_IN" "$want"
	e2e_stat_check "$name" "$WIRE"
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" "$fam" "$pxf_proto"
	e2e_check_sa_crypto "$name" "$E2E_TMP/crypto.before" 2 sync
	peer_teardown
}

# ---------------------------------------------------------------- main

e2e_load_impl "$impl"
PEER_SKIP=""
if [ "$E2E_PLAN_ONLY" != 1 ] && ! peer_link_up; then
	if [ -n "${ESPAH_PEER:-}" ]; then
		die "the peer link (virtio NIC $GUEST_MAC) did not come up: see dmesg"
	fi
	log "no NIC $GUEST_MAC: run through scripts/run-e2e.sh, which starts the scapy peer"
	PEER_SKIP="no peer link in this guest (run it through scripts/run-e2e.sh)"
fi
if e2e_case_begin "peer link" "" 2; then
	if [ -n "$PEER_SKIP" ]; then
		e2e_case_skip "peer link" "$PEER_SKIP"
	else
		t_check "peer link: plaintext ping of the control address" e2e_ping "$WIRE" "$CTRL" 1
		t_check "peer link: control channel answers" peer_cmd reset
	fi
fi

for fam in 4 6; do
	for mode in transport tunnel; do
		for xf in gcm128 ccm128 chacha20poly1305 cbc-sha256 ctr-sha1 3des-md5 ah-sha256; do
			run_case "$fam" "$mode" "$xf"
		done
	done
done
run_case 4 transport gcm256
run_case 6 tunnel cbc256-sha512
run_case 4 tunnel cbc-cmac
run_case 6 transport null-sha384
run_case 4 transport ah-sha1
run_case 4 transport gcm128 esn
run_case 6 tunnel gcm128 esn
run_case 4 transport gcm128 natt
run_case 6 tunnel cbc-sha256 natt
t_finish
