#!/bin/sh
# e2e-async.sh - ESP with asynchronous crypto: the -EINPROGRESS paths of
# input and output, resumed through xfrm_input_resume/xfrm_output_resume.
#
# usage: e2e-async.sh espah|intree [FILTER (default: transport)]
#
# 1. setup: which drivers a GCM and a CBC+HMAC-SHA256 SA get now is noted
#    (the baseline), then cryptd(...) wrappers of these transforms are
#    registered (through AF_ALG, helper algbind); they outrank the
#    synchronous implementations, so the SAs e2e-esp.sh then creates get
#    them and every packet completes asynchronously. cryptd only wraps
#    synchronous transforms, and the AES-NI ones are asynchronous (simd)
#    and outrank a cryptd of the generic code: they are unloaded and
#    blocked for the suite.
#    espah allocates the bare AEADs (it makes its own IVs), whose cryptd
#    wrappers fail the crypto manager's self-test: for espah the test
#    module espah_testcrypt (testmod/) takes over the AEADs instead and
#    completes every request asynchronously (async_every=1).
# 2. e2e-esp.sh's cases (v4 and v6, GCM and CBC+HMAC-SHA256, both
#    directions; transport mode: the tunnel cases add nothing asynchronous)
#    with E2E_ASYNC_CHECK=1: each case also checks that each of its 4 SAs
#    holds a cryptd (espah: espah_testcrypt) transform (the wrappers'
#    refcnt rises by exactly 4).
# 3. restore: every crypto instance the suite registered is unregistered
#    (helper cryptodel), AES-NI unblocked and reloaded as it was, and new
#    GCM and CBC SAs must get the baseline's drivers again: the suites after
#    this one (the scapy peer among them) run synchronously.
here=$(cd "$(dirname "$0")" && pwd)
E2E_SUITE=async
export E2E_SUITE
. "$here/lib.sh"

impl=${1:-espah}
filter=${2:-transport}
ASYNC_OWN=4     # checks of this script itself: setup 1, restore 3
AESNI_MODS="aesni_intel ghash_clmulni_intel"
CRYPTO_BEFORE=$E2E_TMP/async-crypto.before
BLOCK=/etc/modprobe.d/espah-async.conf

if [ "$E2E_PLAN_ONLY" = 1 ]; then
	_pl=$(E2E_ASYNC_CHECK=1 sh "$here/e2e-esp.sh" "$impl" "$filter")
	echo "1..$(( $(echo "$_pl" | sed -n 's/^1\.\.//p') + ASYNC_OWN ))"
	echo "$_pl" | grep '^# host-plan '
	exit 0
fi
e2e_plan "$@"
E2E_IMPL=$impl

# The AEADs a GCM and a CBC+HMAC-SHA256 SA ask the crypto API for: esp4/esp6
# put the IV generator around the transform, espah makes its own IVs and
# asks for the bare AEAD
if [ "$impl" = intree ]; then
	SA_AEADS="seqiv(rfc4106(gcm(aes))) echainiv(authenc(hmac(sha256),cbc(aes)))"
else
	SA_AEADS="rfc4106(gcm(aes)) authenc(hmac(sha256),cbc(aes))"
fi

# sa_drivers NAME: "AEAD driver" for each of SA_AEADS: the driver whose
# refcnt a GCM and a CBC+HMAC-SHA256 SA raise (namespace NAME, removed
# again). Other algorithms whose refcnt moves meanwhile (the RNGs the
# first SA of a boot instantiates) do not matter.
sa_drivers() {
	e2e_crypto_snap "$E2E_TMP/sa-drivers.snap"
	e2e_ns_add "$1"
	e2e_sa "$1" 10.11.0.1 10.11.0.2 0x7001 1 transport gcm128 1 &&
		e2e_sa "$1" 10.11.0.1 10.11.0.2 0x7002 2 transport cbc-sha256 1 &&
		e2e_crypto_rose "$E2E_TMP/sa-drivers.snap" >"$E2E_TMP/sa-drivers.rose"
	awk -v want="$SA_AEADS" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) top[w[i]] = 1 }
		NR == FNR { rose[$1] = 1; next }
		/^name/ { nm = $3 } /^driver/ && (nm in top) && ($3 in rose) { print nm, $3 }' \
		"$E2E_TMP/sa-drivers.rose" /proc/crypto | sort
	"$IP" -n "$1" xfrm state flush
	"$IP" netns del "$1"
	E2E_NETNS=""
	e2e_wait_states_freed
}

# crypto_instances: every template instance /proc/crypto lists (a driver
# name with parentheses), but the AES-NI drivers' cryptd(__...) helpers
crypto_instances() {
	awk '/^driver/ && $3 ~ /\(/ && $3 !~ /^cryptd\(__/ { print $3 }' /proc/crypto | sort -u
}

