#!/bin/sh
# e2e-config.sh - the SA configuration matrix (issue 11 item 4): what the
# kernel's netlink checks (xfrm_user.c verify_newsa_info, __xfrm_init_state)
# let through to the ESP/AH type, and what the type does with it.
#
# usage: e2e-config.sh espah|intree [FILTER]
#
# Every row of the table below is one "ip xfrm state add" in a fresh netns,
# for IPv4 and/or IPv6, with the expected outcome:
#   ok     a valid configuration: accepted, the state is there (with its
#          line in /proc/net/espah), then deleted
#   core   refused by the xfrm core before the type sees it (no "espah:")
#   KEY    refused by espah with "Error: espah: <message for KEY>" (see
#          cfg_message), and nothing left behind: no state, no counter line
# With espah, the same table then runs against the in-tree esp4/esp6/
# ah4/ah6 in the same boot (espah unloaded, the in-tree modules loaded,
# then the other way round again): a valid row the in-tree accepts must
# be accepted by espah too; every other difference is printed as
#   # CONFIG-DIFF case=... espah=... intree=...
# (the in-tree results are informational; E2E_CONFIG_COMPARE=0 skips this
# second run, e.g. on the slow debug kernel). With intree, only the in-tree
# run: valid rows accepted, core rows refused, the rest reported.
# Finally the module that served the states is unused again.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_suite_args "$@"

CFG_NS=cfg
CFG_RESULTS=$E2E_TMP/config-results

# cfg_message KEY: the extack message espah gives for KEY
cfg_message() {
	case "$1" in
	needs-enc) echo "espah: ESP needs an AEAD or an encryption algorithm" ;;
	encap) echo "espah: only UDP encapsulation (espinudp, RFC 3948) is supported" ;;
	mode) echo "espah: unsupported mode (transport, tunnel and beet are)" ;;
	beet) echo "espah: BEET needs a selector of one address family" ;;
	aead-key) echo "espah: the AEAD rejected the key" ;;
	keys) echo "espah: the transform rejected the keys" ;;
	trunc) echo "espah: unsupported ICV truncation" ;;
	esp-crypto) echo "espah: the kernel cannot provide this ESP transform" ;;
	ah-encap) echo "espah: AH cannot be UDP-encapsulated" ;;
	ah-align4) echo "espah: IPv6 AH is always 8-octet aligned" ;;
	ah-key) echo "espah: the authentication algorithm rejected the key" ;;
	*) echo "unknown message key $1" ;;
	esac
}

