#!/bin/sh
# e2e-churn.sh - SA, module and namespace churn (issue 11 item 2): SAs
# added, updated, deleted and expiring while traffic flows through them,
# the module loaded and unloaded with SAs made and flushed in between,
# network namespaces made and destroyed with SAs (and traffic) in them.
# What must not happen shows in the kernel log (KASAN, lockdep, WARN,
# kmemleak at the end: scripts/run-guest.sh fails the run on it); what
# must happen is checked here: traffic through the SAs, expirations,
# every state gone, nothing holding the module, rmmod clean at the end.
#
# usage: e2e-churn.sh espah|intree [FILTER]
#   Cases: sa-sync, modules, netns, sa-async (cryptd; last: it stays for
#   the rest of the boot), rmmod.
#   Env (the counts; make check runs a slice, make soak the full ones):
#     E2E_CHURN_CYCLES   SA cycles per sa-* case (default 400; soak 10000)
#     E2E_CHURN_MODULES  module load/unload cycles (default 5; soak 100)
#     E2E_CHURN_NETNS    namespaces (default 50; soak 1000)
#
# sa-*: ca 10.81.0.1 ==veth== cb 10.81.0.2, ESP transport SAs and policies
#   both ways (reqid 1: ca->cb, 2: cb->ca) that stay, and pings both ways
#   every 10 ms. Each cycle adds one more SA pair member for a direction,
#   with the same reqid (the newest valid state carries the traffic), in
#   both namespaces, GCM or CBC+HMAC-SHA-256 in turn, and then, by cycle
#   number mod 4: lets it expire (limit time-hard 1); updates its
#   lifetimes then deletes it; deletes it; gives it packet and time limits
#   (limit packet-hard 20 time-hard 2). ca and cb each run their cycles as
#   one "ip -batch", at the same time. Afterwards every churned state must
#   be gone, the expirations seen on netlink (ip xfrm monitor), the pings
#   have got answers during the churn, and the stable SAs carry traffic.

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_suite_args "$@"

CH_CYCLES=${E2E_CHURN_CYCLES:-400}
CH_MODULES=${E2E_CHURN_MODULES:-5}
CH_NETNS=${E2E_CHURN_NETNS:-50}
CH_FIG=$E2E_TMP/churn-figures
: >"$CH_FIG"

ch_wanted() { case "$1" in *"$filter"*) return 0 ;; esac; return 1; }

# the modules that serve the states: espah, or the in-tree four
ch_mods() { if [ "$E2E_IMPL" = espah ]; then echo espah; else echo esp4 esp6 ah4 ah6; fi; }

# ch_unused SECS: nothing holds the modules that serve the states
ch_unused() {
	for _m in $(ch_mods); do e2e_mod_wait_unused "$_m" "$1" || return 1; done
}

ch_refs() { for _m in $(ch_mods); do printf '%s=%s ' "$_m" "$(e2e_mod_refcnt "$_m")"; done; }

# ---------------------------------------------------------------- SA churn

ch_sa_diag() {
	e2e_diag_ns ca cb
	echo "== pings (last lines)"
	tail -n 3 "$E2E_TMP"/churn-ping-c[ab] 2>/dev/null
	echo "== batch errors (first lines)"
	head -n 5 "$E2E_TMP"/churn-*.err 2>/dev/null
}

ch_sa_setup() { e2e_transport_pair ca cb 10.81.0.1 10.81.0.2 gcm128 0x1001 0x2002; }

