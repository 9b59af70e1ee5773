# shellcheck shell=sh
# lib.sh - shared helpers for the espah end-to-end guest tests.
#
# Sourced by e2e-esp.sh / e2e-gateway.sh inside the QEMU guest (busybox sh,
# POSIX only).  Provides:
#   - TAP-like reporting:  t_ok / t_fail / t_skip / t_check / t_finish
#     ("ok N - name", "not ok N - name # reason", "N passed, N failed[, N skipped]")
#   - implementation loading:  e2e_load_impl espah|intree
#   - netns / veth / xfrm helpers, tcpdump capture + pcap counting,
#     SA counters, /proc/net/xfrm_stat snapshots and diffs,
#     a deterministic ~4 MiB payload with an embedded plaintext marker and a
#     socat TCP transfer checked by sha256.
#
# All traffic stays inside guest network namespaces joined by veth pairs,
# with 10.x / fd00:: addresses that exist only there.

IP=${IP:-/usr/sbin/ip}
E2E_TMP=${E2E_TMP:-/tmp/espah-e2e}
E2E_IMPL=${E2E_IMPL:-}
ESPAH_KO=${ESPAH_KO:-/espah/espah.ko}
# Plaintext marker embedded in the TCP payload; must never be seen on an ESP link.
E2E_MARKER=${E2E_MARKER:-ESPAH-E2E-PLAINTEXT-MARKER-0123456789}
E2E_PAYLOAD_CHUNKS=${E2E_PAYLOAD_CHUNKS:-8}     # 8 x 512 KiB random + markers
E2E_TCP_TIMEOUT=${E2E_TCP_TIMEOUT:-240}
E2E_PORT=${E2E_PORT:-5001}
# > 32 makes iproute2 send XFRMA_REPLAY_ESN_VAL (bitmap replay, no ESN flag).
# Async crypto (cryptd behind aesni) reorders packets; a 32 window drops some.
E2E_REPLAY_WINDOW=${E2E_REPLAY_WINDOW:-128}

t_n=0
t_pass=0
t_nfail=0
t_nskip=0
t_start=$(date +%s)
E2E_BGPIDS=""
E2E_NETNS=""
E2E_DIAG_FN=""          # set by a test to a function printing case diagnostics
e2e_diag_done=0

mkdir -p "$E2E_TMP"

# ---------------------------------------------------------------- reporting

log() { echo "# [$(( $(date +%s) - t_start ))s] $*"; }

t_ok() {
	t_n=$((t_n + 1)); t_pass=$((t_pass + 1))
	echo "ok $t_n - $1"
}

# t_fail NAME REASON: report a failure and (once per case) the diagnostics
t_fail() {
	t_n=$((t_n + 1)); t_nfail=$((t_nfail + 1))
	echo "not ok $t_n - $1 # $2"
	if [ -n "$E2E_DIAG_FN" ]; then
		if [ "$e2e_diag_done" = 0 ]; then
			e2e_diag_done=1
			echo "# ---- diagnostics for this case (look here) ----"
			"$E2E_DIAG_FN" 2>&1 | sed 's/^/#   /'
			echo "# ---- end of diagnostics ----"
		else
			echo "#   (diagnostics for this case printed above)"
		fi
	fi
}

# t_not_run NAME REASON: a planned check that did not run (a failure,
# without diagnostics: whatever stopped the case printed them)
t_not_run() {
	t_n=$((t_n + 1)); t_nfail=$((t_nfail + 1))
	echo "not ok $t_n - $1 # did not run: $2"
}

t_skip() {
	t_n=$((t_n + 1)); t_nskip=$((t_nskip + 1))
	echo "ok $t_n - $1 # SKIP $2"
}

# t_known_fail NAME REASON: a check that fails because of a known, reported
# bug (REASON names it and where it is); TAP's TODO directive: printed as
# "not ok", counted with the skipped checks, not with the failures
t_known_fail() {
	t_n=$((t_n + 1)); t_nskip=$((t_nskip + 1))
	echo "not ok $t_n - $1 # TODO known failure: $2"
}

# t_check NAME CMD...: ok if CMD succeeds; otherwise fail with its last output line
t_check() {
	_name=$1; shift
	if _out=$("$@" 2>&1); then
		t_ok "$_name"
	else
		t_fail "$_name" "$(echo "$_out" | tail -n 1)"
	fi
}

# Setup steps inside a case do not abort the run: the first error is kept in
# E2E_SETUP_ERR and the case reports "not ok ... setup" via e2e_setup_check.
E2E_SETUP_ERR=""
e2e_setup_fail() {
	echo "# setup error: $*"
	[ -n "$E2E_SETUP_ERR" ] || E2E_SETUP_ERR=$*
	return 1
}

# e2e_setup_check NAME: report a failed case setup; returns 1 if it failed
e2e_setup_check() {
	[ -z "$E2E_SETUP_ERR" ] && return 0
	t_fail "$1: setup" "$E2E_SETUP_ERR"
	e2e_cleanup_all
	return 1
}

# ---------------------------------------------------------------- plans
#
# Every check belongs to a case, and every case says up front how many it
# makes: e2e_case_begin NAME DIAG CHECKS [HOST_CHECKS], where HOST_CHECKS
# are the checks the host's decoder (scripts/wire-check.py) makes on what
# the case exports with e2e_wire_export. Run with E2E_PLAN_ONLY=1, a suite
# only adds these up (e2e_case_begin returns 1, so the case returns at once;
# e2e_load_impl and e2e_make_payload do nothing) and prints "1..N" and
# "# host-plan H". e2e-all.sh collects every suite's plan before the first
# suite runs, so that the host can count each check of a guest that died as
# failed. A case that ends with fewer checks than it planned (setup failure,
# early return) reports each missing one as "not ok ... did not run"; one
# that makes more fails its plan, so plans stay true.
E2E_PLAN_ONLY=${E2E_PLAN_ONLY:-0}
E2E_SUITE=${E2E_SUITE:-$(basename "$0" .sh | sed 's/^e2e-//')}
E2E_PLAN=""
e2e_plan_n=0
e2e_plan_host=0
e2e_case_name=""
e2e_case_want=""
e2e_case_host=0
e2e_case_n0=0

# e2e_plan ARGS...: print the suite's plan (the suite run with its own
# arguments in plan mode); call right after sourcing lib.sh with "$@"
e2e_plan() {
	[ "$E2E_PLAN_ONLY" = 1 ] && return 0
	_pl=$(E2E_PLAN_ONLY=1 sh "$0" "$@" 2>/dev/null)
	E2E_PLAN=$(echo "$_pl" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | tail -n 1)
	echo "1..${E2E_PLAN:-0}"
	echo "$_pl" | grep '^# host-plan ' | tail -n 1
}

# e2e_suite_start ARGS...: how a suite taking "espah|intree [FILTER]"
# starts: its plan, $impl and $filter set, the implementation loaded, the
# payload made
e2e_suite_start() {
	e2e_plan "$@"
	e2e_suite_args "$@"
	e2e_make_payload
}

# e2e_suite_args ARGS...: $impl and $filter from "espah|intree [FILTER]",
# the implementation loaded (for a suite without a plan or payload)
e2e_suite_args() {
	impl=${1:-}
	filter=${2:-}
	[ -n "$impl" ] || { echo "usage: $0 espah|intree [FILTER]"; exit 2; }
	e2e_load_impl "$impl"
}