# EXPECT NAME FAMILIES PROTO MODE WORDS... ; Kn = an n-byte key (K0: empty),
# ANY = the family's wildcard address, SEL4/SEL6 = a selector of that
# family, NL = sent by scripts/helpers/xfrmsa.c (iproute2 refuses it, or
# rewrites it, before the kernel sees it). A truncation of 0 bits is the
# algorithm's default truncation (xfrm_user.c attach_auth_trunc).
cfg_table() {
	# first: no earlier row may have made authencesn resident
	cat <<-'EOF'
	esp-crypto esp-esn-authencesn-missing 4 esp transport enc cbc(aes) K16 auth-trunc hmac(sha256) K32 128 flag esn NOESN
	ok esp-gcm128-icv64 46 esp transport aead rfc4106(gcm(aes)) K20 64
	ok esp-gcm128-icv96 46 esp transport aead rfc4106(gcm(aes)) K20 96
	ok esp-gcm128-icv128 46 esp transport aead rfc4106(gcm(aes)) K20 128
	ok esp-gcm192 46 esp transport aead rfc4106(gcm(aes)) K28 128
	ok esp-gcm256 46 esp transport aead rfc4106(gcm(aes)) K36 128
	ok esp-ccm128 46 esp transport aead rfc4309(ccm(aes)) K19 128
	ok esp-ccm-icv64 46 esp transport aead rfc4309(ccm(aes)) K19 64
	ok esp-gmac 46 esp transport aead rfc4543(gcm(aes)) K20 128
	ok esp-chacha20poly1305 46 esp transport aead rfc7539esp(chacha20,poly1305) K36 128
	ok esp-cbc128-sha256 46 esp transport enc cbc(aes) K16 auth-trunc hmac(sha256) K32 128
	ok esp-cbc192-sha384 46 esp transport enc cbc(aes) K24 auth-trunc hmac(sha384) K48 192
	ok esp-cbc256-sha512 46 esp transport enc cbc(aes) K32 auth-trunc hmac(sha512) K64 256
	ok esp-cbc-sha256-default 46 esp transport enc cbc(aes) K16 auth hmac(sha256) K32
	ok esp-cbc-sha256-full 46 esp transport enc cbc(aes) K16 auth-trunc hmac(sha256) K32 256
	ok esp-cbc-sha1 46 esp transport enc cbc(aes) K16 auth hmac(sha1) K20
	ok esp-cbc-md5 46 esp transport enc cbc(aes) K16 auth hmac(md5) K16
	ok esp-cbc-rmd160 46 esp transport enc cbc(aes) K16 auth hmac(rmd160) K20
	ok esp-cbc-xcbc 46 esp transport enc cbc(aes) K16 auth xcbc(aes) K16
	ok esp-cbc-cmac 46 esp transport enc cbc(aes) K16 auth cmac(aes) K16
	ok esp-cbc-digest-null 46 esp transport enc cbc(aes) K16 auth digest_null K0
	ok esp-ctr-sha1 46 esp transport enc rfc3686(ctr(aes)) K20 auth hmac(sha1) K20
	ok esp-3des-md5 46 esp transport enc cbc(des3_ede) K24 auth hmac(md5) K16
	ok esp-des-sha1 46 esp transport enc cbc(des) K8 auth hmac(sha1) K20
	ok esp-cast5 4 esp transport enc cbc(cast5) K16 auth hmac(sha1) K20
	ok esp-blowfish 4 esp transport enc cbc(blowfish) K16 auth hmac(sha1) K20
	ok esp-serpent 4 esp transport enc cbc(serpent) K16 auth hmac(sha1) K20
	ok esp-camellia 4 esp transport enc cbc(camellia) K16 auth hmac(sha1) K20
	ok esp-twofish 4 esp transport enc cbc(twofish) K16 auth hmac(sha1) K20
	ok esp-enc-only 46 esp transport enc cbc(aes) K16
	ok esp-null-sha256 46 esp transport enc ecb(cipher_null) K0 auth-trunc hmac(sha256) K32 128
	ok esp-null-null 4 esp transport enc ecb(cipher_null) K0
	ok esp-gcm-esn 46 esp transport aead rfc4106(gcm(aes)) K20 128 flag esn
	ok esp-cbc-sha256-esn 46 esp transport enc cbc(aes) K16 auth-trunc hmac(sha256) K32 128 flag esn
	ok esp-enc-only-esn 4 esp transport enc cbc(aes) K16 flag esn
	ok esp-gcm-tunnel 46 esp tunnel aead rfc4106(gcm(aes)) K20 128
	ok esp-gcm-tunnel-af-unspec 46 esp tunnel aead rfc4106(gcm(aes)) K20 128 flag af-unspec
	ok esp-gcm-tunnel-tfcpad 46 esp tunnel aead rfc4106(gcm(aes)) K20 128 tfcpad 1000
	ok esp-gcm-beet 46 esp beet aead rfc4106(gcm(aes)) K20 128
	ok esp-gcm-beet-4in6 6 esp beet aead rfc4106(gcm(aes)) K20 128 SEL4
	ok esp-gcm-beet-6in4 4 esp beet aead rfc4106(gcm(aes)) K20 128 SEL6
	ok esp-gcm-encap 46 esp transport aead rfc4106(gcm(aes)) K20 128 encap espinudp 4500 4500 ANY
	ok esp-cbc-encap-tunnel 46 esp tunnel enc cbc(aes) K16 auth-trunc hmac(sha256) K32 128 encap espinudp 4500 4500 ANY
	ok esp-gcm-align4 46 esp transport aead rfc4106(gcm(aes)) K20 128 flag align4
	ok ah-sha256-128 46 ah transport auth-trunc hmac(sha256) K32 128
	ok ah-sha256-default 46 ah transport auth hmac(sha256) K32
	ok ah-sha1 46 ah transport auth hmac(sha1) K20
	ok ah-md5 46 ah transport auth hmac(md5) K16
	ok ah-sha384 46 ah transport auth-trunc hmac(sha384) K48 192
	ok ah-sha512 46 ah transport auth-trunc hmac(sha512) K64 256
	ok ah-rmd160 46 ah transport auth hmac(rmd160) K20
	ok ah-xcbc 46 ah transport auth xcbc(aes) K16
	ok ah-cmac 46 ah transport auth cmac(aes) K16
	ok ah-digest-null 46 ah transport auth digest_null K0
	ok ah-align4 4 ah transport auth-trunc hmac(sha256) K32 128 flag align4
	ok ah-esn 46 ah transport auth-trunc hmac(sha256) K32 128 flag esn
	ok ah-tunnel 46 ah tunnel auth-trunc hmac(sha256) K32 128
	ok ah-tunnel-af-unspec 46 ah tunnel auth-trunc hmac(sha256) K32 128 flag af-unspec
	ok ah-beet 46 ah beet auth-trunc hmac(sha256) K32 128 NL
	ok esp-trunc-zero-is-default 46 esp transport enc cbc(aes) K16 auth-trunc hmac(sha256) K32 0 NL
	ok ah-trunc-zero-is-default 46 ah transport auth-trunc hmac(sha256) K32 0 NL
	needs-enc esp-auth-only 46 esp transport auth-trunc hmac(sha256) K32 128 NL
	needs-enc esp-auth-only-esn 4 esp transport auth hmac(sha1) K20 flag esn NL
	encap esp-encap-nonike 46 esp transport aead rfc4106(gcm(aes)) K20 128 encap espinudp-nonike 4500 4500 ANY
	encap esp-encap-espintcp 46 esp transport aead rfc4106(gcm(aes)) K20 128 encap espintcp 4500 4500 ANY
	mode esp-mode-ro 6 esp ro aead rfc4106(gcm(aes)) K20 128 NL
	beet esp-beet-af-unspec 46 esp beet aead rfc4106(gcm(aes)) K20 128 flag af-unspec
	aead-key esp-gcm-key-short 46 esp transport aead rfc4106(gcm(aes)) K18 128
	aead-key esp-gcm-key-salt-only 4 esp transport aead rfc4106(gcm(aes)) K3 128
	aead-key esp-chacha-key-short 4 esp transport aead rfc7539esp(chacha20,poly1305) K20 128
	keys esp-cbc-key-short 46 esp transport enc cbc(aes) K15 auth-trunc hmac(sha256) K32 128
	keys esp-3des-weak-len 4 esp transport enc cbc(des3_ede) K16 auth hmac(sha1) K20
	keys esp-xcbc-key-short 4 esp transport enc cbc(aes) K16 auth xcbc(aes) K15
	trunc esp-trunc-not-octets 46 esp transport enc cbc(aes) K16 auth-trunc hmac(sha256) K32 100 NL
	ah-encap ah-encap 46 ah transport auth-trunc hmac(sha256) K32 128 encap espinudp 4500 4500 ANY
	ah-align4 ah6-align4 6 ah transport auth-trunc hmac(sha256) K32 128 flag align4
	trunc ah-trunc-not-octets 46 ah transport auth-trunc hmac(sha256) K32 100 NL
	mode ah-mode-ro 6 ah ro auth-trunc hmac(sha256) K32 128 NL
	beet ah-beet-af-unspec 46 ah beet auth-trunc hmac(sha256) K32 128 flag af-unspec NL
	ah-key ah-xcbc-key-short 46 ah transport auth xcbc(aes) K15
	core esp-aead-and-enc 4 esp transport aead rfc4106(gcm(aes)) K20 128 enc cbc(aes) K16
	core esp-tfcpad-transport 4 esp transport aead rfc4106(gcm(aes)) K20 128 tfcpad 1000
	core esp-gcm-icv100 4 esp transport aead rfc4106(gcm(aes)) K20 100
	core esp-unknown-cipher 4 esp transport enc cbc(sm4) K16 auth hmac(sha1) K20
	core esp-trunc-too-long 4 esp transport enc cbc(aes) K16 auth-trunc hmac(sha256) K32 512
	core esp-mode-ro-v4 4 esp ro aead rfc4106(gcm(aes)) K20 128 NL
	core esp-transport-cross-family 4 esp transport aead rfc4106(gcm(aes)) K20 128 SEL6
	core ah-enc 4 ah transport enc cbc(aes) K16 auth hmac(sha1) K20 NL
	core ah-aead 4 ah transport aead rfc4106(gcm(aes)) K20 128 NL
	core ah-unknown-hash 4 ah transport auth hmac(sm3) K32
	EOF
}

