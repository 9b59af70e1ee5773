#!/bin/sh
# e2e-faults.sh - memory failures injected into SA setup and into the data
# path (issue 11 item 3), with the debug kernel's fault injection
# (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, debugfs). Without it (the
# Debian kernels) every case is skipped.
#
# usage: e2e-faults.sh espah|intree [FILTER]
#   Env: E2E_FAULTS_KINDS (SA kinds of the setup sweep, default
#        "esp-gcm-v4 ah-sha256-v4"; all: esp-gcm-v4 esp-cbc-sha256-esn-v6
#        esp-gcm-encap-v4 esp-chacha-v6 ah-sha256-v4 ah-xcbc-v6),
#        E2E_FAULTS_PINGS (pings each way per data-path phase, default 300).
#
# setup-KIND: "ip xfrm state add" as scripts/helpers/xfrmsa.c sends it,
#   with fail-nth N (slab and page allocations, GFP_KERNEL included) for
#   N = 1, 2, ... until the request passes no Nth point. Each time either
#   the SA is refused and absent (and when the failed allocation was made
#   below espah's init_state, per the failure's stack trace in the kernel
#   log, the refusal carries an "espah: ..." extack message), or the
#   failure was absorbed and the SA exists and works: fa pings fb through
#   it (fb holds its twin). Afterwards nothing holds the module.
#
#   fa 10.71.0.1 fd00:71::1 ==veth== fb 10.71.0.2 fd00:71::2
#
# tx-failnth: fa sends one UDP datagram through an ESP SA per N, with the
#   Nth allocation of the sendto() failing: each datagram arrives, or
#   sendto() fails, or a drop counter says where it went (espah's, and
#   the core's XfrmOutStateProtoError for each of them).
#
# datapath-slab, datapath-page: ESP both ways (2000-byte pings, da <-> db)
#   while failslab / fail_page_alloc fail 10% of GFP_ATOMIC allocations
#   (probability, interval 1, any task, softirqs included). espah must
#   count its drops (rx/tx_no_memory rose), every drop the xfrm core
#   blames on the type (Xfrm{In,Out}StateProtoError) is one of espah's,
#   and the SAs carry traffic again once the failures stop.
#
# kmemleak, KASAN and lockdep reports fail the run (scripts/run-guest.sh).

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_suite_args "$@"

DBG=/sys/kernel/debug
FI_KINDS=${E2E_FAULTS_KINDS:-esp-gcm-v4 ah-sha256-v4}
FI_PINGS=${E2E_FAULTS_PINGS:-300}
FI_MAX=400
FI_PRINTK=$(cat /proc/sys/kernel/printk 2>/dev/null)

fi_wanted() { case "$1" in *"$filter"*) return 0 ;; esac; return 1; }

fi_available() { [ -d "$DBG/failslab" ] && [ -d "$DBG/fail_page_alloc" ] && [ -e /proc/self/fail-nth ]; }

# fi_set DIR KEY=VALUE...: fault attributes in debugfs
fi_set() {
	_d=$DBG/$1
	shift
	for _kv in "$@"; do echo "${_kv#*=}" >"$_d/${_kv%%=*}" 2>/dev/null ||
		log "cannot set $_d/${_kv%%=*}"; done
}

# fi_off: no random failures anywhere (fail-nth still works)
fi_off() {
	for _a in failslab fail_page_alloc; do fi_set "$_a" probability=0 times=1 verbose=2; done
}

# the console is the kernel's slowest part under TCG: a fault's stack trace
# goes to the log only while the sweeps run; reports found there afterwards
# are printed (timestamped: scripts/run-guest.sh fails the run on them)
fi_console_quiet() { : >"$E2E_TMP/fi-reports"; echo 1 >/proc/sys/kernel/printk; }
# fi_log_clear: keep the reports of the kernel log, then empty it
fi_log_clear() {
	dmesg -c 2>/dev/null | grep -E 'BUG: |KASAN|UBSAN:|WARNING:|possible recursive locking|circular locking|general protection fault|kernel BUG at' \
		>>"$E2E_TMP/fi-reports"
}
fi_console_restore() {
	fi_log_clear
	[ -n "$FI_PRINTK" ] && echo "$FI_PRINTK" >/proc/sys/kernel/printk
	head -n 40 "$E2E_TMP/fi-reports"
}