# start a new test case: close the last one, reset per-case state;
# returns 1 in plan mode (the caller returns)
e2e_case_begin() {
	if [ "$E2E_PLAN_ONLY" = 1 ]; then
		e2e_plan_n=$((e2e_plan_n + ${3:-0}))
		e2e_plan_host=$((e2e_plan_host + ${4:-0}))
		return 1
	fi
	e2e_case_end
	e2e_case_name=$1 e2e_case_want=${3:-} e2e_case_host=${4:-0} e2e_case_n0=$t_n
	e2e_diag_done=0
	E2E_SETUP_ERR=""
	E2E_DIAG_FN=${2:-}
	E2E_CAP_DONE="" E2E_CAP_BAD=""
	log "=== case: $1"
	return 0
}

# e2e_case_end: every planned check of the case that did not run fails
e2e_case_end() {
	[ -n "$e2e_case_name" ] || return 0
	_cn=$e2e_case_name
	e2e_case_name=""
	[ -n "$e2e_case_want" ] || return 0
	_k=$((t_n - e2e_case_n0))
	if [ "$_k" -gt "$e2e_case_want" ]; then
		t_fail "$_cn: plan" "the case made $_k checks but plans $e2e_case_want: fix its plan"
	fi
	while [ "$_k" -lt "$e2e_case_want" ]; do
		_k=$((_k + 1))
		t_not_run "$_cn: check $_k of $e2e_case_want" "${E2E_SETUP_ERR:-the case stopped early}"
	done
}

# e2e_case_skip NAME REASON: skip the rest of the case (each planned check
# that has not run yet is reported skipped, the host's too)
e2e_case_skip() {
	[ "$e2e_case_host" -gt 0 ] && e2e_wire_skip "$e2e_case_name" "$e2e_case_host" "$2"
	_k=$((t_n - e2e_case_n0))
	[ -n "$e2e_case_want" ] || { t_skip "$1" "$2"; return; }
	while [ "$_k" -lt "$e2e_case_want" ]; do
		_k=$((_k + 1))
		t_skip "$1 ($_k of $e2e_case_want)" "$2"
	done
}

t_finish() {
	if [ "$E2E_PLAN_ONLY" = 1 ]; then
		echo "1..$e2e_plan_n"
		echo "# host-plan $e2e_plan_host"
		exit 0
	fi
	e2e_case_end
	e2e_cleanup_all
	if [ -n "$E2E_PLAN" ]; then
		[ "$t_n" -gt "$E2E_PLAN" ] &&
			t_fail "plan" "the suite made $t_n checks, its plan says $E2E_PLAN"
		while [ "$t_n" -lt "$E2E_PLAN" ]; do
			t_not_run "planned check $((t_n + 1)) of $E2E_PLAN" "the suite stopped early"
		done
	fi
	_s="$t_pass passed, $t_nfail failed"
	[ "$t_nskip" -gt 0 ] && _s="$_s, $t_nskip skipped"
	log "total time $(( $(date +%s) - t_start ))s"
	echo "$_s"
	[ "$t_nfail" -eq 0 ]
}

die() {
	echo "not ok $((t_n + 1)) - setup # $*"
	t_nfail=$((t_nfail + 1)); t_n=$((t_n + 1))
	t_finish
	exit 1
}

# ---------------------------------------------------------------- implementation

e2e_mod_loaded() { grep -q "^$1 " /proc/modules 2>/dev/null; }
e2e_mod_refcnt() { awk -v m="$1" '$1 == m { print $3 }' /proc/modules; }

# best-effort load of generic helpers (built-in on some kernels: ignore errors)
e2e_load_helpers() {
	for _m in veth xfrm_user xfrm_algo authenc gcm ghash_generic ghash-clmulni-intel \
		aes_generic aesni_intel cbc hmac sha256_generic sha256_ssse3 cryptd; do
		modprobe -q "$_m" >/dev/null 2>&1 || true
	done
}

# e2e_mod_wait_unused MODULE SECS: until nothing holds MODULE (a flush
# leaves the states to a worker that frees them, and drops their module
# references, later); false if still in use after SECS. An unloaded
# module is unused.
e2e_mod_wait_unused() {
	_wi=0
	while e2e_mod_loaded "$1" && [ "$(e2e_mod_refcnt "$1")" != 0 ]; do
		[ "$_wi" -ge $(($2 * 5)) ] && return 1
		sleep 0.2
		_wi=$((_wi + 1))
	done
}

# e2e_load_impl espah|intree
e2e_load_impl() {
	E2E_IMPL=$1
	[ "$E2E_PLAN_ONLY" = 1 ] && return 0
	mkdir -p /var/run/netns /run /etc/modprobe.d 2>/dev/null
	case "$1" in
	espah)
		# the in-tree ESP/AH must not be there, nor be auto-loaded behind our back
		# (xfrm_get_type() request_module()s "xfrm-type-<family>-<proto>")
		cat >/etc/modprobe.d/espah-e2e.conf <<-EOF
		blacklist esp4
		blacklist esp6
		blacklist ah4
		blacklist ah6
		install esp4 /bin/false
		install esp6 /bin/false
		install ah4 /bin/false
		install ah6 /bin/false
		EOF
		for _m in esp4 esp6 ah4 ah6; do
			if e2e_mod_loaded "$_m"; then
				log "$_m is loaded, removing it"
				rmmod "$_m" || die "cannot unload in-tree $_m"
			elif [ -d "/sys/module/$_m" ]; then
				die "in-tree $_m is built into this kernel: espah cannot replace it"
			fi
		done
		e2e_load_helpers
		if e2e_mod_loaded espah; then
			log "espah already loaded"
		else
			[ -f "$ESPAH_KO" ] || die "$ESPAH_KO not found"
			insmod "$ESPAH_KO" || die "insmod $ESPAH_KO failed (see dmesg)"
		fi
		;;
	intree)
		rm -f /etc/modprobe.d/espah-e2e.conf
		e2e_mod_loaded espah && die "espah is loaded; intree mode needs it absent"
		e2e_load_helpers
		modprobe esp4 || die "modprobe esp4 failed"
		modprobe esp6 || die "modprobe esp6 failed"
		;;
	*) die "unknown implementation '$1' (espah|intree)" ;;
	esac
	log "impl=$E2E_IMPL kernel=$(uname -r) modules: $(awk '$1 ~ /^(espah|esp4|esp6|ah4|ah6|xfrm_user)$/ {printf "%s(ref %s) ", $1, $3}' /proc/modules)"
}

# e2e_check_impl_in_use NAME FAMILY [PROTO]: while SAs exist, the right
# module must hold references (xfrm_get_type() takes one per state) and, for
# espah, no in-tree ESP/AH module may have appeared.
e2e_check_impl_in_use() {
	_name=$1 _fam=$2 _proto=${3:-esp}
	if [ "$E2E_IMPL" = espah ]; then
		_mod=espah
		for _m in esp4 esp6 ah4 ah6; do
			if e2e_mod_loaded "$_m"; then
				t_fail "$_name" "in-tree $_m got loaded: the SAs may not be using espah"
				return
			fi
		done
	else _mod=$_proto$_fam; fi
	_ref=$(e2e_mod_refcnt "$_mod")
	if [ -n "$_ref" ] && [ "$_ref" -gt 0 ]; then
		t_ok "$_name"
		log "$_mod refcount $_ref"
	else
		t_fail "$_name" "$_mod refcount '${_ref:-absent}' with SAs installed: states are not bound to $_mod"
	fi
}