# cfg_add FAMILY SPI PROTO MODE WORDS...: the "ip xfrm state add", its
# stderr in $cfg_err; returns ip's status
cfg_add() {
	_f=$1 _spi=$2 _proto=$3 _mode=$4
	shift 4
	if [ "$_f" = 4 ]; then _src=10.61.0.1 _dst=10.61.0.2 _any=0.0.0.0
	else _src=fd00:61::1 _dst=fd00:61::2 _any=::; fi
	_words="$*"
	set --
	for _w in $_words; do
		case "$_w" in
		K0) set -- "$@" "" ;;
		K[0-9]*) set -- "$@" "$(e2e_hexkey "${_w#K}" 7)" ;;
		ANY) set -- "$@" "$_any" ;;
		SEL4) set -- "$@" sel src 10.62.0.1 dst 10.62.0.2 ;;
		SEL6) set -- "$@" sel src fd00:62::1 dst fd00:62::2 ;;
		NOESN | NL) ;;
		*) set -- "$@" "$_w" ;;
		esac
	done
	_tool="$IP -n $CFG_NS xfrm state add"
	case " $_words " in *" NL "*) _tool="$IP netns exec $CFG_NS xfrmsa" ;; esac
	# shellcheck disable=SC2086  # the tool's words are split on purpose
	cfg_err=$($_tool src "$_src" dst "$_dst" proto "$_proto" spi "$_spi" \
		mode "$_mode" replay-window 64 "$@" 2>&1)
}