# ---------------------------------------------------------------- SA setup

# fi_kind KIND: family, protocol and the algorithm words of a sweep kind
fi_kind() {
	fam=${1##*-v} proto=esp encap=""
	case "$1" in
	esp-gcm-v*) words="aead rfc4106(gcm(aes)) $(e2e_hexkey 20 3) 128" ;;
	esp-cbc-sha256-esn-v*) words="enc cbc(aes) $(e2e_hexkey 16 3) auth-trunc hmac(sha256) $(e2e_hexkey 32 4) 128 flag esn" ;;
	esp-gcm-encap-v*) words="aead rfc4106(gcm(aes)) $(e2e_hexkey 20 3) 128"; encap=1 ;;
	esp-chacha-v*) words="aead rfc7539esp(chacha20,poly1305) $(e2e_hexkey 36 3) 128" ;;
	ah-sha256-v*) proto=ah words="auth-trunc hmac(sha256) $(e2e_hexkey 32 4) 128" ;;
	ah-xcbc-v*) proto=ah words="auth xcbc(aes) $(e2e_hexkey 16 4)" ;;
	*) return 1 ;;
	esac
	if [ "$fam" = 4 ]; then a=10.71.0.1 b=10.71.0.2 any=0.0.0.0 hl=32
	else a=fd00:71::1 b=fd00:71::2 any=:: hl=128; fi
	[ -n "$encap" ] && words="$words encap espinudp 4500 4500 $any"
	return 0
}

fi_setup_diag() {
	e2e_diag_ns fa fb
	echo "== the last injected failure's stack"
	cat "$E2E_TMP/fi-trace" 2>/dev/null | head -n 40
}

# fi_setup_topology KIND: fa and fb, fb's twin SA, policies for ICMP
fi_setup_topology() {
	e2e_ns_add fa fb
	e2e_veth fa fa0 fb fb0
	e2e_addr fa fa0 "$a/$([ "$fam" = 4 ] && echo 24 || echo 64)"
	e2e_addr fb fb0 "$b/$([ "$fam" = 4 ] && echo 24 || echo 64)"
	if [ -n "$encap" ]; then e2e_nattsock_start fa "$fam"; e2e_nattsock_start fb "$fam"; fi
	# neighbours first: the policies below cover ICMP(v6)
	ns fa ping -c 1 -W 3 "$b" >/dev/null 2>&1
	fi_twin || e2e_setup_fail "fb's twin SA"
	_icmp=icmp
	[ "$fam" = 6 ] && _icmp=ipv6-icmp
	"$IP" -n fa xfrm policy add src "$a/$hl" dst "$b/$hl" proto "$_icmp" dir out \
		tmpl src "$a" dst "$b" proto "$proto" reqid 71 mode transport ||
		e2e_setup_fail "fa's policy"
	"$IP" -n fb xfrm policy add src "$a/$hl" dst "$b/$hl" proto "$_icmp" dir in \
		tmpl src "$a" dst "$b" proto "$proto" reqid 71 mode transport ||
		e2e_setup_fail "fb's policy"
	if [ "$fam" = 6 ]; then e2e_nd_bypass fa; e2e_nd_bypass fb; fi
}

# fi_twin: fb's twin of the SA under test, new (its replay window fresh)
fi_twin() {
	"$IP" -n fb xfrm state deleteall proto "$proto" spi 0x7101 2>/dev/null
	# shellcheck disable=SC2086  # the algorithm words are split on purpose
	"$IP" -n fb xfrm state add src "$a" dst "$b" proto "$proto" spi 0x7101 reqid 71 \
		mode transport replay-window 64 $words
}

# fi_trace_in_espah: the last forced failure's stack runs through espah.
# Frames marked '?' are stale words the unwinder found on the stack, not
# callers: an AH refusal in the xfrm core once showed '? ah_init_state'.
fi_trace_in_espah() {
	dmesg 2>/dev/null | awk '/FAULT_INJECTION: forcing a failure/ { t = ""; on = 1 }
		on { t = t $0 "\n" } /<\/TASK>/ { on = 0 }
		END { printf "%s", t }' | grep -v '\]  *? ' >"$E2E_TMP/fi-trace"
	grep -q '\[espah\]' "$E2E_TMP/fi-trace"
}