# e2e_wait_states_freed: wait (at most 10 s) until the implementation's
# modules hold no SA: "ip xfrm state flush" (and deleting a netns) only
# unlinks the states; a worker (xfrm_state_gc_task) frees them, and with
# them their module references and crypto transforms, a moment later.
e2e_wait_states_freed() {
	_i=0
	while [ "$_i" -lt 100 ]; do
		_busy=$(awk '$1 ~ /^(espah|esp4|esp6|ah4|ah6)$/ && $3 > 0 { print $1 }' /proc/modules)
		[ -z "$_busy" ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	log "SAs still hold $_busy after 10 s"
	return 1
}

# ---------------------------------------------------------------- crypto drivers
#
# Which crypto driver an SA's transform resolved to is not shown anywhere,
# but each transform holds a reference on its algorithm: the refcnt of
# /proc/crypto's entries rises by one per SA while the SAs exist.

# _crypto_refcnts: "driver refcnt" of every algorithm the kernel has
_crypto_refcnts() { awk '/^driver/ { d = $3 } /^refcnt/ { print d, $3 }' /proc/crypto; }

# e2e_crypto_snap FILE: the refcnts, once the SAs of earlier cases are freed
e2e_crypto_snap() {
	e2e_wait_states_freed
	_crypto_refcnts >"$1"
}

# e2e_crypto_rose FILE: "driver +N" for each algorithm whose refcnt rose
# since e2e_crypto_snap FILE
e2e_crypto_rose() {
	_crypto_refcnts | awk 'NR == FNR { b[$1] = $2; next }
		$2 > b[$1] + 0 { printf "%s +%d\n", $1, $2 - b[$1] }' "$1" -
}

# e2e_cryptd_refs FILE: how many references the cryptd(...) wrappers the
# async suite registers gained since FILE (the cryptd(__...) instances are
# the AES-NI drivers' own helpers, not an SA's transform)
e2e_cryptd_refs() {
	e2e_crypto_rose "$1" | awk '($1 ~ /^cryptd\(/ && $1 !~ /^cryptd\(__/) || $1 ~ /^espahtest-/ { sub(/\+/, "", $2); n += $2 }
		END { print n + 0 }'
}

# e2e_check_sa_crypto NAME FILE NSAS async|sync: with NSAS SAs installed
# since e2e_crypto_snap FILE, each holds a cryptd(...) transform (async),
# or none does (sync)
e2e_check_sa_crypto() {
	_n=$(e2e_cryptd_refs "$2")
	_rose=$(e2e_crypto_rose "$2" | tr '\n' ' ')
	if [ "$4" = async ] && [ "$_n" = "$3" ]; then
		t_ok "$1: each of the $3 SAs holds a cryptd (async) transform (refcnt: $_rose)"
	elif [ "$4" = async ]; then
		t_fail "$1: each of the $3 SAs holds a cryptd (async) transform" "cryptd refcnt rose by $_n for $3 SAs: $_rose"
	elif [ "$_n" = 0 ] && [ -n "$_rose" ]; then
		t_ok "$1: the $3 SAs hold synchronous transforms, no cryptd wrapper (refcnt: $_rose)"
	else
		t_fail "$1: the $3 SAs hold synchronous transforms" "cryptd wrappers gained $_n references; AEAD refcnt rose: ${_rose:-none}"
	fi
}

# E2E_TESTCRYPT: espah_testcrypt (testmod/), which takes over the SAs'
# AEADs (GCM, ChaCha20-Poly1305, CBC+HMAC-SHA-256 with and without ESN) at
# a priority nothing else has; with async_every=1 it completes every
# request asynchronously. espah's SAs get asynchronous crypto from it: a
# cryptd wrapper of the bare AEAD espah allocates fails the crypto
# manager's self-test of that AEAD on these kernels and is never chosen.
E2E_TESTCRYPT=${E2E_TESTCRYPT:-/espah/espah_testcrypt.ko}

# e2e_testcrypt_async: load it so (nothing if it is loaded already)
e2e_testcrypt_async() {
	grep -q '^espah_testcrypt ' /proc/modules && return 0
	[ -f "$E2E_TESTCRYPT" ] || { echo "no $E2E_TESTCRYPT in the guest image"; return 1; }
	insmod "$E2E_TESTCRYPT" async_every=1 fail_every=0 2>&1 || return 1
}

# e2e_testcrypt_unload: the SAs' transforms keep it busy until the core
# freed them
e2e_testcrypt_unload() {
	_i=0
	while grep -q '^espah_testcrypt ' /proc/modules; do
		rmmod espah_testcrypt 2>/dev/null && return 0
		_i=$((_i + 1))
		[ "$_i" -gt 100 ] && { log "espah_testcrypt still in use"; return 1; }
		sleep 0.1
	done
}

# E2E_ASYNC_ALGS: the cryptd wrappers that make the in-tree stack's SAs
# asynchronous (it allocates its AEADs with an IV generator around them).
# Not for the bare AEADs espah allocates: their cryptd wrappers fail the
# crypto manager's self-test with a WARN, which panics the debug kernel.
E2E_ASYNC_ALGS="cryptd(seqiv(rfc4106(gcm(aes)))) cryptd(echainiv(authenc(hmac(sha256),cbc(aes))))"

# e2e_async_crypto: make the SAs created from now on get asynchronous
# crypto: cryptd(...) wrappers of the GCM and CBC+HMAC-SHA-256 transforms,
# registered through AF_ALG (helper algbind), outrank the synchronous ones.
# cryptd only wraps synchronous transforms, and the AES-NI ones are
# asynchronous (simd) and outrank a cryptd of the generic code: they are
# kept out, so that cryptd(generic) is the best the SAs can get. For the
# rest of the boot. Fails (with the reason on stdout) if no cryptd
# instance appeared.
e2e_async_crypto() {
	if [ "$E2E_IMPL" = espah ]; then
		e2e_testcrypt_async
		return
	fi
	mkdir -p /etc/modprobe.d
	for _m in aesni_intel ghash_clmulni_intel; do
		echo "install $_m /bin/false" >>/etc/modprobe.d/espah-async.conf
		rmmod "$_m" 2>/dev/null
	done
	for _m in af_alg algif_aead cryptd seqiv echainiv gcm ghash_generic aes_generic \
		 ctr authenc cbc hmac sha256_generic; do
		modprobe -q "$_m" 2>/dev/null
	done
	# The bind itself may fail (AF_ALG will not hand out the instance), but
	# the template instance it made stays registered: that is what counts.
	for _alg in $E2E_ASYNC_ALGS; do
		algbind aead "$_alg" 2>/dev/null
		_inner=${_alg#cryptd(}
		if ! awk -v want="${_inner%)}" '/^name/ { n = $3 }
		     /^driver/ && $3 ~ /^cryptd\(/ && n == want { found = 1 }
		     END { exit !found }' /proc/crypto; then
			echo "no cryptd instance of $_alg in /proc/crypto"
			return 1
		fi
	done
}

# e2e_cryptd_maxref: the highest reference count of any cryptd AEAD now (each
# SA's transform holds one)
e2e_cryptd_maxref() {
	awk '/^driver/ { d = $3 } /^refcnt/ && d ~ /^(cryptd\(|espahtest-)/ && $3 > m { m = $3 }
	     END { print m + 0 }' /proc/crypto
}

# ---------------------------------------------------------------- netns

ns() { _n=$1; shift; "$IP" netns exec "$_n" "$@"; }

e2e_ns_add() {
	for _n in "$@"; do
		"$IP" netns del "$_n" 2>/dev/null
		"$IP" netns add "$_n" || { e2e_setup_fail "ip netns add $_n"; continue; }
		"$IP" -n "$_n" link set lo up
		E2E_NETNS="$E2E_NETNS $_n"
	done
}

e2e_bg_add() { E2E_BGPIDS="$E2E_BGPIDS $1"; }

e2e_bg_kill() {
	for _p in $E2E_BGPIDS; do
		kill -TERM "$_p" 2>/dev/null && wait "$_p" 2>/dev/null
	done
	E2E_BGPIDS=""
}

# flush xfrm state and delete every netns created so far
e2e_cleanup_all() {
	e2e_bg_kill
	for _n in $E2E_NETNS; do
		"$IP" -n "$_n" xfrm policy flush 2>/dev/null
		"$IP" -n "$_n" xfrm state flush 2>/dev/null
		"$IP" netns del "$_n" 2>/dev/null
	done
	E2E_NETNS=""
}

# e2e_veth NS_A IF_A NS_B IF_B
e2e_veth() {
	"$IP" link add "$2" netns "$1" type veth peer name "$4" netns "$3" || e2e_setup_fail "veth $1:$2 - $3:$4"
	"$IP" -n "$1" link set "$2" up
	"$IP" -n "$3" link set "$4" up
}

# e2e_addr NS IF ADDR/PLEN  (v6 without DAD so addresses are usable at once)
e2e_addr() {
	case "$3" in
	*:*) "$IP" -n "$1" -6 addr add "$3" dev "$2" nodad ;;
	*) "$IP" -n "$1" addr add "$3" dev "$2" ;;
	esac || e2e_setup_fail "addr add $3 dev $2 in $1"
}

# ---------------------------------------------------------------- xfrm

# fixed, deterministic keys (never use these anywhere real)
E2E_GCM_KEY_1=0x0102030405060708090a0b0c0d0e0f10a1a2a3a4   # 16B AES + 4B salt
E2E_GCM_KEY_2=0x1112131415161718191a1b1c1d1e1f20b1b2b3b4
E2E_ENC_KEY_1=0x2122232425262728292a2b2c2d2e2f30
E2E_ENC_KEY_2=0x3132333435363738393a3b3c3d3e3f40
E2E_AUTH_KEY_1=0x4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60
E2E_AUTH_KEY_2=0x6162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80

# e2e_algo TRANSFORM 1|2: print the algorithm part of "ip xfrm state add"
e2e_algo() {
	case "$1" in
	gcm128)
		if [ "$2" = 1 ]; then _k=$E2E_GCM_KEY_1; else _k=$E2E_GCM_KEY_2; fi
		echo "aead rfc4106(gcm(aes)) $_k 128" ;;
	cbc-sha256)
		if [ "$2" = 1 ]; then _e=$E2E_ENC_KEY_1 _a=$E2E_AUTH_KEY_1
		else _e=$E2E_ENC_KEY_2 _a=$E2E_AUTH_KEY_2; fi
		echo "enc cbc(aes) $_e auth-trunc hmac(sha256) $_a 128" ;;
	*) echo "unknown-transform-$1"; return 1 ;;
	esac
}