# cfg_state_there FAMILY SPI PROTO: the state exists
cfg_state_there() {
	if [ "$1" = 4 ]; then _d=10.61.0.2 _s=10.61.0.1; else _d=fd00:61::2 _s=fd00:61::1; fi
	"$IP" -n "$CFG_NS" xfrm state get src "$_s" dst "$_d" proto "$3" spi "$2" >/dev/null 2>&1
}

# cfg_counter_line SPI: espah's /proc/net/espah line for the SPI (espah only)
cfg_counter_line() {
	[ "$E2E_IMPL" = espah ] || return 1
	ns "$CFG_NS" cat /proc/net/espah 2>/dev/null | awk -v s="$1" '$3 == s' | grep -q .
}

# authencesn unavailable for the rows marked NOESN (Debian: a module; the
# debug kernel has it built in, so the row is skipped there)
cfg_block_authencesn() {
	[ -d /sys/module/authencesn ] && ! rmmod authencesn 2>/dev/null && return 1
	grep -q 'authencesn' /proc/crypto && return 1
	echo "install authencesn /bin/false" >/etc/modprobe.d/espah-cfg-noesn.conf
}

cfg_unblock_authencesn() { rm -f /etc/modprobe.d/espah-cfg-noesn.conf; }

# cfg_run_row IMPL EXPECT NAME FAMILY PROTO MODE WORDS...: one row, one
# family; records "NAME-vF IMPL accepted|refused MESSAGE" in $CFG_RESULTS
cfg_run_row() {
	_impl=$1 _exp=$2 _rname=$3-v$4 _fam=$4 _proto=$5 _mode=$6
	shift 6
	cfg_spi=$((cfg_spi + 1))
	_spi=$(printf '0x%08x' "$cfg_spi")
	_noesn=0
	case " $* " in *" NOESN "*)
		_noesn=1
		if ! cfg_block_authencesn; then
			[ "$_impl" = "$E2E_IMPL" ] && t_skip "$_rname" "authencesn is resident (built in, or used before): it cannot be made unavailable"
			return 0
		fi ;;
	esac
	cfg_add "$_fam" "$_spi" "$_proto" "$_mode" "$@"
	_rc=$?
	[ "$_noesn" = 1 ] && cfg_unblock_authencesn
	_msg=$(echo "$cfg_err" | head -n 1)
	if [ "$_rc" = 0 ]; then _res=accepted; else _res=refused; fi
	echo "$_rname $_impl $_res $_msg" >>"$CFG_RESULTS"
	_there=0
	cfg_state_there "$_fam" "$_spi" "$_proto" && _there=1
	_line=0
	cfg_counter_line "$_spi" && _line=1
	[ "$_rc" = 0 ] && "$IP" -n "$CFG_NS" xfrm state deleteall proto "$_proto" spi "$_spi" 2>/dev/null
	[ "$_impl" = "$E2E_IMPL" ] || return 0
	if [ "$_rc" != 0 ] && ! echo "$cfg_err" | grep -q -e '^Error: ' -e '^RTNETLINK answers' -e '^error [0-9]'; then
		t_fail "$_rname: reaches the kernel" "iproute2 refused it itself ($_msg): mark the row NL"
		return 0
	fi
	cfg_judge "$_rname" "$_exp" "$_rc" "$_there" "$_line" "$_msg"
}