# fi_sa_works: fa's SA carries a ping to fb, whose (new) twin decrypts it
fi_sa_works() {
	fi_twin || return 1
	e2e_ping fa "$b" 1 >/dev/null || return 1
	[ "$(e2e_sa_field fb "$a" "$b" 0x7101 packets "$proto")" = 1 ]
}

fi_sa_there() { "$IP" -n fa xfrm state get src "$a" dst "$b" proto "$proto" spi 0x7101 >/dev/null 2>&1; }

fi_setup_sweep() {
	name="setup-$1"
	fi_wanted "$name" || return 0
	e2e_case_begin "$name" fi_setup_diag
	fi_kind "$1" || { t_fail "$name" "unknown kind"; return; }
	fi_setup_topology
	e2e_setup_check "$name" || return 0
	fi_set failslab ignore-gfp-wait=N
	fi_set fail_page_alloc ignore-gfp-wait=N min-order=0
	fi_console_quiet
	n=1 refused=0 in_espah=0 absorbed=0 bad=""
	while [ "$n" -le "$FI_MAX" ]; do
		fi_log_clear
		# shellcheck disable=SC2086  # the algorithm words are split on purpose
		out=$(ns fa xfrmsa --fail-nth "$n" src "$a" dst "$b" proto "$proto" spi 0x7101 \
			reqid 71 mode transport replay-window 64 $words 2>&1)
		there=0
		fi_sa_there && there=1
		case "$out" in
		*injected=0*)
			[ "$there" = 1 ] && case "$out" in ok*) break ;; esac
			bad="$bad [$n: no failure injected, yet '$out', state there=$there]"
			break ;;
		ok* | *"no answer from the kernel"*)
			# no answer: the reply could not be allocated; the SA
			# may have been made, then it must work
			absorbed=$((absorbed + 1))
			case "$out" in ok*) [ "$there" = 0 ] && bad="$bad [$n: 'ok' but no state]" ;; esac
			if [ "$there" = 1 ] && ! fi_sa_works; then
				bad="$bad [$n: failure absorbed, but the SA does not work]"
			fi ;;
		error*)
			refused=$((refused + 1))
			[ "$there" = 1 ] && bad="$bad [$n: refused ('$out') but the state exists]"
			if fi_trace_in_espah; then
				in_espah=$((in_espah + 1))
				echo "$name: ${out#*: }, after $(grep -m1 '\[espah\]' "$E2E_TMP/fi-trace" | sed 's/^.*\]  *//; s/^? //; s/+.*//')" \
					>>"$E2E_TMP/fi-messages"
				case "$out" in *": espah: "*) ;;
				*) bad="$bad [$n: failed below espah's init_state, refused without an espah message: '$out'; trace $(grep -m1 '\[espah\]' "$E2E_TMP/fi-trace" | sed 's/^ *//')]" ;;
				esac
			fi ;;
		*) bad="$bad [$n: '$out']" ;;
		esac
		"$IP" -n fa xfrm state deleteall proto "$proto" spi 0x7101 2>/dev/null
		n=$((n + 1))
	done
	fi_console_restore
	fi_set failslab ignore-gfp-wait=Y
	fi_set fail_page_alloc ignore-gfp-wait=Y min-order=1
	points=$((n - 1))
	echo "$name injected=$points refused=$refused in_espah=$in_espah absorbed=$absorbed" >>"$E2E_TMP/fi-figures"
	log "$name: $points failures injected: $refused refused ($in_espah below espah), $absorbed absorbed"
	if [ "$n" -gt "$FI_MAX" ]; then
		t_fail "$name: the sweep ends" "still injecting after $FI_MAX points"
	elif [ -z "$bad" ] && [ "$points" -gt 0 ]; then
		t_ok "$name: $points allocation failures: $refused refused cleanly ($in_espah of them in espah, each with its extack), $absorbed absorbed and the SA worked"
	else
		t_fail "$name: every failure refused cleanly or absorbed" "${bad:-no failure was injected}"
	fi
	if fi_sa_there && fi_sa_works; then t_ok "$name: the SA made without failures works"
	else t_fail "$name: the SA made without failures works" "$(ns fa "$IP" -s xfrm state | head -n 20)"; fi
	e2e_cleanup_all
	_mod=espah
	[ "$E2E_IMPL" = intree ] && _mod=$proto$fam
	if e2e_mod_wait_unused "$_mod" 30; then t_ok "$name: nothing holds $_mod afterwards"
	else t_fail "$name: nothing holds $_mod afterwards" "refcount $(e2e_mod_refcnt "$_mod")"; fi
}