# e2e_sa NS SRC DST SPI REQID MODE TRANSFORM KEYIDX
#   TRANSFORM: as e2e_algo, or null (ESP-NULL without integrity: keyless,
#   so its empty key arguments cannot travel as split words)
e2e_sa() {
	if [ "$7" = null ]; then
		e2e_sa_words "$1" "$2" "$3" "$4" "$5" "$6" enc "ecb(cipher_null)" "" auth digest_null "" ||
			e2e_setup_fail "xfrm state add in $1: $2 -> $3 spi $4 mode $6 null rejected: $E2E_SA_ERR"
		return
	fi
	# shellcheck disable=SC2046  # algorithm words are split on purpose
	"$IP" -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid "$5" \
		mode "$6" replay-window "$E2E_REPLAY_WINDOW" $(e2e_algo "$7" "$8") ||
		e2e_setup_fail "xfrm state add in $1: $2 -> $3 spi $4 mode $6 $7 rejected"
}

# e2e_pol NS DIR SELSRC SELDST TMPLSRC TMPLDST REQID MODE [PROTO]
e2e_pol() {
	"$IP" -n "$1" xfrm policy add src "$3" dst "$4" dir "$2" priority 100 \
		tmpl src "$5" dst "$6" proto "${9:-esp}" reqid "$7" mode "$8" ||
		e2e_setup_fail "xfrm policy add in $1: dir $2 $3 -> $4"
}

# IPv6 neighbour discovery must bypass IPsec when the selectors cover the
# link addresses (transport mode): allow NS/NA in and out at higher priority.
e2e_nd_bypass() {
	for _t in 135 136; do
		for _d in out in; do
			"$IP" -n "$1" xfrm policy add src ::/0 dst ::/0 proto 58 type "$_t" \
				dir "$_d" priority 10 || e2e_setup_fail "nd bypass policy in $1"
		done
	done
}

# e2e_transport_pair NS1 NS2 ADDR1 ADDR2 TRANSFORM SPI1 SPI2: NS1 and NS2
# joined by a veth (NS10 - NS20) with ADDR1 and ADDR2 on it, ESP transport
# SAs both ways in both (SPI1, reqid 1: ADDR1 -> ADDR2; SPI2, reqid 2:
# back) and the policies for all traffic between the two addresses (IPv6:
# neighbour discovery bypasses them)
e2e_transport_pair() {
	_tn1=$1 _tn2=$2 _ta1=$3 _ta2=$4
	case "$_ta1" in *:*) _tpl=64 _thl=128 ;; *) _tpl=24 _thl=32 ;; esac
	e2e_ns_add "$_tn1" "$_tn2"
	e2e_veth "$_tn1" "${_tn1}0" "$_tn2" "${_tn2}0"
	e2e_addr "$_tn1" "${_tn1}0" "$_ta1/$_tpl"
	e2e_addr "$_tn2" "${_tn2}0" "$_ta2/$_tpl"
	for _tn in "$_tn1" "$_tn2"; do
		e2e_sa "$_tn" "$_ta1" "$_ta2" "$6" 1 transport "$5" 1
		e2e_sa "$_tn" "$_ta2" "$_ta1" "$7" 2 transport "$5" 2
	done
	e2e_pol "$_tn1" out "$_ta1/$_thl" "$_ta2/$_thl" "$_ta1" "$_ta2" 1 transport
	e2e_pol "$_tn1" in "$_ta2/$_thl" "$_ta1/$_thl" "$_ta2" "$_ta1" 2 transport
	e2e_pol "$_tn2" out "$_ta2/$_thl" "$_ta1/$_thl" "$_ta2" "$_ta1" 2 transport
	e2e_pol "$_tn2" in "$_ta1/$_thl" "$_ta2/$_thl" "$_ta1" "$_ta2" 1 transport
	case "$_ta1" in *:*) e2e_nd_bypass "$_tn1"; e2e_nd_bypass "$_tn2" ;; esac
}

# e2e_sa_field NS SRC DST SPI packets|failed|replay [PROTO]: print one SA counter
e2e_sa_field() {
	"$IP" -n "$1" -s xfrm state get src "$2" dst "$3" proto "${6:-esp}" spi "$4" 2>/dev/null |
	awk -v f="$5" '
		/lifetime current:/ { getline; gsub(/[(),]/, " ");
			for (i = 1; i < NF; i++) if ($(i+1) == "packets") p = $i }
		/replay-window .* failed/ { for (i = 1; i < NF; i++) { if ($i == "failed") fl = $(i+1); if ($i == "replay") rp = $(i+1) } }
		END { if (f == "packets") print p; else if (f == "failed") print fl; else print rp }'
}