# cfg_judge NAME EXPECT RC THERE COUNTERLINE MESSAGE: the row's verdict for
# the implementation under test
cfg_judge() {
	case "$2" in
	ok)
		if [ "$3" = 0 ] && [ "$4" = 1 ]; then
			if [ "$E2E_IMPL" = espah ] && [ "$5" = 0 ]; then
				t_fail "$1: accepted" "the state has no line in /proc/net/espah"
			else t_ok "$1: accepted"; fi
		elif [ "$E2E_IMPL" = espah ]; then
			# judged against the in-tree result once that ran
			echo "$1" >>"$CFG_RESULTS.refused-valid"
			t_ok "$1: refused by espah: $6 (compared with the in-tree stack below)"
		else
			t_fail "$1: accepted" "rc $3, state there=$4: $6"
		fi ;;
	core)
		if [ "$3" != 0 ] && [ "$4" = 0 ] && ! echo "$6" | grep -q espah; then
			t_ok "$1: refused by the xfrm core: $6"
		else
			t_fail "$1: refused by the xfrm core" "rc $3, state there=$4: $6"
		fi ;;
	*)
		if [ "$E2E_IMPL" != espah ]; then
			if [ "$3" = 0 ]; then t_ok "$1: [informational for intree: accepted]"
			else t_ok "$1: [informational for intree: refused: $6]"; fi
			return
		fi
		_want=$(cfg_message "$2")
		if [ "$3" != 0 ] && [ "$4" = 0 ] && [ "$5" = 0 ] &&
		   echo "$6" | grep -qF "$_want"; then
			t_ok "$1: refused: $6"
		elif [ "$3" = 0 ]; then
			t_fail "$1: refused with '$_want'" "accepted"
		else
			t_fail "$1: refused with '$_want', nothing left" "rc $3, state there=$4, counter line=$5: $6"
		fi ;;
	esac
}