async_setup() {
	e2e_case_begin "async setup" "" 1 || return 0
	# e2e-esp.sh loads the implementation; the baseline needs it now
	e2e_load_impl "$impl" >/dev/null
	sa_drivers async-base >"$E2E_TMP/async-baseline"
	[ "$(wc -l <"$E2E_TMP/async-baseline")" = 2 ] ||
		log "baseline: expected one driver each for $SA_AEADS"
	log "baseline: the SAs get $(tr '\n' ' ' <"$E2E_TMP/async-baseline")"
	crypto_instances >"$CRYPTO_BEFORE"
	AESNI_WAS=""
	if [ "$impl" = espah ]; then
		if _why=$(e2e_testcrypt_async); then
			t_ok "async setup: espah_testcrypt completes every request of the SAs' AEADs asynchronously"
		else
			t_fail "async setup: espah_testcrypt loaded (async_every=1)" "$_why"
		fi
		return 0
	fi
	for m in $AESNI_MODS; do e2e_mod_loaded "$m" && AESNI_WAS="$AESNI_WAS $m"; done
	mkdir -p /etc/modprobe.d
	_why=""
	for m in $AESNI_MODS; do
		echo "install $m /bin/false" >>"$BLOCK"
		e2e_mod_loaded "$m" && ! rmmod "$m" 2>/dev/null && _why="$_why cannot unload $m;"
	done
	for m in af_alg algif_aead cryptd seqiv echainiv gcm ghash_generic aes_generic \
		ctr authenc cbc hmac sha256_generic crypto_user; do
		modprobe -q "$m" 2>/dev/null
	done
	# The bind itself may fail (AF_ALG will not hand out the instance),
	# but the template instance it made stays registered: that is what counts.
	for alg in $E2E_ASYNC_ALGS; do
		algbind aead "$alg" 2>/dev/null
		inner=${alg#cryptd(}
		awk -v want="${inner%)}" '/^name/ { n = $3 }
		     /^driver/ && $3 ~ /^cryptd\(/ && n == want { found = 1 }
		     END { exit !found }' /proc/crypto || _why="$_why no cryptd instance of $inner;"
	done
	if [ -z "$_why" ]; then
		t_ok "async setup: cryptd wrappers registered, AES-NI (${AESNI_WAS# }) unloaded and blocked"
	else
		t_fail "async setup: cryptd wrappers registered, AES-NI unloaded and blocked" "$_why"
	fi
}

# run_esp: e2e-esp.sh's cases, each SA checked for its cryptd transform;
# its checks are counted as this suite's
run_esp() {
	e2e_case_end
	_out=$E2E_TMP/async-esp.out
	E2E_ASYNC_CHECK=1 sh "$here/e2e-esp.sh" "$impl" "$filter" | tee "$_out"
	_p=$(grep -c '^ok ' "$_out")
	_s=$(grep -c '^ok .* # SKIP ' "$_out")
	_f=$(grep -c '^not ok ' "$_out")
	t_n=$((t_n + _p + _f)) t_pass=$((t_pass + _p - _s)) t_nskip=$((t_nskip + _s))
	t_nfail=$((t_nfail + _f))
}

async_restore() {
	e2e_case_begin "async restore" "" 3 || return 0
	e2e_cleanup_all
	e2e_wait_states_freed
	[ "$impl" = espah ] && e2e_testcrypt_unload
	modprobe -q crypto_user 2>/dev/null
	# unregister what the suite registered, outer instances first: retry
	# while that frees more (an instance in use by another is -EBUSY)
	_left=""
	_i=0
	while [ "$_i" -lt 8 ]; do
		_left=$(crypto_instances | comm -13 "$CRYPTO_BEFORE" -)
		[ -n "$_left" ] || break
		echo "$_left" | while read -r d; do cryptodel "$d" 2>/dev/null; done
		_i=$((_i + 1))
	done
	if [ -z "$_left" ]; then
		t_ok "async restore: every crypto instance the suite registered is unregistered again"
	else
		t_fail "async restore: every crypto instance the suite registered is unregistered again" \
			"still registered: $(echo "$_left" | tr '\n' ' ')"
	fi
	rm -f "$BLOCK"
	_why=""
	for m in $AESNI_WAS; do modprobe "$m" || _why="$_why modprobe $m failed;"; done
	for m in $AESNI_MODS; do
		case " $AESNI_WAS " in *" $m "*) e2e_mod_loaded "$m" || _why="$_why $m not loaded;" ;; esac
	done
	if [ -z "$_why" ]; then
		t_ok "async restore: AES-NI unblocked and loaded as before (${AESNI_WAS# })"
	else
		t_fail "async restore: AES-NI unblocked and loaded as before" "$_why"
	fi
	sa_drivers async-after >"$E2E_TMP/async-after"
	log "after: the SAs get $(tr '\n' ' ' <"$E2E_TMP/async-after")"
	if [ "$(wc -l <"$E2E_TMP/async-after")" = 2 ] &&
	   cmp -s "$E2E_TMP/async-baseline" "$E2E_TMP/async-after" &&
	   ! grep -q ' cryptd(' "$E2E_TMP/async-after"; then
		t_ok "async restore: new SAs get the synchronous drivers they got before the suite ($(cut -d' ' -f2 "$E2E_TMP/async-after" | tr '\n' ' '))"
	else
		t_fail "async restore: new SAs get the synchronous drivers they got before the suite" \
			"before: $(tr '\n' ' ' <"$E2E_TMP/async-baseline"); now: $(tr '\n' ' ' <"$E2E_TMP/async-after")"
	fi
}

async_setup
run_esp
async_restore
t_finish