# e2e_sa_counters_ok NS SRC DST SPI [PROTO]: packets > 0 and no integrity failures
e2e_sa_counters_ok() {
	_pr=${5:-esp}
	_p=$(e2e_sa_field "$1" "$2" "$3" "$4" packets "$_pr")
	_f=$(e2e_sa_field "$1" "$2" "$3" "$4" failed "$_pr")
	if [ -z "$_p" ]; then echo "$1: $_pr SA $2->$3 spi $4 not found"; return 1; fi
	if [ "$_p" -le 0 ]; then echo "$1: $_pr SA $2->$3 spi $4 has 0 packets"; return 1; fi
	if [ -n "$_f" ] && [ "$_f" -gt 0 ]; then echo "$1: $_pr SA $2->$3 spi $4 integrity failed=$_f"; return 1; fi
	echo "$1: $_pr SA $2->$3 spi $4 packets=$_p failed=${_f:-?}"
}

# e2e_counters_check NAME "NS SRC DST SPI [PROTO]" ...: every SA moved
# packets and none failed integrity
e2e_counters_check() {
	_name=$1; shift
	_f=""
	for _sa in "$@"; do
		# shellcheck disable=SC2086
		_r=$(e2e_sa_counters_ok $_sa) || _f="$_f $_r;"
	done
	if [ -z "$_f" ]; then t_ok "$_name: SA packet counters moved"
	else t_fail "$_name: SA packet counters moved" "$_f"; fi
}

# e2e_diag_ns NS...: the xfrm states, policies and non-zero xfrm_stat of
# each netns, then the kernel log's tail (case diagnostics)
e2e_diag_ns() {
	for _n in "$@"; do
		echo "== ip -s xfrm state ($_n)"
		"$IP" -n "$_n" -s xfrm state 2>&1 | head -n 80
		echo "== ip xfrm policy ($_n)"
		"$IP" -n "$_n" xfrm policy 2>&1 | head -n 40
		echo "== /proc/net/xfrm_stat ($_n), non-zero"
		ns "$_n" cat /proc/net/xfrm_stat 2>&1 | awk '$2 != 0'
	done
	echo "== dmesg (tail)"
	dmesg 2>/dev/null | tail -n 15
}

# ---------------------------------------------------------------- espah's counters

# e2e_espah_counter NS SPI|total NAME: one of espah's drop counters in NS
# (/proc/net/espah; SPI as the file prints it, 0x%08x)
e2e_espah_counter() {
	ns "$1" cat /proc/net/espah 2>/dev/null | awk -v spi="$2" -v name="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$3 == spi || ($1 == "total" && spi == "total") { print $(col[name]) }'
}

# e2e_espah_drops NS: "name=value" for every non-zero counter of the
# namespace's total line
e2e_espah_drops() {
	ns "$1" cat /proc/net/espah 2>/dev/null | awk '
		NR == 1 { for (i = 5; i <= NF; i++) name[i] = $i; next }
		$1 == "total" { for (i = 5; i <= NF; i++) if ($i != 0) printf "%s=%s ", name[i], $i }'
}

# e2e_espah_no_drops NAME NS...: espah dropped nothing in any NS (a skip
# when the in-tree modules are under test)
e2e_espah_no_drops() {
	_name=$1; shift
	if [ "$E2E_IMPL" != espah ]; then
		t_skip "$_name: no espah drop counter rose" "espah's own counters ($E2E_IMPL under test)"
		return 0
	fi
	_d=""
	for _n in "$@"; do
		_x=$(e2e_espah_drops "$_n")
		[ -n "$_x" ] && _d="$_d $_n: $_x"
	done
	if [ -z "$_d" ]; then t_ok "$_name: no espah drop counter rose"
	else t_fail "$_name: no espah drop counter rose" "$_d"; fi
}

# ---------------------------------------------------------------- xfrm_stat

e2e_stat_snap() { ns "$1" cat /proc/net/xfrm_stat >"$2" 2>/dev/null; }
e2e_have_xfrm_stat() { [ -r /proc/net/xfrm_stat ]; }

# e2e_stat_diff BEFORE AFTER: print "Name before -> after (+d)" for every counter that rose
e2e_stat_diff() {
	awk 'NR == FNR { b[$1] = $2; next }
	     ($1 in b) && $2 > b[$1] { printf "%s %d -> %d (+%d)\n", $1, b[$1], $2, $2 - b[$1] }
	     !($1 in b) && $2 > 0   { printf "%s 0 -> %d (+%d)\n", $1, $2, $2 }' "$1" "$2"
}

# e2e_stat_snap_all NS...: remember each netns's counters for e2e_stat_check
e2e_stat_snap_all() { for _n in "$@"; do e2e_stat_snap "$_n" "$E2E_TMP/stat-$_n.before"; done; }

# e2e_stat_check NAME NS...: ok if no xfrm_stat counter rose since e2e_stat_snap_all
e2e_stat_check() {
	_name=$1; shift
	if ! e2e_have_xfrm_stat; then
		t_skip "$_name: no xfrm_stat error counter rose" "no /proc/net/xfrm_stat (CONFIG_XFRM_STATISTICS off)"
		return
	fi
	_d=""
	for _n in "$@"; do
		e2e_stat_snap "$_n" "$E2E_TMP/stat-$_n.after"
		_x=$(e2e_stat_diff "$E2E_TMP/stat-$_n.before" "$E2E_TMP/stat-$_n.after" | tr '\n' ' ')
		[ -n "$_x" ] && _d="$_d $_n: $_x"
	done
	if [ -z "$_d" ]; then t_ok "$_name: no xfrm_stat error counter rose"
	else t_fail "$_name: no xfrm_stat error counter rose" "$_d"; fi
}

# e2e_stat_get FILE NAME
e2e_stat_get() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

# ---------------------------------------------------------------- capture
#
# A capture that missed a packet cannot prove that none went out in the
# clear, so every capture must be complete, and a case whose capture is not
# fails (e2e_cap_check). What loses packets under TCG (measured on deb61
# with a 4 MiB transfer over ESP, the wire captured on both veths):
#  - libpcap sizes each ring frame for the largest packet the device may
#    hand it: with -s 0 on a veth with TSO/GSO that is 256 KiB, so 8 MiB of
#    buffer held 32 packets, and bursts were dropped (up to 247 of 3090).
#    With -s 2048 a frame takes one 4 KiB block: 32 MiB hold 8192 packets,
#    and no run dropped one. ESP and AH are segmented before the transform,
#    so no frame on an IPsec link is longer than 1514 bytes; a longer (GSO)
#    one is cut to 2048 and the host's decoder refuses it as truncated.
#  - without --immediate-mode (TPACKET_V3), packets still in an unfinished
#    ring block are lost when tcpdump stops, even after a 2.5 s pause (170
#    and 240 of ~3100 and ~1300).
#  - the direction filter must be -Q (libpcap filters it in user space):
#    the BPF "outbound" keyword lost the first packet after the filter was
#    set, in every run.
# Before stopping tcpdump, e2e_cap_stop waits until it has written as many
# packets as the device sent (tcpdump prints its count on SIGUSR1).
# A capture is complete when tcpdump started ("listening on"), stopped on
# SIGTERM, reported 0 packets dropped by the kernel, and wrote at least as
# many packets as the device counted in that direction (tx_packets,
# rx_packets) while it listened. (Tunnel mode re-injects decapsulated
# packets on the receiving device: an ingress capture sees them, the
# device's counter does not, hence "at least".)
E2E_CAP_SNAPLEN=${E2E_CAP_SNAPLEN:-2048}
E2E_CAP_BUFFER_KIB=${E2E_CAP_BUFFER_KIB:-32768}
E2E_CAP_DONE=""         # "NS:IF written/sent" of the complete captures of the case
E2E_CAP_BAD=""          # what went wrong with the others

