#!/bin/sh
# e2e-pagecache.sh - ESP never writes into memory it does not own (issue 11
# item 1; the Dirty Frag CVE-2026-43284 / Fragnesia CVE-2026-46300 class):
# page-cache pages spliced into sockets, zerocopy user pages, and the
# frames packet taps and tc mirrors share with the stack.
#
# usage: e2e-pagecache.sh espah|intree [FILTER]
#   FILTER: substring of the case names below, e.g. "rx-v6", "-lo", "tx-".
#   Env: E2E_PC_COUNT (packets per rx case, default 4).
#
# Receive side (rx-vF-ALG-ICV-HOW-PATH): a read-only file on tmpfs whose
# pages are ESP packets for an SA of the receiver (scripts/helpers/espfile.c:
# GCM or CBC+HMAC-SHA-256, valid or flipped ICV; the plaintext is a UDP
# datagram with marker lines). An unprivileged sender (uid 65534) splices
# (HOW=splice, through a pipe) or sendfile()s (HOW=sendfile) each page into
# a UDP socket to port 4500 (ESP in UDP, RFC 3948), so the ESP packet
# arrives in page-cache pages. HOW=paged sends a copy with UDP_SEGMENT
# instead, so the ESP packet arrives in page fragments that are not
# flagged as shared (as a NIC's or GRO's are not): the tap case. PATH=veth:
# from the netns pcs to pcr; PATH=lo: within pcr, to its own address (the
# exploit's own path).
#
#   pcs 10.52.0.1 fd00:52::1 pcs0 ==veth== pcr0 10.52.0.2 fd00:52::2 pcr
#     pcr: nattsock :4500 (UDP_ENCAP_ESPINUDP), socat UDP-RECV :5555 (the
#          decrypted datagrams), pkttap on pcr0 (lo for PATH=lo), clsact
#          on pcr0: ingress matchall mirred egress mirror dev mir0
#     pcr mir0 ==veth== mir1 pcm: pkttap on mir1 (the mirror port)
#
# Each rx case checks that the packets reached ESP (SA packet counter, or
# integrity-failed + espah's rx_icv_mismatch + XfrmInStateProtoError),
# that the valid ones were delivered (and the bad ones not), that the
# file's page-cache content is unchanged (tmpfs: the page cache is the
# file; compared with a copy made before), and that the tap and the
# mirror, reading their queued clones only after the stack processed the
# packets (scripts/helpers/pkttap.c), saw no marker inside an ESP frame.
#
# Transmit side (tx-vF-ALG-KIND): pts ==veth== ptr with ESP transport SAs
# and policies both ways; KIND tcp-sendfile / tcp-splice (a 1 MiB read-only
# file through TCP), tcp-zc / udp-zc (MSG_ZEROCOPY sends, completions
# awaited): the file and the sender's buffer are unchanged, the receiver
# got every byte, ESP and no marker on the wire, SA counters moved.
# ALG null: ESP-NULL without integrity, which espah sends without crypto
# and without a copy (tx_null): the payload pages are only read, so the
# file and the buffer must stay unchanged all the same; the markers are
# on the wire by definition.
#
# With intree, the safety checks (file, buffer, tap, mirror) are
# informational: they pass and say what happened; the lines
# "# SUMMARY impl=... case=... file=... tap=... mirror=..." at the end
# are the comparison table.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_suite_args "$@"

PC_COUNT=${E2E_PC_COUNT:-4}
PC_MARKER=ESPAH-PAGECACHE-MARKER
# what scripts/helpers/pagesend.c fills its zerocopy buffer with
PC_ZC_MARKER=ESPAH-ZEROCOPY-PLAINTEXT-MARKER
PC_INNER_PORT=5555
PC_SPORT=4501
PC_NOBODY=65534
PC_SUMMARY=$E2E_TMP/pagecache-summary
PC_TXSIZE=1048576
: >"$PC_SUMMARY"
pc_spi=$((0x5000))

for _h in espfile pagesend pkttap nattsock; do
	[ -n "$(e2e_helper_bin "$_h")" ] || die "helper $_h not in the guest (scripts/helpers/$_h.c)"
done
modprobe -q af_alg 2>/dev/null
modprobe -q algif_aead 2>/dev/null

pc_wanted() { case "$1" in *"$filter"*) return 0 ;; esac; return 1; }