# ---------------------------------------------------------------- data path

fi_dp_diag() { e2e_diag_ns da db; ns da cat /proc/net/espah 2>&1; ns db cat /proc/net/espah 2>&1; }

fi_dp_setup() { e2e_transport_pair da db 10.72.0.1 10.72.0.2 gcm128 0x7201 0x7202; }

# fi_sum_drops NS rx|tx: espah's drops of that direction in NS
fi_sum_drops() {
	ns "$1" cat /proc/net/espah 2>/dev/null | awk -v d="$2" '
		NR == 1 { for (i = 5; i <= NF; i++) if (index($i, d "_") == 1) c[i] = 1; next }
		$1 == "total" { for (i in c) s += $i } END { print s + 0 }'
}

fi_stat() { ns "$1" cat /proc/net/xfrm_stat | awk -v n="$2" '$1 == n { print $2 }'; }

# fi_dp_counts NS: "espah-rx espah-tx core-in core-out" drop counts of NS
fi_dp_counts() {
	echo "$(fi_sum_drops "$1" rx) $(fi_sum_drops "$1" tx)" \
		"$(fi_stat "$1" XfrmInStateProtoError) $(fi_stat "$1" XfrmOutStateProtoError)"
}

# fi_datapath PHASE ATTR: traffic both ways while ATTR fails at random
fi_datapath() {
	phase=$1 attr=$2
	name="datapath-$phase"
	fi_wanted "$name" || return 0
	e2e_case_begin "$name" fi_dp_diag
	fi_dp_setup
	e2e_setup_check "$name" || return 0
	e2e_ping da 10.72.0.2 2 >/dev/null
	for n in da db; do fi_dp_counts "$n" >"$E2E_TMP/fi-dp-$n.0"; done
	log "$name: $FI_PINGS 2000-byte pings each way while $attr fails 10% of GFP_ATOMIC allocations"
	# 2000 bytes: fragments, reassembly, copies of page size and more
	"$IP" netns exec da ping -q -s 2000 -c "$FI_PINGS" -i 0.02 -W 1 10.72.0.2 >/dev/null 2>&1 &
	p1=$!
	"$IP" netns exec db ping -q -s 2000 -c "$FI_PINGS" -i 0.02 -W 1 10.72.0.1 >/dev/null 2>&1 &
	p2=$!
	if [ "$attr" = fail_page_alloc ]; then fi_set "$attr" min-order=0; fi
	fi_set "$attr" task-filter=N ignore-gfp-wait=Y space=0 interval=1 verbose=0 times=1000000 probability=10
	wait "$p1" "$p2"
	injected=$((1000000 - $(cat "$DBG/$attr/times")))
	fi_off
	fi_set fail_page_alloc min-order=1
	sleep 1
	t_check "$name: ESP carries traffic again once the failures stop" e2e_ping da 10.72.0.2 3
	t_check "$name: ... both ways" e2e_ping db 10.72.0.1 3
	if [ "$E2E_IMPL" != espah ]; then
		e2e_cleanup_all
		return
	fi
	drops="" mismatch="" sum_rx=0 sum_tx=0
	for n in da db; do
		# shellcheck disable=SC2046  # four numbers
		set -- $(fi_dp_counts "$n") $(cat "$E2E_TMP/fi-dp-$n.0")
		_rx=$(($1 - $5)) _tx=$(($2 - $6)) _in=$(($3 - $7)) _out=$(($4 - $8))
		drops="$drops $n: rx $_rx tx $_tx (core: in $_in out $_out);"
		[ "$_rx" = "$_in" ] && [ "$_tx" = "$_out" ] || mismatch="$mismatch $n"
		sum_rx=$((sum_rx + _rx)) sum_tx=$((sum_tx + _tx))
	done
	echo "$name injected=$injected espah_rx=$sum_rx espah_tx=$sum_tx" >>"$E2E_TMP/fi-figures"
	log "$name: espah drops:$drops"
	if [ "$phase" = slab ]; then
		# espah allocates per packet only where it cannot avoid it (fresh
		# pages for out-of-place crypto; requests come from per-CPU
		# caches): some failure must reach it, not one each way
		if [ $((sum_rx + sum_tx)) -gt 0 ]; then
			t_ok "$name: espah counted its memory failures (rx $sum_rx, tx $sum_tx)"
		else
			t_skip "$name: espah counted its memory failures" "none reached espah's allocations in this run ($drops)"
		fi
	fi
	if [ -z "$mismatch" ]; then
		t_ok "$name: every drop the core blames on the type is one of espah's ($drops)"
	else
		t_fail "$name: espah's drops = Xfrm{In,Out}StateProtoError" "$mismatch:$drops"
	fi
	e2e_cleanup_all
}