# _cap_key NS IF: a variable name suffix for one capture
_cap_key() { echo "$1$2" | tr -c 'a-zA-Z0-9\n' '_'; }

# e2e_dev_packets NS IF in|out|inout: packets the device counted that way
# (one process: "ip -s link" prints the RX numbers, then the TX numbers)
e2e_dev_packets() {
	"$IP" -n "$1" -s link show dev "$2" 2>/dev/null | awk -v d="$3" '
		$1 ~ /^[RT]X:/ { t = substr($1, 1, 1); getline; n[t] = $2 }
		END { if (!("R" in n)) exit 1
		      print (d == "out" ? n["T"] : d == "in" ? n["R"] : n["T"] + n["R"]) }'
}

# e2e_cap_start NS IF PCAP [in|out|inout [SNAPLEN]]: background tcpdump, wait
# until it listens (SNAPLEN 0, with a 64 MiB buffer, for a plaintext link
# whose GSO packets must be captured whole).  Use "out" on both ends of a link to see exactly the wire: in tunnel
# mode the decapsulated inner packet is re-injected on the receiving device,
# so an ingress capture there also shows the (already decrypted) plaintext.
e2e_cap_start() {
	_k=$(_cap_key "$1" "$2")
	rm -f "$3" "$3.err" "$3.stats"
	# not via the ns() function: "$!" must be tcpdump itself (ip netns exec execs)
	_buf=$E2E_CAP_BUFFER_KIB
	[ "${5:-}" = 0 ] && _buf=65536
	"$IP" netns exec "$1" tcpdump -i "$2" -Q "${4:-inout}" -n -s "${5:-$E2E_CAP_SNAPLEN}" \
		-B "$_buf" -U --immediate-mode -w "$3" 2>"$3.err" &
	_cp=$!
	e2e_bg_add "$_cp"
	_i=0
	while ! grep -q "listening on" "$3.err" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ] || ! kill -0 "$_cp" 2>/dev/null; then
			log "tcpdump on $1:$2 did not start: $(cat "$3.err")"
			E2E_CAP_BAD="$E2E_CAP_BAD $1:$2 did not start ($(tail -n 1 "$3.err"));"
			kill "$_cp" 2>/dev/null
			_cp=""
			break
		fi
		sleep 0.1
	done
	eval "E2E_CAP_PID_$_k=$_cp E2E_CAP_DIR_$_k=${4:-inout}"
	eval "E2E_CAP_N0_$_k=$(e2e_dev_packets "$1" "$2" "${4:-inout}")"
}

# _cap_stat PCAP WORDS: a number tcpdump printed last, when it stopped
# ("N packets WORDS" lines) or on SIGUSR1 ("tcpdump: N packets captured,
# N packets received by filter, ..." on one line)
_cap_stat() {
	sed -n "s/^\(.*[ ,:] \)\{0,1\}\([0-9][0-9]*\) packets\{0,1\} $2\(,.*\)\{0,1\}\$/\2/p" "$1.err" | tail -n 1
}