# cfg_run_table IMPL: every row for its families (not in a pipe: the
# loop must count the results in this shell)
cfg_run_table() {
	cfg_table >"$E2E_TMP/config-table"
	while read -r ct_exp ct_name ct_fams ct_proto ct_mode ct_rest; do
		for ct_f in 4 6; do
			case "$ct_fams" in *"$ct_f"*) ;; *) continue ;; esac
			case "$ct_name-v$ct_f" in *"$filter"*) ;; *) continue ;; esac
			# shellcheck disable=SC2086  # the words are split on purpose
			cfg_run_row "$1" "$ct_exp" "$ct_name" "$ct_f" "$ct_proto" "$ct_mode" $ct_rest
		done
	done <"$E2E_TMP/config-table"
}

# cfg_swap FROM TO: unload one implementation, load the other
cfg_swap() {
	"$IP" -n "$CFG_NS" xfrm state flush
	if [ "$1" = espah ]; then
		e2e_mod_wait_unused espah 30 && rmmod espah || return 1
		rm -f /etc/modprobe.d/espah-e2e.conf
		for _m in esp4 esp6 ah4 ah6; do modprobe "$_m" || return 1; done
	else
		for _m in ah6 ah4 esp6 esp4 esp4_offload esp6_offload; do
			e2e_mod_loaded "$_m" || continue
			e2e_mod_wait_unused "$_m" 30 && rmmod "$_m" || return 1
		done
		e2e_load_impl espah >/dev/null
	fi
}

cfg_compare() {
	awk '$2 == "espah" { e[$1] = $3; em[$1] = $0 } $2 == "intree" { i[$1] = $3; im[$1] = $0 }
	     END { for (c in e) if ((c in i) && e[c] != i[c]) {
			sub(/^[^ ]* [^ ]* /, "", em[c]); sub(/^[^ ]* [^ ]* /, "", im[c]);
			printf "# CONFIG-DIFF case=%s espah=%s intree=%s\n", c, em[c], im[c] } }' \
		"$CFG_RESULTS" | sort
}

: >"$CFG_RESULTS"
: >"$CFG_RESULTS.refused-valid"
cfg_spi=$((0x7000))
e2e_case_begin "config matrix ($E2E_IMPL)" ""
e2e_ns_add "$CFG_NS"
e2e_setup_check "config netns" || { t_finish; exit 1; }
cfg_run_table "$E2E_IMPL"

if [ "$E2E_IMPL" = espah ] && [ "${E2E_CONFIG_COMPARE:-1}" = 1 ]; then
	log "the same table against the in-tree esp4/esp6/ah4/ah6"
	if cfg_swap espah intree; then
		E2E_IMPL_SAVED=espah
		cfg_run_table intree
		if cfg_swap intree espah; then
			t_ok "in-tree comparison ran (espah unloaded and loaded again)"
		else
			t_fail "in-tree comparison" "could not load espah again: later suites in this boot will fail"
		fi
		E2E_IMPL=$E2E_IMPL_SAVED
	else
		t_fail "in-tree comparison" "could not swap espah for the in-tree modules: $(cat /proc/modules | grep -E '^(espah|esp4|esp6|ah4|ah6) ')"
	fi
	# a valid row espah refused must be one the in-tree refuses too
	while read -r _c; do
		_i=$(awk -v c="$_c" '$1 == c && $2 == "intree" { print $3 }' "$CFG_RESULTS")
		if [ "$_i" = accepted ]; then
			t_fail "$_c: espah accepts what the in-tree accepts" "$(awk -v c="$_c" '$1 == c && $2 == "espah"' "$CFG_RESULTS")"
		else
			t_ok "$_c: refused by espah and by the in-tree stack ($_i)"
		fi
	done <"$CFG_RESULTS.refused-valid"
fi
echo "# ---- configuration matrix: where espah and the in-tree stack differ"
cfg_compare

"$IP" -n "$CFG_NS" xfrm state flush
_mod=espah
[ "$E2E_IMPL" = intree ] && _mod=esp4
if e2e_mod_wait_unused "$_mod" 30; then
	t_ok "every refused or deleted state released $_mod (refcount 0)"
else
	t_fail "states released $_mod" "refcount $(e2e_mod_refcnt "$_mod") after the flush"
fi
t_finish