# ch_batch FILE: the cycles as "ip -batch" lines (the same for ca and cb)
ch_batch() {
	awk -v n="$CH_CYCLES" -v gk="$(e2e_algo gcm128 1 | cut -d' ' -f3)" \
	    -v ek="$E2E_ENC_KEY_1" -v ak="$E2E_AUTH_KEY_1" 'BEGIN {
		for (i = 0; i < n; i++) {
			if (i % 2) { s = "10.81.0.2"; d = "10.81.0.1"; r = 2 }
			else { s = "10.81.0.1"; d = "10.81.0.2"; r = 1 }
			spi = sprintf("0x%x", 0x100000 + i)
			id = "src " s " dst " d " proto esp spi " spi
			if (int(i / 4) % 2)
				alg = "enc cbc(aes) " ek " auth-trunc hmac(sha256) " ak " 128"
			else
				alg = "aead rfc4106(gcm(aes)) " gk " 128"
			add = "xfrm state add " id " reqid " r " mode transport replay-window 32 " alg
			k = i % 4
			if (k == 0) print add " limit time-hard 1"
			else if (k == 1) {
				print add
				print "xfrm state update " id " reqid " r " mode transport replay-window 32 " alg " limit time-soft 5 limit time-hard 9"
				print "xfrm state delete " id
			} else if (k == 2) {
				print add
				print "xfrm state delete " id
			} else print add " limit packet-hard 20 limit time-hard 2"
		}
	}' >"$1"
}

# ch_ping_start NS DST OUT: pings every 10 ms until killed, in rounds (a
# round ends early when a send fails: no SA for a moment)
ch_ping_start() {
	"$IP" netns exec "$1" sh -c "while :; do ping -c 50 -i 0.01 -W 1 $2; done" >"$3" 2>&1 &
	e2e_bg_add $!
	echo $! >"$3.pid"
}

# ch_ping_stop NS OUT: stop it; print how many answers came
ch_ping_stop() {
	_p=$(cat "$2.pid")
	kill -TERM "$_p" 2>/dev/null
	wait "$_p" 2>/dev/null
	sleep 1
	sed -n 's/.* \([0-9][0-9]*\) packets received.*/\1/p; s/.* \([0-9][0-9]*\) received.*/\1/p' "$2" |
		awk '{ s += $1 } END { print s + 0 }'
}

# ch_progress: how far the batches are, and what piles up while they run
ch_progress() {
	printf 'states ca %s cb %s, SPI reached ca %s cb %s, crypto algorithms %s' \
		"$("$IP" -n ca xfrm state | grep -c '^src')" "$("$IP" -n cb xfrm state | grep -c '^src')" \
		"$(ch_last_spi ca)" "$(ch_last_spi cb)" "$(grep -c '^name' /proc/crypto)"
}

# ch_last_spi NS: the highest churned SPI present (0x100000 + cycle)
ch_last_spi() {
	"$IP" -n "$1" xfrm state | sed -n 's/.* spi \(0x001[0-9a-f]\{5\}\) .*/\1/p' | sort | tail -n 1
}

# ch_churned NS: states left besides the two stable ones
ch_churned() { "$IP" -n "$1" xfrm state | grep -c '^src' | awk '{ print $1 - 2 }'; }