# e2e_cap_stop NS IF PCAP: drain and stop the capture; returns 1 and notes
# why in E2E_CAP_BAD if it is not complete. Writes PCAP.stats for the host.
e2e_cap_stop() {
	_k=$(_cap_key "$1" "$2")
	eval "_cp=\${E2E_CAP_PID_$_k:-} _dir=\${E2E_CAP_DIR_$_k:-inout} _n0=\${E2E_CAP_N0_$_k:-}"
	eval "E2E_CAP_PID_$_k="
	if [ -z "$_cp" ]; then
		E2E_CAP_BAD="$E2E_CAP_BAD $1:$2 was not capturing;"
		return 1
	fi
	# drain: until tcpdump (asked with SIGUSR1, it prints its statistics)
	# has written as many packets as the device counted, at most 5 s
	_n1=$(e2e_dev_packets "$1" "$2" "$_dir")
	_sent=$(( ${_n1:-0} - ${_n0:-0} ))
	_i=0
	while [ "$_i" -lt 50 ]; do
		kill -USR1 "$_cp" 2>/dev/null
		sleep 0.1
		[ "$(_cap_stat "$3" captured)" -ge "$_sent" ] 2>/dev/null && break
		_i=$((_i + 1))
	done
	kill -TERM "$_cp" 2>/dev/null
	_i=0
	while kill -0 "$_cp" 2>/dev/null && [ "$_i" -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	_killed=0
	kill -0 "$_cp" 2>/dev/null && { kill -KILL "$_cp" 2>/dev/null; _killed=1; }
	wait "$_cp" 2>/dev/null
	_w=$(_cap_stat "$3" captured)
	_r=$(_cap_stat "$3" "received by filter")
	_d=$(_cap_stat "$3" "dropped by kernel")
	_why=""
	if [ "$_killed" = 1 ] || [ -z "$_w" ]; then _why="tcpdump did not stop on SIGTERM (no statistics)"
	elif [ "${_d:-1}" != 0 ]; then _why="tcpdump: ${_d:-?} packets dropped by kernel"
	elif [ -z "$_n0" ] || [ -z "$_n1" ]; then _why="no $_dir packet counter for $2"
	elif [ "$_w" -lt "$_sent" ]; then _why="wrote $_w packets, the device counted $_sent $_dir"
	fi
	echo "ns=$1 if=$2 dir=$_dir written=${_w:-?} received=${_r:-?} dropped=${_d:-?} device=$_sent complete=$([ -z "$_why" ] && echo 1 || echo 0)" >"$3.stats"
	log "capture $1:$2 ($_dir): ${_w:-?} written, ${_r:-?} received by filter, ${_d:-?} dropped by kernel; device counted $_sent${_why:+: INCOMPLETE: $_why}"
	if [ -n "$_why" ]; then
		E2E_CAP_BAD="$E2E_CAP_BAD $1:$2 $_why;"
		return 1
	fi
	E2E_CAP_DONE="$E2E_CAP_DONE${E2E_CAP_DONE:+, }$1:$2 $_w/$_sent"
	return 0
}

# e2e_cap_complete PCAP: the capture ran and is complete (see e2e_cap_stop)
e2e_cap_complete() { grep -q ' complete=1$' "$1.stats" 2>/dev/null; }

# e2e_cap_check NAME: one check that every capture the case stopped since
# the last e2e_cap_check started, was complete and drained
e2e_cap_check() {
	if [ -n "$E2E_CAP_BAD" ]; then
		t_fail "$1: captures complete" "$E2E_CAP_BAD"
	elif [ -z "$E2E_CAP_DONE" ]; then
		t_fail "$1: captures complete" "no capture was stopped"
	else
		t_ok "$1: captures complete (written/sent by the device: $E2E_CAP_DONE)"
	fi
	E2E_CAP_DONE="" E2E_CAP_BAD=""
}

# e2e_wire_export LABEL STREAMS PCAP...: hand captures to the host's decoder
# (scripts/wire-check.py, run by scripts/run-e2e.sh after the guest): into
# $ESPAH_EXPORT/wire/SUITE/LABEL/ go the captures with their PCAP.stats, the
# SAs of the case's namespaces with their keys ("ip xfrm state"), and a
# manifest. The host decrypts or authenticates every ESP/AH frame under its
# SA, fails any other frame but link control (ARP, neighbour discovery,
# MLD), and, for each "ADDR,PORT" of STREAMS ("-" for none), compares the
# TCP byte stream that server received with the suite's payload. Further
# manifest lines (e.g. "allow icmp-too-big") come from E2E_WIRE_EXTRA.
# Each export makes 1 host check, 2 with STREAMS.
E2E_WIRE_EXTRA=""
e2e_wire_export() {
	[ "$E2E_PLAN_ONLY" = 1 ] && return 0
	_lbl=$1 _st=$2
	shift 2
	if [ -z "${ESPAH_EXPORT:-}" ]; then
		log "$_lbl: no ESPAH_EXPORT (run-guest.sh --export): the host decodes nothing"
		return 0
	fi
	_wd=$ESPAH_EXPORT/wire/$E2E_SUITE
	_cd=$_wd/$_lbl
	rm -rf "$_cd"
	mkdir -p "$_cd"
	if [ ! -f "$_wd/payload" ] && [ -f "$E2E_TMP/payload" ]; then
		ln "$E2E_TMP/payload" "$_wd/payload" 2>/dev/null || cp "$E2E_TMP/payload" "$_wd/payload"
	fi
	{
		echo "case $_lbl"
		echo "suite $E2E_SUITE"
		echo "impl $E2E_IMPL"
		for _p; do echo "pcap ${_p##*/} $(cat "$_p.stats" 2>/dev/null)"; done
		for _s in $_st; do [ "$_s" = - ] || echo "stream $_s"; done
		[ -n "$E2E_WIRE_EXTRA" ] && printf '%s\n' "$E2E_WIRE_EXTRA"
	} >"$_cd/manifest"
	# hard links: the export and the captures share /tmp (no copy)
	for _p; do
		[ -f "$_p" ] && { ln "$_p" "$_cd/" 2>/dev/null || cp "$_p" "$_cd/"; }
	done
	# (E2E_WIRE_NETNS: namespaces a suite keeps outside E2E_NETNS)
	for _n in $E2E_NETNS ${E2E_WIRE_NETNS:-}; do
		echo "# netns $_n"
		"$IP" -n "$_n" xfrm state
	done >"$_cd/states" 2>&1
}

# e2e_wire_skip LABEL N REASON: the host reports its N checks of LABEL skipped
e2e_wire_skip() {
	[ -n "${ESPAH_EXPORT:-}" ] || return 0
	_cd=$ESPAH_EXPORT/wire/$E2E_SUITE/$1
	mkdir -p "$_cd"
	printf 'case %s\nsuite %s\nskip %s %s\n' "$1" "$E2E_SUITE" "$2" "$3" >"$_cd/manifest"
}

# e2e_pcap_count FILTER PCAP...: number of packets matching a tcpdump filter
e2e_pcap_count() {
	_f=$1; shift
	for _pc in "$@"; do tcpdump -r "$_pc" -n "$_f" 2>/dev/null; done | wc -l
}

# e2e_pcap_summary PCAP [N]: a short per-protocol summary plus the first packets
e2e_pcap_summary() {
	[ -f "$1" ] || { echo "(no capture $1)"; return; }
	echo "capture $1: total=$(e2e_pcap_count '' "$1") esp=$(e2e_pcap_count 'ip proto 50 or ip6 proto 50' "$1") tcp=$(e2e_pcap_count tcp "$1") icmp=$(e2e_pcap_count 'icmp or icmp6' "$1") arp=$(e2e_pcap_count arp "$1")"
	tcpdump -r "$1" -n 2>/dev/null | head -n "${2:-20}"
}

# filters for "plaintext that should have been protected": any TCP, any ICMP
# echo (v4 and v6); neighbour discovery / MLD / RS / RA are link-local control
# shellcheck disable=SC2034  # used by the sourcing scripts
E2E_PLAIN_FILTER_4='tcp or icmp'
# shellcheck disable=SC2034
E2E_PLAIN_FILTER_6='tcp or (icmp6 and ip6[40] != 133 and ip6[40] != 134 and ip6[40] != 135 and ip6[40] != 136 and ip6[40] != 143)'

# e2e_marker_count PCAP...: in how many NUL-delimited records of the raw
# capture files the plaintext marker appears (a plain packet carries it
# verbatim; much faster than tcpdump -A under TCG).  -z: busybox grep stops
# matching a newline-delimited line at its first NUL byte.
e2e_marker_count() {
	cat "$@" 2>/dev/null | grep -c -z -F "$E2E_MARKER"
}

# ---------------------------------------------------------------- payload + TCP

# e2e_make_payload: $E2E_TMP/payload (~4 MiB random with plaintext markers)
e2e_make_payload() {
	[ "$E2E_PLAN_ONLY" = 1 ] && return 0
	[ -s "$E2E_TMP/payload" ] && return 0
	{
		_i=0
		while [ "$_i" -lt "$E2E_PAYLOAD_CHUNKS" ]; do
			_j=0
			while [ "$_j" -lt 32 ]; do
				echo "$E2E_MARKER chunk $_i line $_j"
				_j=$((_j + 1))
			done
			head -c 524288 /dev/urandom
			_i=$((_i + 1))
		done
	} >"$E2E_TMP/payload"
	E2E_PAYLOAD_SHA=$(sha256sum "$E2E_TMP/payload" | cut -d' ' -f1)
	log "payload $(wc -c <"$E2E_TMP/payload") bytes sha256 $E2E_PAYLOAD_SHA"
}

# e2e_tcp_xfer NS_SRV SRV_ADDR NS_CLI: send the payload client->server with
# socat; succeed iff the receiver's sha256 matches the sender's.
e2e_tcp_xfer() {
	command -v socat >/dev/null || { echo "socat not in guest"; return 1; }
	e2e_make_payload
	_rx=$E2E_TMP/rx.$$
	rm -f "$_rx"
	case "$2" in
	*:*) _l="TCP6-LISTEN:$E2E_PORT,bind=[$2],reuseaddr"; _c="TCP6:[$2]:$E2E_PORT" ;;
	*) _l="TCP4-LISTEN:$E2E_PORT,bind=$2,reuseaddr"; _c="TCP4:$2:$E2E_PORT" ;;
	esac
	"$IP" netns exec "$1" timeout "$E2E_TCP_TIMEOUT" socat -u "$_l" "CREATE:$_rx" 2>"$_rx.srv.err" &
	_sp=$!
	_t0=$(date +%s)
	ns "$3" timeout "$E2E_TCP_TIMEOUT" socat -u "OPEN:$E2E_TMP/payload" \
		"$_c,retry=20,interval=0.5" 2>"$_rx.cli.err"
	_rc=$?
	if [ "$_rc" != 0 ]; then
		kill "$_sp" 2>/dev/null; wait "$_sp" 2>/dev/null
		_why="exit $_rc"
		[ "$_rc" -ge 124 ] && _why="killed after the ${E2E_TCP_TIMEOUT}s timeout (exit $_rc)"
		echo "sender to $2 $_why, received $(wc -c <"$_rx" 2>/dev/null || echo 0) bytes: $(tail -n 2 "$_rx.cli.err" | tr '\n' ' ')"
		return 1
	fi
	wait "$_sp"
	_rc=$?
	_dt=$(( $(date +%s) - _t0 ))
	_got=$(sha256sum "$_rx" 2>/dev/null | cut -d' ' -f1)
	_len=$(wc -c <"$_rx" 2>/dev/null)
	rm -f "$_rx"
	_want=$(sha256sum "$E2E_TMP/payload" | cut -d' ' -f1)
	if [ "$_got" != "$_want" ]; then
		echo "sha256 mismatch: received $_len bytes (rc $_rc) sha $_got, want $_want; srv: $(tail -n 2 "$_rx.srv.err" | tr '\n' ' ')"
		return 1
	fi
	echo "received $_len bytes in ${_dt}s, sha256 matches"
}