# ---------------------------------------------------------------- tx fail-nth

fi_tx_failnth() {
	name=tx-failnth
	fi_wanted "$name" || return 0
	e2e_case_begin "$name" fi_dp_diag
	fi_dp_setup
	e2e_setup_check "$name" || return 0
	rx=$E2E_TMP/fi-udp-rx
	rm -f "$rx"
	"$IP" netns exec db socat -u UDP4-RECV:7300 "OPEN:$rx,creat,append" 2>/dev/null &
	e2e_bg_add $!
	e2e_ping da 10.72.0.2 1 >/dev/null
	fi_set failslab ignore-gfp-wait=N
	fi_set fail_page_alloc ignore-gfp-wait=N min-order=0
	fi_console_quiet
	n=1 arrived=0 senderr=0 senderr_espah=0 counted=0 silent=""
	while [ "$n" -le "$FI_MAX" ]; do
		e2e_stat_snap da "$E2E_TMP/fi-tx.before"
		d0=$(fi_sum_drops da tx)
		out=$(ns da pagesend udp1 4 10.72.0.2 7300 "$n")
		case "$out" in *injected=0*) break ;; esac
		sleep 0.3
		if grep -q "^fail-nth $n\$" "$rx" 2>/dev/null; then
			arrived=$((arrived + 1))
		else
			case "$out" in *"rc=0 "*)
				e2e_stat_snap da "$E2E_TMP/fi-tx.after"
				_d=$(e2e_stat_diff "$E2E_TMP/fi-tx.before" "$E2E_TMP/fi-tx.after" | tr '\n' ' ')
				if [ "$(fi_sum_drops da tx)" -gt "$d0" ] || [ -n "$_d" ]; then
					counted=$((counted + 1))
				else
					silent="$silent $n"
				fi ;;
			*)
				senderr=$((senderr + 1))
				[ "$(fi_sum_drops da tx)" -gt "$d0" ] && senderr_espah=$((senderr_espah + 1)) ;;
			esac
		fi
		n=$((n + 1))
	done
	fi_console_restore
	fi_set failslab ignore-gfp-wait=Y
	fi_set fail_page_alloc ignore-gfp-wait=Y min-order=1
	echo "$name injected=$((n - 1)) arrived=$arrived sendto_error=$senderr espah_counted=$senderr_espah counted_later=$counted" >>"$E2E_TMP/fi-figures"
	if [ -z "$silent" ] && [ "$n" -gt 1 ]; then
		t_ok "$name: $((n - 1)) allocation failures in sendto(): $arrived datagrams arrived anyway, $senderr refused by sendto() ($senderr_espah of them in espah, counted as tx drops), $counted dropped later and counted"
	else
		t_fail "$name: no datagram lost without a trace" "lost silently at points:${silent:- none (no failure injected)}; check dmesg traces"
	fi
	e2e_cleanup_all
}

if ! fi_available; then
	t_skip "memory failures" "no fault injection in this kernel (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS): the debug kernel has it"
	t_finish
	exit 0
fi
: >"$E2E_TMP/fi-figures"
: >"$E2E_TMP/fi-messages"
fi_off
for k in $FI_KINDS; do fi_setup_sweep "$k"; done
fi_tx_failnth
fi_datapath slab failslab
fi_datapath page fail_page_alloc
echo "# ---- memory failure figures (impl=$E2E_IMPL)"
sed 's/^/# FAULTS /' "$E2E_TMP/fi-figures"
echo "# ---- refusals after a failure inside espah: message, after the espah function that failed"
sort "$E2E_TMP/fi-messages" | uniq -c | sed 's/^/# FAULTS-MSG /'
t_finish