ch_sa_case() {
	name=sa-$1
	ch_wanted "$name" || return 0
	e2e_case_begin "$name" ch_sa_diag
	if [ "$1" = async ]; then
		if ! _why=$(e2e_async_crypto); then t_fail "$name: cryptd transforms" "$_why"; return; fi
	fi
	ch_sa_setup
	e2e_setup_check "$name" || return 0
	batch=$E2E_TMP/churn.batch
	ch_batch "$batch"
	for n in ca cb; do
		"$IP" -n "$n" xfrm monitor expire >"$E2E_TMP/churn-expire-$n" 2>&1 &
		e2e_bg_add $!
	done
	ch_ping_start ca 10.81.0.2 "$E2E_TMP/churn-ping-ca"
	ch_ping_start cb 10.81.0.1 "$E2E_TMP/churn-ping-cb"
	[ "$1" = async ] && crefs=$(e2e_cryptd_maxref)
	log "$name: $CH_CYCLES cycles ($(wc -l <"$batch") netlink requests per namespace) in ca and cb at once"
	t0=$(date +%s)
	"$IP" -n ca -force -batch "$batch" >/dev/null 2>"$E2E_TMP/churn-ca.err" &
	b1=$!
	"$IP" -n cb -force -batch "$batch" >/dev/null 2>"$E2E_TMP/churn-cb.err" &
	b2=$!
	e2e_perf_profile 20 "$name"
	e2e_modprobe_trace_start
	# progress every 10 s; each cryptd SA holds a reference: sample it
	_tick=0
	while kill -0 "$b1" 2>/dev/null || kill -0 "$b2" 2>/dev/null; do
		if [ "$1" = async ]; then
			_r=$(e2e_cryptd_maxref)
			[ "$_r" -gt "$crefs" ] && crefs=$_r
		fi
		_tick=$((_tick + 1))
		[ $((_tick % 10)) = 0 ] && log "$name: $(($(date +%s) - t0))s: $(ch_progress)"
		sleep 1
	done
	wait "$b1" "$b2"
	dt=$(($(date +%s) - t0))
	e2e_modprobe_trace_report "$name"
	# the last expiring states go after 2 s (time-hard 2)
	sleep 4
	got_a=$(ch_ping_stop ca "$E2E_TMP/churn-ping-ca")
	got_b=$(ch_ping_stop cb "$E2E_TMP/churn-ping-cb")
	errs=$(cat "$E2E_TMP"/churn-c[ab].err | grep -vc 'No such process')
	expired=$(cat "$E2E_TMP"/churn-expire-c[ab] | grep -c '^Expired')
	left_a=$(ch_churned ca) left_b=$(ch_churned cb)
	echo "$name cycles=$CH_CYCLES seconds=$dt expired=$expired answers=$got_a+$got_b" >>"$CH_FIG"
	log "$name: $dt s; batch errors $errs; $expired expirations seen; ping answers $got_a / $got_b; churned states left $left_a / $left_b"
	if [ "$errs" = 0 ]; then t_ok "$name: $CH_CYCLES cycles, $((2 * $(wc -l <"$batch"))) requests in ${dt}s, none refused"
	else t_fail "$name: every request accepted" "$errs errors, e.g. $(grep -v 'No such process' "$E2E_TMP"/churn-c[ab].err | head -n 2 | tr '\n' ' ')"; fi
	want=$((CH_CYCLES / 4 * 2))
	if [ "$expired" -ge "$want" ]; then t_ok "$name: $expired hard expirations (at least the $want time-hard 1 states of both namespaces)"
	else t_fail "$name: the expiring states expired" "$expired expirations seen, want at least $want"; fi
	if [ "$left_a" = 0 ] && [ "$left_b" = 0 ]; then t_ok "$name: every churned state is gone"
	else t_fail "$name: every churned state is gone" "left: ca $left_a, cb $left_b"; fi
	if [ "${got_a:-0}" -gt 0 ] && [ "${got_b:-0}" -gt 0 ]; then t_ok "$name: traffic flowed both ways during the churn ($got_a and $got_b answers)"
	else t_fail "$name: traffic during the churn" "ping answers: ca $got_a, cb $got_b"; fi
	if [ "$1" = async ]; then
		if [ "${crefs:-0}" -gt 1 ]; then t_ok "$name: the SAs ran on cryptd (async) transforms (max refcnt $crefs)"
		else t_fail "$name: the SAs ran on cryptd" "max cryptd refcnt ${crefs:-0}"; fi
	fi
	t_check "$name: the stable SAs carry traffic afterwards" e2e_ping ca 10.81.0.2 3
	t_check "$name: ... both ways" e2e_ping cb 10.81.0.1 3
	e2e_check_impl_in_use "$name: states bound to $E2E_IMPL" 4
	e2e_cleanup_all
	if ch_unused 60; then t_ok "$name: nothing holds $(ch_mods) afterwards"
	else t_fail "$name: nothing holds the module afterwards" "$(ch_refs)"; fi
}

# ---------------------------------------------------------------- modules

ch_mod_load() {
	if [ "$E2E_IMPL" = espah ]; then insmod "$ESPAH_KO"
	else for _m in esp4 esp6 ah4 ah6; do modprobe "$_m" || return 1; done; fi
}

ch_mod_unload() {
	# shellcheck disable=SC2046  # one module name per word
	rmmod $(ch_mods)
}