# e2e_ping NS DST [COUNT]: all echo replies must come back
e2e_ping() {
	_c=${3:-3}
	_o=$(ns "$1" ping -c "$_c" -w $((_c * 3 + 10)) "$2" 2>&1)
	_r=$(echo "$_o" | sed -n 's/.* \([0-9][0-9]*\) packets received.*/\1/p; s/.* \([0-9][0-9]*\) received.*/\1/p' | head -n 1)
	if [ "${_r:-0}" -eq "$_c" ]; then
		echo "$_r/$_c replies"
	else
		echo "$_o" | tail -n 2 | tr '\n' ' '; echo
		return 1
	fi
}

# e2e_ping_fails NS DST: no echo reply may come back
e2e_ping_fails() {
	if ns "$1" ping -c 3 -w 6 "$2" >/dev/null 2>&1; then
		echo "ping $2 from $1 unexpectedly succeeded"
		return 1
	fi
	echo "ping $2 from $1 failed as expected"
}

# ---------------------------------------------------------------- generic extras

# e2e_espah_path NS SPI NAME: one of espah's path counters of the SA
# with SPI (0x%08x) in NS
e2e_espah_path() {
	ns "$1" cat /proc/net/espah_paths 2>/dev/null | awk -v spi="$2" -v name="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$3 == spi { print $(col[name]) }'
}

# e2e_modprobe_trace_start / _report LABEL: with E2E_TRACE_MODPROBE=1,
# log what the kernel asks modprobe for (request_module()), then count it:
# each request starts a user-mode helper process
e2e_modprobe_trace_start() {
	[ "${E2E_TRACE_MODPROBE:-0}" = 1 ] || return 0
	E2E_MODPROBE_ORIG=$(cat /proc/sys/kernel/modprobe)
	: >"$E2E_TMP/modprobe.log"
	printf '#!/bin/sh\necho "$*" >>%s\nexec %s "$@"\n' "$E2E_TMP/modprobe.log" "$E2E_MODPROBE_ORIG" >"$E2E_TMP/modprobe-trace"
	chmod 755 "$E2E_TMP/modprobe-trace"
	echo "$E2E_TMP/modprobe-trace" >/proc/sys/kernel/modprobe
}

e2e_modprobe_trace_report() {
	[ "${E2E_TRACE_MODPROBE:-0}" = 1 ] || return 0
	echo "$E2E_MODPROBE_ORIG" >/proc/sys/kernel/modprobe
	log "$1: modprobe requests: $(wc -l <"$E2E_TMP/modprobe.log")"
	sort "$E2E_TMP/modprobe.log" | uniq -c | sort -rn | head -n 10 | sed "s/^/# modprobe $1: /"
}

# e2e_perf_allow: kernel symbols and system-wide events for perf
e2e_perf_allow() {
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
}

# e2e_perf_profile SECS LABEL: with E2E_PERF=1 (and perf in the guest:
# ESPAH_GUEST_EXTRA_BINS=perf on the host), profile the whole guest for
# SECS s in the background and log its top symbols: where a slow case
# spends its time
e2e_perf_profile() {
	[ "${E2E_PERF:-0}" = 1 ] && command -v perf >/dev/null || return 0
	e2e_perf_allow
	(
		perf record -a -g -e cpu-clock -F 499 -o "$E2E_TMP/perf-$2.data" -- sleep "$1" >/dev/null 2>&1
		perf report -i "$E2E_TMP/perf-$2.data" --stdio --no-children --sort comm -g none 2>&1 |
			grep -v '^#' | grep -v '^$' | head -n 12 | sed "s/^/# perf $2 by task: /"
		perf report -i "$E2E_TMP/perf-$2.data" --stdio --no-children --sort dso,sym \
			--percent-limit 1 -g caller,0.5,callee,function,percent 2>&1 | grep -v '^$' |
			head -n 150 | sed "s/^/# perf $2: /"
	) &
	e2e_bg_add $!
}

# e2e_sa_words NS SRC DST SPI REQID MODE WORD...: "ip xfrm state add" with the
# algorithms and further options as words (e.g. aead NAME KEY ICV flag esn
# encap espinudp 4500 4500 0.0.0.0).  Does not mark the case setup failed:
# returns ip's status and leaves its error output in $E2E_SA_ERR.
# shellcheck disable=SC2034  # read by the sourcing scripts
E2E_SA_ERR=""
e2e_sa_words() {
	_n=$1 _s=$2 _d=$3 _spi=$4 _rq=$5 _md=$6
	shift 6
	# shellcheck disable=SC2034
	E2E_SA_ERR=$("$IP" -n "$_n" xfrm state add src "$_s" dst "$_d" proto esp \
		spi "$_spi" reqid "$_rq" mode "$_md" replay-window "$E2E_REPLAY_WINDOW" "$@" 2>&1)
}

# e2e_hexkey NBYTES SEED: a deterministic test key "0x..." of NBYTES bytes
# (an empty line for 0 bytes: keyless algorithms take an empty argument)
e2e_hexkey() {
	[ "$1" -gt 0 ] || { echo; return; }
	awk -v n="$1" -v s="$2" 'BEGIN { printf "0x"; for (i = 0; i < n; i++) printf "%02x", (s * 37 + i * 11 + 1) % 256; print "" }'
}

# e2e_pcap_esp PCAP [FILTER]: one line "SPI SEQ LENGTH" (hex SPI and sequence
# number, decimal ESP length from the ESP header to the ICV, as tcpdump prints
# them, also inside UDP encapsulation) per ESP packet
e2e_pcap_esp() {
	tcpdump -r "$1" -n ${2:+"$2"} 2>/dev/null |
		sed -n 's/.*ESP(spi=\(0x[0-9a-f]*\),seq=\(0x[0-9a-f]*\)), length \([0-9][0-9]*\).*/\1 \2 \3/p'
}

# e2e_helper_bin NAME: path of a static test helper (scripts/helpers/NAME.c,
# passed into the guest as /espah/bin/NAME), or fail
e2e_helper_bin() {
	for _h in "${ESPAH_HELPERS:-/espah/bin}/$1" "/espah/$1"; do
		[ -x "$_h" ] && { echo "$_h"; return 0; }
	done
	command -v "$1" 2>/dev/null
}

# e2e_nattsock_start NS FAMILY: a background ESP-in-UDP socket on port 4500,
# as an IKE daemon holds it (scripts/helpers/nattsock.c)
e2e_nattsock_start() {
	_o=$E2E_TMP/nattsock-$1.out
	"$IP" netns exec "$1" "$(e2e_helper_bin nattsock)" "$2" 4500 >"$_o" 2>&1 &
	e2e_bg_add $!
	_i=0
	while ! grep -q ready "$_o" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -gt 50 ] && { e2e_setup_fail "nattsock in $1: $(cat "$_o")"; return 1; }
		sleep 0.1
	done
}

trap 'e2e_cleanup_all' EXIT
trap 'e2e_cleanup_all; exit 130' INT TERM