# pc_safety NAME GOOD DETAIL: a safety property; GOOD is 1 if it held.
# Required of espah; for the in-tree stack, reported only.
pc_safety() {
	if [ "$2" = 1 ]; then
		t_ok "$1"
	elif [ "$E2E_IMPL" = intree ]; then
		t_ok "$1 [informational for intree: $3]"
	else
		t_fail "$1" "$3"
	fi
}

pc_summary() { echo "# SUMMARY impl=$E2E_IMPL kernel=$(uname -r) case=$*" >>"$PC_SUMMARY"; }

# pc_bg_start NS OUT CMD...: a background helper that prints "ready"
pc_bg_start() {
	_n=$1 _o=$2
	shift 2
	"$IP" netns exec "$_n" "$@" >"$_o" 2>&1 &
	_pid=$!
	e2e_bg_add "$_pid"
	_i=0
	while ! grep -q ready "$_o" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ] || ! kill -0 "$_pid" 2>/dev/null; then
			e2e_setup_fail "$* in $_n did not start: $(cat "$_o")"
			return 1
		fi
		sleep 0.1
	done
}

# pc_tap_read PID OUT: tell a pkttap to read its queue; its result line
pc_tap_read() {
	kill -USR1 "$1" 2>/dev/null
	_i=0
	while ! grep -q '^frames=' "$2" 2>/dev/null && [ "$_i" -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	wait "$1" 2>/dev/null
	grep '^frames=' "$2"
}

# pc_wait_bound NS tcp|udp PORT: until a socket of NS listens on PORT
pc_wait_bound() {
	_i=0
	while ! ns "$1" ss -Hln --"$2" 2>/dev/null | grep -q ":$3 "; do
		_i=$((_i + 1))
		[ "$_i" -gt 100 ] && { log "nothing bound to $2 port $3 in $1"; return 1; }
		sleep 0.1
	done
}

# pc_field "k=v ..." KEY
pc_field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# ---------------------------------------------------------------- receive side

pc_rx_diag() {
	e2e_diag_ns pcr
	echo "== /proc/net/espah (pcr)"
	ns pcr cat /proc/net/espah 2>&1 | head -n 20
	echo "== taps: $(cat "$E2E_TMP"/pc-tap-*.out 2>/dev/null | tr '\n' ' ')"
	echo "== tc (pcr0): $(ns pcr tc -s filter show dev pcr0 ingress 2>&1 | tr '\n' ' ' | head -c 600)"
}

# pc_rx_setup FAMILY: the receive-side topology, for one address family
pc_rx_setup() {
	if [ "$1" = 4 ]; then
		snd=10.52.0.1 rcv=10.52.0.2 plen=24 any=0.0.0.0
	else
		snd=fd00:52::1 rcv=fd00:52::2 plen=64 any=::
	fi
	e2e_ns_add pcs pcr pcm
	e2e_veth pcs pcs0 pcr pcr0
	e2e_veth pcr mir0 pcm mir1
	e2e_addr pcs pcs0 "$snd/$plen"
	e2e_addr pcr pcr0 "$rcv/$plen"
	e2e_nattsock_start pcr "$1"
	inner_rx=$E2E_TMP/pc-inner-v$1
	rm -f "$inner_rx"
	"$IP" netns exec pcr socat -u "UDP$1-RECV:$PC_INNER_PORT" "OPEN:$inner_rx,creat,append" \
		2>"$inner_rx.err" &
	e2e_bg_add $!
	pc_wait_bound pcr udp "$PC_INNER_PORT" || e2e_setup_fail "the receiver of the decrypted datagrams did not start"
	# the mirror: a copy of every frame received on pcr0 leaves on mir0
	mirror=1
	if ! ns pcr tc qdisc add dev pcr0 clsact 2>"$E2E_TMP/pc-tc.err" ||
	   ! ns pcr tc filter add dev pcr0 ingress matchall \
		action mirred egress mirror dev mir0 2>>"$E2E_TMP/pc-tc.err"; then
		log "no tc mirror: $(cat "$E2E_TMP/pc-tc.err")"
		mirror=0
	fi
	# neighbours resolved before the taps start: only the test's frames
	ns pcs ping -c 1 -W 5 "$rcv" >/dev/null 2>&1
}

# pc_rx_wait FIELD WANT: until the SA's packets|failed counter is WANT
pc_rx_wait() {
	_i=0
	while [ "$_i" -lt 50 ]; do
		[ "$(e2e_sa_field pcr "$sa_src" "$rcv" "$spi" "$1")" = "$2" ] && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}

# pc_delivered: how many of the case's datagrams came out decrypted
pc_delivered() {
	grep -a -o "$PC_MARKER/$name seq [0-9]*" "$inner_rx" 2>/dev/null | sort -u | wc -l
}

# pc_tap_check NAME WHAT RESULT: the tap saw the case's ESP frames, and no
# marker inside any of them
pc_tap_check() {
	_esp=$(pc_field "$3" esp)
	_mark=$(pc_field "$3" esp_marker)
	if [ "${_esp:-0}" -lt "$PC_COUNT" ]; then
		t_fail "$1: the $2 saw the ESP frames" "$2 result '$3': fewer than $PC_COUNT ESP frames, the check below proves nothing"
		return
	fi
	t_ok "$1: the $2 saw the ESP frames ($3)"
	pc_safety "$1: no plaintext marker inside ESP frames at the $2" \
		"$([ "${_mark:-1}" = 0 ] && echo 1)" "the $2 saw the plaintext marker in $_mark ESP frames"
}

# pc_rx_case FAMILY ALG ICV HOW PATH
pc_rx_case() {
	name="rx-v$1-$2-$3-$4-$5"
	pc_wanted "$name" || return 0
	e2e_case_begin "$name" pc_rx_diag
	pc_spi=$((pc_spi + 1))
	spi=$(printf '0x%08x' "$pc_spi")
	if [ "$5" = lo ]; then
		sndns=pcr sa_src=$rcv tapif=lo
	else
		sndns=pcs sa_src=$snd tapif=pcr0
	fi
	file=$E2E_TMP/pc-$name.esp
	rm -f "$file" "$file.orig"
	if [ "$2" = gcm ]; then keys=$E2E_GCM_KEY_1; xf=gcm128
	else keys="$E2E_ENC_KEY_1 $E2E_AUTH_KEY_1"; xf=cbc-sha256; fi
	# shellcheck disable=SC2086  # keys are one or two words
	out=$(espfile "$file" "$1" "$sa_src" "$rcv" "$PC_INNER_PORT" "$spi" 1 "$PC_COUNT" \
		"$2" $keys "$3" "$PC_MARKER/$name" 2>&1) || e2e_setup_fail "espfile: $out"
	pktlen=${out#pktlen }
	cp "$file" "$file.orig" 2>/dev/null
	# shellcheck disable=SC2046
	"$IP" -n pcr xfrm state add src "$sa_src" dst "$rcv" proto esp spi "$spi" \
		mode transport replay-window 128 $(e2e_algo "$xf" 1) \
		encap espinudp "$PC_SPORT" 4500 "$any" || e2e_setup_fail "SA $spi"
	e2e_setup_check "$name" || return 0
	e2e_stat_snap pcr "$E2E_TMP/pc-stat.before"
	pc_bg_start pcr "$E2E_TMP/pc-tap-rx.out" pkttap "$tapif" "$PC_MARKER"
	tap=$_pid
	mir=""
	if [ "$mirror" = 1 ] && [ "$5" = veth ]; then
		pc_bg_start pcm "$E2E_TMP/pc-tap-mirror.out" pkttap mir1 "$PC_MARKER" && mir=$_pid
	fi

	log "$name: uid $PC_NOBODY sends ($4) $PC_COUNT pages of $file ($pktlen-byte ESP packets) to $rcv:4500"
	if sent=$(ns "$sndns" pagesend udp "$4" "$file" "$1" "$rcv" 4500 "$PC_SPORT" \
		"$PC_COUNT" "$pktlen" "$PC_NOBODY" 2>&1); then
		t_ok "$name: $sent"
	else
		t_fail "$name: send the file's pages" "$sent"
	fi
	if [ "$3" = valid ]; then pc_rx_wait packets "$PC_COUNT"; else pc_rx_wait failed "$PC_COUNT"; fi
	sleep 0.5
	tapres=$(pc_tap_read "$tap" "$E2E_TMP/pc-tap-rx.out")
	mirres=-
	[ -n "$mir" ] && mirres=$(pc_tap_read "$mir" "$E2E_TMP/pc-tap-mirror.out")
	e2e_stat_snap pcr "$E2E_TMP/pc-stat.after"

	# the packets reached ESP, and what came out
	pkts=$(e2e_sa_field pcr "$sa_src" "$rcv" "$spi" packets)
	failed=$(e2e_sa_field pcr "$sa_src" "$rcv" "$spi" failed)
	got=$(pc_delivered)
	if [ "$3" = valid ]; then
		if [ "$pkts" = "$PC_COUNT" ] && [ "${failed:-0}" = 0 ]; then
			t_ok "$name: ESP decrypted all $PC_COUNT (SA packets=$pkts)"
		else
			t_fail "$name: ESP decrypted all $PC_COUNT" "SA packets=$pkts integrity-failed=$failed"
		fi
		if [ "$got" = "$PC_COUNT" ]; then t_ok "$name: all $PC_COUNT inner datagrams delivered intact"
		else t_fail "$name: inner datagrams delivered" "$got of $PC_COUNT reached port $PC_INNER_PORT"; fi
	else
		protoerr=$(e2e_stat_diff "$E2E_TMP/pc-stat.before" "$E2E_TMP/pc-stat.after" |
			sed -n 's/^XfrmInStateProtoError .*(+\([0-9]*\))/\1/p')
		if [ "$failed" = "$PC_COUNT" ] && [ "${protoerr:-0}" = "$PC_COUNT" ] &&
		   [ "${pkts:-0}" = 0 ]; then
			t_ok "$name: ESP checked and refused all $PC_COUNT (integrity-failed=$failed, XfrmInStateProtoError +$protoerr)"
		else
			t_fail "$name: ESP refused all $PC_COUNT" "integrity-failed=$failed XfrmInStateProtoError +${protoerr:-0} packets=$pkts"
		fi
		if [ "$E2E_IMPL" = espah ]; then
			icvdrops=$(e2e_espah_counter pcr "$spi" rx_icv_mismatch)
			if [ "$icvdrops" = "$PC_COUNT" ]; then t_ok "$name: espah counted rx_icv_mismatch=$icvdrops"
			else t_fail "$name: espah rx_icv_mismatch" "$icvdrops, want $PC_COUNT"; fi
		fi
		if [ "$got" = 0 ]; then t_ok "$name: nothing delivered"
		else t_fail "$name: nothing delivered" "$got forged datagrams reached port $PC_INNER_PORT"; fi
	fi

	# the page cache (paged: the packets were copied out of the file)
	fstate=-
	if [ "$4" != paged ]; then
		if cmp -s "$file" "$file.orig"; then fstate=intact
		else fstate="CHANGED($(cmp "$file" "$file.orig" 2>&1 | head -n 1 | sed 's/.*: //'))"; fi
		pc_safety "$name: the file's page-cache content is unchanged" \
			"$([ "$fstate" = intact ] && echo 1)" "the file changed: $fstate"
	fi

	pc_tap_check "$name" tap "$tapres"
	tstate=clean
	[ "$(pc_field "$tapres" esp_marker)" = 0 ] || tstate="PLAINTEXT($(pc_field "$tapres" esp_marker))"
	mstate=-
	if [ -n "$mir" ]; then
		pc_tap_check "$name" mirror "$mirres"
		mstate=clean
		[ "$(pc_field "$mirres" esp_marker)" = 0 ] || mstate="PLAINTEXT($(pc_field "$mirres" esp_marker))"
	elif [ "$5" = veth ]; then
		t_skip "$name: mirror" "no tc mirred in this kernel"
	fi
	if [ "$rx_bound_checked" = 0 ]; then
		e2e_check_impl_in_use "rx-v$1: states bound to $E2E_IMPL" "$1"
		rx_bound_checked=1
	fi
	pc_summary "$name file=$fstate tap=$tstate mirror=$mstate delivered=$got/$([ "$3" = valid ] && echo "$PC_COUNT" || echo 0)"
	"$IP" -n pcr xfrm state delete src "$sa_src" dst "$rcv" proto esp spi "$spi"
	rm -f "$file" "$file.orig"
}

# pc_rx_each FAMILY FUNCTION: FUNCTION FAMILY ALG ICV HOW PATH for every rx case
pc_rx_each() {
	for rx_alg in gcm cbc; do for rx_icv in valid badicv; do
		for rx_how in splice sendfile paged; do for rx_path in veth lo; do
			"$2" "$1" "$rx_alg" "$rx_icv" "$rx_how" "$rx_path"
		done; done
	done; done
}

pc_rx_any() { pc_wanted "rx-v$1-$2-$3-$4-$5" && rx_any=1; }

pc_rx_family() {
	rx_any=0
	pc_rx_each "$1" pc_rx_any
	[ "$rx_any" = 1 ] || return 0
	e2e_case_begin "rx-v$1 setup" pc_rx_diag
	pc_rx_setup "$1"
	e2e_setup_check "rx-v$1 setup" || return 0
	rx_bound_checked=0
	pc_rx_each "$1" pc_rx_case
	e2e_cleanup_all
}

# ---------------------------------------------------------------- transmit side

pc_tx_diag() {
	e2e_pcap_summary "$E2E_TMP/pc-tx.pcap" 10
	e2e_diag_ns pts ptr
}

# pc_tx_setup FAMILY TRANSFORM: transport SAs and policies between pts and ptr
pc_tx_setup() {
	if [ "$1" = 4 ]; then a1=10.53.0.1 a2=10.53.0.2
	else a1=fd00:53::1 a2=fd00:53::2; fi
	e2e_transport_pair pts ptr "$a1" "$a2" "$2" 0x6001 0x6002
}

# pc_tx_file: a read-only 1 MiB file of marker lines and random bytes
pc_tx_file() {
	txfile=$E2E_TMP/pc-tx-file
	[ -s "$txfile" ] && return 0
	{
		_i=0
		while [ "$_i" -lt 16 ]; do
			_j=0
			while [ "$_j" -lt 64 ]; do echo "$PC_MARKER tx chunk $_i line $_j"; _j=$((_j + 1)); done
			head -c $((PC_TXSIZE / 16 - 64 * 40)) /dev/urandom
			_i=$((_i + 1))
		done
	} >"$txfile"
	chmod 0444 "$txfile"
	cp "$txfile" "$txfile.orig"
}

# pc_tx_receiver PROTO FAMILY PORT OUT: socat writing what arrives to OUT
pc_tx_receiver() {
	rm -f "$4"
	if [ "$1" = tcp ]; then
		_l="TCP$2-LISTEN:$3,reuseaddr"
	else
		_l="UDP$2-RECV:$3"
	fi
	"$IP" netns exec ptr timeout 120 socat -u "$_l" "CREATE:$4" 2>"$4.err" &
	rx_pid=$!
	e2e_bg_add "$rx_pid"
	pc_wait_bound ptr "$1" "$3"
}

# pc_tx_case FAMILY ALG KIND
pc_tx_case() {
	name="tx-v$1-$2-$3"
	pc_wanted "$name" || return 0
	e2e_case_begin "$name" pc_tx_diag
	rx=$E2E_TMP/pc-tx-rx
	port=$((7000 + ${pc_port:=0}))
	pc_port=$((pc_port + 1))
	pkts0=$(e2e_sa_field pts "$a1" "$a2" 0x6001 packets)
	e2e_cap_start pts pts0 "$E2E_TMP/pc-tx.pcap" out
	case "$3" in
	*-zc)
		ref=$E2E_TMP/pc-tx-ref
		if [ "$3" = tcp-zc ]; then set -- "$1" "$2" "$3" tcp 16 65536
		else set -- "$1" "$2" "$3" udp 32 1200; fi
		pc_tx_receiver "$4" "$1" "$port" "$rx"
		out=$(ns pts pagesend zc "$4" "$1" "$a2" "$port" "$5" "$6" "$ref" 2>&1)
		zc_ok=0
		echo "$out" | grep -q 'buffer=intact' && zc_ok=1
		case "$out" in *"sent=$5 of $5 completions=$5 "*) t_ok "$name: $out" ;;
		*) t_fail "$name: every zerocopy send completed" "$out" ;; esac
		# UDP through xfrm gets no CHECKSUM_PARTIAL, so the kernel copies
		# at send time; TCP's are "copied" when the local receiver
		# copies them, after ESP saw the user pages
		[ "$4" = udp ] && case "$out" in *"copied=$5 "*)
			log "$name: the kernel copied every UDP zerocopy send before ESP" ;; esac
		pc_safety "$name: the sender's zerocopy buffer is unchanged" "$zc_ok" "$out"
		sleep 1
		[ "$4" = udp ] && kill "$rx_pid" 2>/dev/null
		wait "$rx_pid" 2>/dev/null
		;;
	tcp-*)
		pc_tx_receiver tcp "$1" "$port" "$rx"
		if out=$(ns pts pagesend tcp "${3#tcp-}" "$txfile" "$1" "$a2" "$port" 2>&1); then
			t_ok "$name: $out"
		else
			t_fail "$name: send" "$out"
		fi
		wait "$rx_pid" 2>/dev/null
		ref=$txfile.orig
		;;
	esac
	e2e_cap_stop pts pts0 "$E2E_TMP/pc-tx.pcap"
	if cmp -s "$rx" "$ref"; then
		t_ok "$name: the receiver got all $(wc -c <"$ref") bytes intact"
	else
		t_fail "$name: the receiver got every byte" "received $(wc -c <"$rx" 2>/dev/null || echo 0) of $(wc -c <"$ref") bytes: $(cmp "$rx" "$ref" 2>&1 | head -n 1); $(cat "$rx.err")"
	fi
	fstate=-
	case "$3" in tcp-sendfile | tcp-splice)
		if cmp -s "$txfile" "$txfile.orig"; then fstate=intact; else fstate=CHANGED; fi
		pc_safety "$name: the file's page-cache content is unchanged" \
			"$([ "$fstate" = intact ] && echo 1)" "the file changed"
	esac
	n_esp=$(e2e_pcap_count "ip proto 50 or ip6 proto 50" "$E2E_TMP/pc-tx.pcap")
	# the marker the sent data carries: the file's, or pagesend's buffer's
	case "$3" in *-zc) _mk=$PC_ZC_MARKER ;; *) _mk=$PC_MARKER ;; esac
	n_mark=$(grep -c -z -F "$_mk" "$E2E_TMP/pc-tx.pcap" 2>/dev/null)
	if [ "$2" = null ]; then
		# NULL sends plaintext: seeing the markers proves this check sees
		if [ "$n_esp" -gt 0 ] && [ "${n_mark:-0}" -gt 0 ]; then t_ok "$name: $n_esp ESP-NULL packets on the wire, the marker in the clear as NULL sends it ($n_mark)"
		else t_fail "$name: ESP-NULL on the wire, the marker readable" "esp=$n_esp marker=$n_mark"; fi
	elif [ "$n_esp" -gt 0 ] && [ "$n_mark" = 0 ]; then t_ok "$name: $n_esp ESP packets on the wire, no marker"
	else t_fail "$name: ESP on the wire, no marker" "esp=$n_esp marker=$n_mark"; fi
	pkts=$(e2e_sa_field pts "$a1" "$a2" 0x6001 packets)
	if [ "${pkts:-0}" -gt "${pkts0:-0}" ]; then t_ok "$name: the SA encrypted $((pkts - pkts0)) packets"
	else t_fail "$name: SA counter" "SA 0x6001 packets $pkts0 -> $pkts"; fi
	if [ "$2" = null ] && [ "$E2E_IMPL" = espah ]; then
		_tn=$(e2e_espah_path pts 0x00006001 tx_null)
		if [ "${_tn:-0}" -gt "${pc_null0:-0}" ]; then t_ok "$name: espah sent them without crypto or copy (tx_null $_tn)"
		else t_fail "$name: espah's ESP-NULL path" "tx_null ${pc_null0:-0} -> ${_tn:-absent}"; fi
		pc_null0=$_tn
	fi
	bstate=-
	case "$3" in *-zc) if [ "$zc_ok" = 1 ]; then bstate=intact; else bstate=CHANGED; fi ;; esac
	pc_summary "$name file=$fstate buffer=$bstate"
	rm -f "$rx"
}

pc_tx_block() {
	_any=0
	for kind in tcp-sendfile tcp-splice tcp-zc udp-zc; do
		pc_wanted "tx-v$1-$2-$kind" && _any=1
	done
	[ "$_any" = 1 ] || return 0
	e2e_case_begin "tx-v$1-$2 setup" pc_tx_diag
	pc_tx_setup "$1" "$2"
	e2e_setup_check "tx-v$1-$2 setup" || return 0
	e2e_stat_snap_all pts ptr
	pc_null0=0
	_x=$2
	for kind in tcp-sendfile tcp-splice tcp-zc udp-zc; do
		pc_tx_case "$1" "${_x%128}" "$kind"
	done
	e2e_stat_check "tx-v$1-$2" pts ptr
	e2e_cleanup_all
}

for fam in 4 6; do
	pc_rx_family "$fam"
done
pc_tx_file
for fam in 4 6; do
	for xf in gcm128 cbc-sha256 null; do
		pc_tx_block "$fam" "$xf"
	done
done

echo "# ---- page cache, zerocopy and tap results (impl=$E2E_IMPL)"
cat "$PC_SUMMARY"
t_finish
