#!/bin/sh
# e2e-counters.sh - espah's per-SA drop counters (/proc/net/espah, espahstat)
# each move for the reason and the SA they should, and nothing else moves.
#
#   ns1 10.41.0.1 ---- veth ---- ns2 10.41.0.2
#   espcraft (raw ESP, AH)       inbound SAs: ESP 0x100 GCM, 0x200 CBC+SHA256,
#                                AH 0x300 HMAC-SHA-256-128
#
# usage: e2e-counters.sh espah   (the counters are espah's own: with
# "intree" every check is skipped; run-e2e.sh and e2e-all.sh leave the
# suite out for the in-tree stack)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
e2e_plan "$@"

e2e_load_impl "${1:-espah}"
GCM_KEY=$E2E_GCM_KEY_1

# expected drops per SA, as "counter=value" (every other counter must be 0)
WANT_GCM="rx_truncated=2 rx_icv_mismatch=3 rx_bad_padding=1 rx_dummy=1"
WANT_CBC="rx_bad_length=2"
WANT_AH="rx_bad_length=1 rx_icv_mismatch=2"

setup() {
	e2e_ns_add ns1 ns2
	e2e_veth ns1 veth1 ns2 veth2
	e2e_addr ns1 veth1 10.41.0.1/24
	e2e_addr ns2 veth2 10.41.0.2/24
	"$IP" -n ns2 xfrm state add src 10.41.0.1 dst 10.41.0.2 proto esp \
		spi 0x100 mode transport aead 'rfc4106(gcm(aes))' "$GCM_KEY" 128 ||
		e2e_setup_fail "GCM SA"
	"$IP" -n ns2 xfrm state add src 10.41.0.1 dst 10.41.0.2 proto esp \
		spi 0x200 mode transport $(e2e_algo cbc-sha256 1) ||
		e2e_setup_fail "CBC SA"
	"$IP" -n ns2 xfrm state add src 10.41.0.1 dst 10.41.0.2 proto ah \
		spi 0x300 mode transport auth-trunc 'hmac(sha256)' "$E2E_AUTH_KEY_1" 128 ||
		e2e_setup_fail "AH SA"
}

CRAFT_ERR=""
craft() { # spi seq kind
	ns ns1 espcraft 10.41.0.2 "$1" "$2" "$GCM_KEY" "$3" ||
		CRAFT_ERR="$CRAFT_ERR $1/$2/$3"
}

# counter_of SPI NAME: the value in ns2's /proc/net/espah
counter_of() { e2e_espah_counter ns2 "$1" "$2"; }

# check_sa SPI "name=value ...": every counter as expected
check_sa() {
	_bad=""
	for _c in $(ns ns2 cat /proc/net/espah | head -n 1 | cut -d' ' -f5-); do
		_want=0
		for _kv in $2; do [ "${_kv%%=*}" = "$_c" ] && _want=${_kv#*=}; done
		_got=$(counter_of "$1" "$_c")
		[ "$_got" = "$_want" ] || _bad="$_bad $_c=$_got(want $_want)"
	done
	if [ -z "$_bad" ]; then
		t_ok "counters of SA $1: $2"
	else
		t_fail "counters of SA $1" "wrong:$_bad"
	fi
}

diag() {
	ns ns2 cat /proc/net/espah
	ns ns2 "$IP" -s xfrm state
	ns ns2 cat /proc/net/xfrm_stat
}
e2e_case_begin counters diag 10 || t_finish
[ "$E2E_IMPL" = espah ] || { e2e_case_skip counters "espah's own counters ($E2E_IMPL under test)"; t_finish; exit 0; }
setup
e2e_setup_check counters || { t_finish; exit 1; }
log "sending crafted packets"
craft 0x100 1 good
craft 0x100 2 short
craft 0x100 3 short
craft 0x100 4 badicv
craft 0x100 5 badicv
craft 0x100 6 badicv
craft 0x100 7 badpad
craft 0x100 8 dummy
craft 0x200 1 unaligned
craft 0x200 2 unaligned
craft 0x300 1 ah-badlen
craft 0x300 2 ah-badicv
craft 0x300 3 ah-badicv
sleep 1
if [ -z "$CRAFT_ERR" ]; then t_ok "13 crafted packets sent (espcraft)"
else t_fail "13 crafted packets sent (espcraft)" "could not send:$CRAFT_ERR"; fi

check_sa 0x00000100 "$WANT_GCM"
check_sa 0x00000200 "$WANT_CBC"
check_sa 0x00000300 "$WANT_AH"
check_sa total "rx_truncated=2 rx_icv_mismatch=5 rx_bad_padding=1 rx_dummy=1 rx_bad_length=3"

_p=$(e2e_sa_field ns2 10.41.0.1 10.41.0.2 0x100 packets)
if [ "$_p" = 1 ]; then
	t_ok "the one good packet was accepted (SA packets=1)"
else
	t_fail "good packet accepted" "SA 0x100 packets=$_p, want 1"
fi

_f=$(ns ns2 "$IP" -s xfrm state get src 10.41.0.1 dst 10.41.0.2 proto esp spi 0x100 |
	sed -n 's/.*integrity-failed \([0-9]*\).*/\1/p; s/.* failed \([0-9]*\).*/\1/p' | head -n 1)
if [ "${_f:-?}" = 3 ]; then
	t_ok "the xfrm core counted the 3 ICV failures too (-EBADMSG)"
else
	t_fail "core integrity failures" "ip -s xfrm state shows '${_f:-?}', want 3"
fi

_j=$(ns ns2 espahstat --json --spi 0x100)
if echo "$_j" | grep -q '"rx_icv_mismatch": 3' &&
   echo "$_j" | grep -q '"spi": "0x00000100"' &&
   ! echo "$_j" | grep -q '0x00000200'; then
	t_ok "espahstat --json --spi 0x100 shows that SA only"
else
	t_fail "espahstat --json" "$_j"
fi
if ns ns2 espahstat | grep -q "rx_icv_mismatch"; then
	t_ok "espahstat table names the columns that moved"
else
	t_fail "espahstat table" "$(ns ns2 espahstat 2>&1)"
fi

# the root namespace saw none of it
if cat /proc/net/espah | awk '$1 == "total" { for (i = 5; i <= NF; i++) s += $i } END { exit s != 0 }'; then
	t_ok "counters are per namespace (init_net total is 0)"
else
	t_fail "per-namespace counters" "$(cat /proc/net/espah)"
fi
t_finish