# ch_mod_sas: ESP and AH, IPv4 and IPv6, in ma (and their twins in mb)
ch_mod_sas() {
	for n in ma mb; do
		e2e_sa "$n" 10.82.0.1 10.82.0.2 0x1001 1 transport gcm128 1 || return 1
		e2e_sa "$n" 10.82.0.2 10.82.0.1 0x2002 2 transport cbc-sha256 2 || return 1
		# shellcheck disable=SC2046  # the algorithm words are split on purpose
		"$IP" -n "$n" xfrm state add src fd00:82::1 dst fd00:82::2 proto esp spi 0x3003 \
			mode transport $(e2e_algo gcm128 1) || return 1
		"$IP" -n "$n" xfrm state add src 10.82.0.1 dst 10.82.0.2 proto ah spi 0x4004 \
			mode transport auth-trunc 'hmac(sha256)' "$E2E_AUTH_KEY_1" 128 || return 1
		"$IP" -n "$n" xfrm state add src fd00:82::1 dst fd00:82::2 proto ah spi 0x5005 \
			mode transport auth-trunc 'hmac(sha256)' "$E2E_AUTH_KEY_1" 128 || return 1
	done
}

ch_modules() {
	name=modules
	ch_wanted "$name" || return 0
	e2e_case_begin "$name" ""
	e2e_ns_add ma mb
	e2e_veth ma ma0 mb mb0
	e2e_addr ma ma0 10.82.0.1/24
	e2e_addr mb mb0 10.82.0.2/24
	e2e_addr ma ma0 fd00:82::1/64
	e2e_addr mb mb0 fd00:82::2/64
	e2e_pol ma out 10.82.0.1/32 10.82.0.2/32 10.82.0.1 10.82.0.2 1 transport
	e2e_pol ma in 10.82.0.2/32 10.82.0.1/32 10.82.0.2 10.82.0.1 2 transport
	e2e_pol mb out 10.82.0.2/32 10.82.0.1/32 10.82.0.2 10.82.0.1 2 transport
	e2e_pol mb in 10.82.0.1/32 10.82.0.2/32 10.82.0.1 10.82.0.2 1 transport
	e2e_setup_check "$name" || return 0
	ch_unused 30 && ch_mod_unload
	i=0 bad="" t0=$(date +%s)
	while [ "$i" -lt "$CH_MODULES" ]; do
		i=$((i + 1))
		if ! ch_mod_load; then bad="cycle $i: load failed"; break; fi
		if ! ch_mod_sas; then bad="cycle $i: SAs refused"; break; fi
		_r=$(ch_refs)
		if ! e2e_ping ma 10.82.0.2 1 >/dev/null; then bad="cycle $i: no ping through the SAs"; break; fi
		"$IP" -n ma xfrm state flush
		"$IP" -n mb xfrm state flush
		if ! ch_unused 30; then bad="cycle $i: still held after the flush ($(ch_refs); with SAs: $_r)"; break; fi
		if ! ch_mod_unload; then bad="cycle $i: rmmod failed"; break; fi
		[ $((i % 10)) = 0 ] && log "$name: $i cycles"
	done
	dt=$(($(date +%s) - t0))
	echo "$name cycles=$i seconds=$dt" >>"$CH_FIG"
	if [ -z "$bad" ]; then t_ok "$name: $CH_MODULES load/unload cycles with ESP and AH SAs (v4, v6) made, used and flushed in between (${dt}s)"
	else t_fail "$name: load/unload cycles" "$bad"; fi
	ch_mod_loaded || ch_mod_load
	e2e_cleanup_all
}

ch_mod_loaded() { for _m in $(ch_mods); do e2e_mod_loaded "$_m" || return 1; done; }

# ---------------------------------------------------------------- namespaces

# ch_netns_script FILE: what runs in each new namespace: FILE.batch (the
# addresses, 4 SAs, 2 policies: one "ip -batch"), and for every tenth FILE,
# which also sends traffic through ESP on lo, still going when the
# namespace dies
ch_netns_script() {
	cat >"$1.batch" <<-EOF
	link set lo up
	addr add 10.83.0.1/8 dev lo
	addr add fd00:83::1/64 dev lo nodad
	xfrm state add src 127.0.0.1 dst 127.0.0.1 proto esp spi 0x1001 mode transport $(e2e_algo gcm128 1)
	xfrm state add src 10.83.0.1 dst 10.83.0.1 proto esp spi 0x1002 mode tunnel $(e2e_algo cbc-sha256 1)
	xfrm state add src fd00:83::1 dst fd00:83::1 proto esp spi 0x1003 mode transport $(e2e_algo gcm128 2)
	xfrm state add src 127.0.0.1 dst 127.0.0.1 proto ah spi 0x1004 mode transport auth-trunc hmac(sha256) $E2E_AUTH_KEY_1 128
	xfrm policy add src 127.0.0.1 dst 127.0.0.1 proto icmp dir out tmpl proto esp mode transport
	xfrm policy add src 127.0.0.1 dst 127.0.0.1 proto icmp dir in tmpl proto esp mode transport
	EOF
	cat >"$1" <<-EOF
	ip -batch $1.batch || exit 1
	ping -c 2 -i 0.2 -W 1 127.0.0.1 >/dev/null 2>&1 || echo "ping through ESP on lo failed"
	cat /proc/net/espah >/dev/null 2>&1
	ping -i 0.05 127.0.0.1 >/dev/null 2>&1 &
	sleep 0.2
	kill \$!
	EOF
}

ch_netns() {
	name=netns
	ch_wanted "$name" || return 0
	e2e_case_begin "$name" ""
	script=$E2E_TMP/churn-netns.sh
	ch_netns_script "$script"
	i=0 bad="" t0=$(date +%s)
	while [ "$i" -lt "$CH_NETNS" ]; do
		i=$((i + 1))
		if [ $((i % 10)) = 0 ]; then out=$(unshare -n sh "$script" 2>&1)
		else out=$(unshare -n "$IP" -batch "$script.batch" 2>&1); fi
		if [ -n "$out" ]; then bad="namespace $i: $(echo "$out" | head -n 2 | tr '\n' ' ')"; break; fi
		[ $((i % 100)) = 0 ] && log "$name: $i namespaces"
	done
	dt=$(($(date +%s) - t0))
	echo "$name namespaces=$i seconds=$dt" >>"$CH_FIG"
	if [ -z "$bad" ]; then t_ok "$name: $CH_NETNS namespaces made and destroyed, 4 SAs and 2 policies each, traffic in every tenth (${dt}s)"
	else t_fail "$name: namespaces with SAs" "$bad"; fi
	# namespaces are torn down by a worker: their states drop the module then
	if ch_unused 120; then t_ok "$name: every namespace's states released $(ch_mods)"
	else t_fail "$name: the namespaces' states released the module" "$(ch_refs)"; fi
	if [ "$E2E_IMPL" = espah ] && awk '$1 == "total" { for (i = 5; i <= NF; i++) s += $i } END { exit s != 0 }' /proc/net/espah; then
		t_ok "$name: the initial namespace's counters saw none of it"
	elif [ "$E2E_IMPL" = espah ]; then
		t_fail "$name: per-namespace counters" "$(cat /proc/net/espah)"
	fi
}

# ---------------------------------------------------------------- the end

ch_rmmod() {
	name=rmmod
	ch_wanted "$name" || return 0
	e2e_case_begin "$name" ""
	"$IP" xfrm state flush
	if ch_unused 60 && ch_mod_unload; then t_ok "$name: $(ch_mods) unloaded cleanly at the end"
	else t_fail "$name: unloaded cleanly at the end" "$(ch_refs)"; fi
	# later suites of this boot expect the implementation loaded
	ch_mod_load
}

ch_sa_case sync
ch_modules
ch_netns
ch_sa_case async
ch_rmmod
echo "# ---- churn figures (impl=$E2E_IMPL)"
sed 's/^/# CHURN /' "$CH_FIG"
t_finish
