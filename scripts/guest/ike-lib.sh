# shellcheck shell=sh
# shellcheck disable=SC3043  # local: the guest's sh (bash), busybox ash and dash all have it
# ike-lib.sh - real IKE daemons (strongSwan's charon, libreswan's pluto) in
# guest network namespaces, for e2e-ike.sh.  Sourced after lib.sh.
#
# A "node" is a network namespace running one IKE daemon: left (initiator,
# sends the test data) and right (responder); nat sits between them in the
# NAT cases.  The daemons are the distribution's binaries, unchanged
# (scripts/ike-daemons.sh puts them into the initramfs); each runs in its
# own mount namespace with a private /run, so two of them (pid files,
# control sockets) can share one guest.
#
# Both nodes can live in this guest (a veth between them), or right can live
# in a second guest (another kernel, another implementation) joined over
# QEMU socket networking (scripts/run-ike.sh).  Then every operation on right
# runs there through a small RPC over the link itself (ike_on NODE FUNCTION
# ARGS...: the function's output and exit status come back), so a test case
# is written once for both layouts.  Node functions keep their state in
# files under $IKE_DIR/NODE (pids, captures, received data), never in shell
# variables, because each call may be a separate shell in another guest.
#
# Addresses (private to the guests): wan 10.61.0.0/24 and fd00:61::/64
# (left .1, right .2), lans behind them 10.61.1.0/24 / 10.61.2.0/24 and
# fd00:61:1::/64 / fd00:61:2::/64, RPC 10.61.255.0/30, NAT inside 10.62.0.0/24.

IKE_DIR=${IKE_DIR:-/tmp/ike}
IKE_MAT=${IKE_MAT:-/espah/ike-material}
IKE_LOCAL_NODES=${IKE_LOCAL_NODES:-left right nat}
IKE_RPC_NS=${IKE_RPC_NS:-left}
IKE_RPC_ADDR=${IKE_RPC_ADDR:-10.61.255.2}
IKE_RPC_PORT=${IKE_RPC_PORT:-7777}
IKE_PSK=${IKE_PSK:-espah-ike-test-pre-shared-key-0123456789}
IKE_XFER_PORT=${IKE_XFER_PORT:-5001}
IKE_MAC_LEFT=52:54:00:1e:61:01
IKE_MAC_RIGHT=52:54:00:1e:61:02
SWANCTL=/usr/sbin/swanctl
CHARON=/usr/lib/ipsec/charon
LSEXEC=/usr/libexec/ipsec

mkdir -p "$IKE_DIR"

ike_peer() { case "$1" in left) echo right ;; *) echo left ;; esac; }
ike_node_is_local() { case " $IKE_LOCAL_NODES " in *" $1 "*) return 0 ;; esac; return 1; }
ike_ndir() { mkdir -p "$IKE_DIR/$1"; echo "$IKE_DIR/$1"; }

# ike_ip NODE wan|lan|lannet|ctl 4|6: one of NODE's addresses.  A file
# $IKE_DIR/NODE/ip-KIND-FAM overrides it (the NAT cases move left).
ike_ip() {
	[ -f "$IKE_DIR/$1/ip-$2-$3" ] && { cat "$IKE_DIR/$1/ip-$2-$3"; return; }
	case "$1:$2:$3" in
	left:wan:4) echo 10.61.0.1 ;;       right:wan:4) echo 10.61.0.2 ;;
	left:wan:6) echo fd00:61::1 ;;      right:wan:6) echo fd00:61::2 ;;
	left:lan:4) echo 10.61.1.1 ;;       right:lan:4) echo 10.61.2.1 ;;
	left:lan:6) echo fd00:61:1::1 ;;    right:lan:6) echo fd00:61:2::1 ;;
	left:lannet:4) echo 10.61.1.0/24 ;; right:lannet:4) echo 10.61.2.0/24 ;;
	left:lannet:6) echo fd00:61:1::/64 ;; right:lannet:6) echo fd00:61:2::/64 ;;
	left:ctl:4) echo 10.61.255.1 ;;     right:ctl:4) echo 10.61.255.2 ;;
	*) echo "no-address-$1-$2-$3"; return 1 ;;
	esac
}

# ---------------------------------------------------------------- RPC

# ike_quote WORD...: the words as one shell command line
ike_quote() {
	local _w
	for _w in "$@"; do
		printf "'%s' " "$(printf '%s' "$_w" | sed "s/'/'\\\\''/g")"
	done
}

# ike_on NODE FUNCTION ARGS...: run a node function where NODE lives; its
# output and exit status are the caller's.  Locally it runs in a subshell, so
# both layouts see the same semantics.
ike_on() {
	local _on_node _on_out _on_rc
	_on_node=$1; shift
	if ike_node_is_local "$_on_node"; then
		( "$@" )
		return
	fi
	_on_out=$(ike_quote "$@" | "$IP" netns exec "$IKE_RPC_NS" \
		socat -t 7200 -T 7200 - "TCP4:$IKE_RPC_ADDR:$IKE_RPC_PORT" 2>&1)
	_on_rc=$(echo "$_on_out" | sed -n 's/^IKE-RPC-RC=\([0-9]*\)$/\1/p' | tail -n 1)
	echo "$_on_out" | grep -v '^IKE-RPC-RC='
	if [ -z "$_on_rc" ]; then
		echo "RPC to $_on_node ($IKE_RPC_ADDR:$IKE_RPC_PORT) failed: no status came back"
		return 255
	fi
	return "$_on_rc"
}

# ike_rpc_wait SECONDS: until the other guest's RPC server answers
ike_rpc_wait() {
	local _rw_end
	_rw_end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$_rw_end" ]; do
		[ "$(ike_on right echo pong 2>/dev/null)" = pong ] && return 0
		sleep 1
	done
	return 1
}

# ike_rpc_serve NODE: the RPC server (second guest), in NODE's netns
ike_rpc_serve() {
	"$IP" netns exec "$1" socat -t 7200 -T 7200 \
		"TCP4-LISTEN:$IKE_RPC_PORT,bind=$(ike_ip "$1" ctl 4),reuseaddr,fork" \
		EXEC:"sh /espah/guest/ike-rpc.sh" </dev/null >"$IKE_DIR/rpc-server.log" 2>&1 &
	echo $! >"$IKE_DIR/rpc-server.pid"
}

# ---------------------------------------------------------------- processes

ike_pid_alive() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

# ike_pidfile_stop FILE [SIGNAL]: stop the process whose pid FILE holds
ike_pidfile_stop() {
	local _ps_pid _ps_i
	[ -f "$1" ] || return 0
	_ps_pid=$(cat "$1"); rm -f "$1"
	ike_pid_alive "$_ps_pid" || return 0
	kill "-${2:-TERM}" "$_ps_pid" 2>/dev/null
	_ps_i=0
	while ike_pid_alive "$_ps_pid" && [ "$_ps_i" -lt 50 ]; do sleep 0.1; _ps_i=$((_ps_i + 1)); done
	ike_pid_alive "$_ps_pid" && kill -KILL "$_ps_pid" 2>/dev/null
	return 0
}

# ike_pidfile_wait FILE SECONDS: until the process FILE names has ended (it
# need not be this shell's child: another RPC may have started it)
ike_pidfile_wait() {
	local _wp _wn
	_wp=$(cat "$1" 2>/dev/null)
	_wn=$(( $2 * 5 ))
	while ike_pid_alive "$_wp" && [ "$_wn" -gt 0 ]; do sleep 0.2; _wn=$((_wn - 1)); done
	rm -f "$1"
}

# ike_wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds
ike_wait_for() {
	local _wf_n
	_wf_n=$(( $1 * 5 )); shift
	while [ "$_wf_n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2; _wf_n=$((_wf_n - 1))
	done
	return 1
}

# ---------------------------------------------------------------- topology

# ike_nic NODE: move this guest's QEMU socket NIC (found by MAC) into NODE's
# netns as wan0, with NODE's RPC address
ike_nic() {
	local _mac _dev _ki _kd
	case "$1" in left) _mac=$IKE_MAC_LEFT ;; *) _mac=$IKE_MAC_RIGHT ;; esac
	modprobe -q virtio_pci 2>/dev/null; modprobe -q virtio_net 2>/dev/null
	_dev="" _ki=0
	while [ -z "$_dev" ] && [ "$_ki" -lt 100 ]; do
		for _kd in /sys/class/net/*; do
			[ "$(cat "$_kd/address" 2>/dev/null)" = "$_mac" ] && _dev=${_kd##*/}
		done
		[ -n "$_dev" ] || { sleep 0.1; _ki=$((_ki + 1)); }
	done
	[ -n "$_dev" ] || { echo "no NIC with MAC $_mac"; return 1; }
	e2e_ns_add "$1"
	"$IP" link set "$_dev" netns "$1" name wan0 || return 1
	"$IP" -n "$1" link set wan0 up
	"$IP" -n "$1" addr add "$(ike_ip "$1" ctl 4)/30" dev wan0
}

# ike_node_net NODE: wan addresses (wan0 must exist), a dummy lan0 with the
# lan addresses, routes to the peer's lan through the peer's wan address
ike_node_net() {
	local _nn _np _kf
	_nn=$1 _np=$(ike_peer "$1")
	for _kf in 4 6; do
		e2e_addr "$_nn" wan0 "$(ike_ip "$_nn" wan $_kf)/$([ $_kf = 4 ] && echo 24 || echo 64)"
	done
	"$IP" -n "$_nn" link add lan0 type dummy 2>/dev/null || "$IP" -n "$_nn" link show lan0 >/dev/null || return 1
	"$IP" -n "$_nn" link set lan0 up
	e2e_addr "$_nn" lan0 "$(ike_ip "$_nn" lan 4)/24"
	e2e_addr "$_nn" lan0 "$(ike_ip "$_nn" lan 6)/64"
	ike_lan_routes "$_nn" via
}

# ike_lan_routes NODE via|dev IFACE: how NODE reaches the peer's lan: via the
# peer's wan address (policy-based IPsec) or into an interface (route-based)
ike_lan_routes() {
	local _lp _kf _how
	_lp=$(ike_peer "$1")
	for _kf in 4 6; do
		if [ "$2" = via ]; then _how="via $(ike_ip "$_lp" wan $_kf) dev wan0"
		else _how="dev $3"; fi
		# shellcheck disable=SC2086
		"$IP" -n "$1" -$_kf route replace "$(ike_ip "$_lp" lannet $_kf)" $_how \
			src "$(ike_ip "$1" lan $_kf)" || return 1
	done
}

# ike_topo_local: both nodes in this guest, joined by a veth pair
ike_topo_local() {
	e2e_ns_add left right
	e2e_veth left wan0 right wan0
	ike_node_net left && ike_node_net right
}

# ike_crypto_warmup: instantiate every transform the cases use once, the
# way xfrm names them (AF_ALG binds: no SA, no ESP module involved): under
# TCG the first SA of a transform costs seconds of module loading and
# crypto self-tests, long enough for an IKE peer to give up while the
# responder still sits in its netlink call
ike_crypto_warmup() {
	local _kb _alg
	_kb=$(e2e_helper_bin algbind) || { echo "algbind helper missing"; return 1; }
	modprobe -q af_alg; modprobe -q algif_aead; modprobe -q algif_hash
	for _alg in "seqiv(rfc4106(gcm(aes)))" "seqiv(rfc7539esp(chacha20,poly1305))" \
		"echainiv(authenc(hmac(sha256),cbc(aes)))"; do
		"$_kb" aead "$_alg" || return 1
	done
	"$_kb" hash "hmac(sha256)"
}

# ---------------------------------------------------------------- per-case node state

# ike_node_reset NODE: no daemon, no SA, no policy but the ND bypass
ike_node_reset() {
	local _kd _kf
	_kd=$(ike_ndir "$1")
	ike_daemon_stop "$1"
	for _kf in "$_kd"/*.pid; do [ -f "$_kf" ] && ike_pidfile_stop "$_kf"; done
	"$IP" -n "$1" xfrm state flush
	"$IP" -n "$1" xfrm policy flush
	e2e_nd_bypass "$1"
	rm -rf "${_kd:?}"/case
	mkdir -p "$_kd/case"
}

# ike_case_start NODE: reset NODE, snapshot its counters, start the egress
# capture of its wan0 and an `ip xfrm monitor` (every SA with its keys, for
# the host's decoder)
ike_case_start() {
	local _kc
	ike_node_reset "$1" || return 1
	_kc=$IKE_DIR/$1/case
	ike_stats_snap "$1"
	"$IP" -n "$1" xfrm monitor >"$_kc/xfrm-monitor.txt" 2>&1 </dev/null &
	echo $! >"$IKE_DIR/$1/monitor.pid"
	ike_cap_start "$1"
}

# ike_cap_start NODE: capture what NODE sends on wan0 (the wire; not what
# it receives: decapsulated tunnel packets are re-injected on the receiving
# device, so an ingress capture would show them in the clear)
ike_cap_start() {
	local _cf
	_cf=$IKE_DIR/$1/case/wire.pcap
	"$IP" netns exec "$1" tcpdump -i wan0 -Q out -n -s 0 -U -B 32768 --immediate-mode \
		-w "$_cf" </dev/null >/dev/null 2>"$_cf.err" &
	echo $! >"$IKE_DIR/$1/cap.pid"
	ike_wait_for 10 grep -q "listening on" "$_cf.err" || { echo "tcpdump in $1: $(cat "$_cf.err")"; return 1; }
}

ike_cap_stop() {
	local _kdr
	sleep 0.3
	ike_pidfile_stop "$IKE_DIR/$1/cap.pid"
	_kdr=$(sed -n 's/^\([0-9]*\) packets dropped by kernel/\1/p' "$IKE_DIR/$1/case/wire.pcap.err" 2>/dev/null)
	[ "${_kdr:-0}" -gt 0 ] && echo "WARNING: capture in $1 dropped $_kdr packets"
	return 0
}

# ---------------------------------------------------------------- case profile

# ike_profile KEY=VALUE...: the connection both daemons are configured with
#   fam=4|6 mode=tunnel|transport auth=psk|cert esp=PROPOSAL | ah=PROPOSAL
#   (strongSwan's names; libreswan's are derived), ike=PROPOSAL,
#   start=none|trap (left), ts=subnet|any, ifid=N (XFRM interface),
#   mark=N (VTI), dpd=SECONDS (left), encap=yes, nat=yes (right accepts any
#   remote address), rekey=SECONDS (CHILD_SA), pfs=GROUP|no
ike_profile() {
	local _kv _kk _v
	P_FAM=4 P_MODE=tunnel P_AUTH=psk P_ESP=aes128gcm16 P_AH="" P_IKE=""
	P_START=none P_TS=subnet P_IFID="" P_MARK="" P_DPD="" P_ENCAP=no P_NAT=no
	P_REKEY=3600 P_PFS=""
	for _kv in "$@"; do
		_kk=${_kv%%=*} _v=${_kv#*=}
		case "$_kk" in
		fam|mode|auth|esp|ah|ike|start|ts|ifid|mark|dpd|encap|nat|rekey|pfs) ;;
		*) echo "ike_profile: unknown key '$_kk'"; return 1 ;;
		esac
		eval "P_$(echo "$_kk" | tr '[:lower:]' '[:upper:]')=\$_v"
	done
	[ -n "$P_AH" ] && P_ESP=""
	return 0
}

# ike_ts NODE local|remote: the traffic selector strongSwan/libreswan get
ike_ts() {
	local _tn
	_tn=$1; [ "$2" = remote ] && _tn=$(ike_peer "$1")
	case "$P_MODE:$P_TS" in
	transport:*) echo "" ;;
	*:any) if [ "$P_FAM" = 4 ]; then echo 0.0.0.0/0; else echo ::/0; fi ;;
	*) ike_ip "$_tn" lannet "$P_FAM" ;;
	esac
}

# ---------------------------------------------------------------- daemons

# ike_daemon_launch NODE NAME CMD...: CMD in NODE's netns and a mount
# namespace of its own (private /run: pid files, control sockets)
ike_daemon_launch() {
	local _dl_node _dl_name _dl_dir
	_dl_node=$1 _dl_name=$2; shift 2
	_dl_dir=$(ike_ndir "$_dl_node")
	"$IP" netns exec "$_dl_node" unshare -m sh -c \
		'mount -t tmpfs tmpfs /run && mkdir -p /run/pluto && exec "$@"' sh "$@" \
		</dev/null >"$_dl_dir/$_dl_name.out" 2>&1 &
	echo $! >"$_dl_dir/daemon.pid"
	echo "$_dl_name" >"$_dl_dir/daemon"
}

# ike_in NODE CMD...: CMD in NODE's daemon's mount and network namespaces
ike_in() {
	local _in_pid
	_in_pid=$(cat "$IKE_DIR/$1/daemon.pid" 2>/dev/null) || { echo "no daemon in $1"; return 1; }
	shift
	# (a daemon's control tool may wait forever for an exchange that never ends)
	timeout "${IKE_CMD_TIMEOUT:-120}" nsenter -t "$_in_pid" -m -n "$@"
}

ike_daemon_kind() { cat "$IKE_DIR/$1/daemon" 2>/dev/null; }

ike_daemon_stop() {
	local _ds_dir
	_ds_dir=$IKE_DIR/$1
	[ -f "$_ds_dir/daemon.pid" ] || return 0
	ike_pidfile_stop "$_ds_dir/daemon.pid"
	rm -f "$_ds_dir/daemon"
}

# ike_log NODE: the daemon's log file
ike_log() {
	case "$(ike_daemon_kind "$1")" in
	pluto) echo "$IKE_DIR/$1/pluto.log" ;;
	*) echo "$IKE_DIR/$1/charon.log" ;;
	esac
}

# ike_start NODE charon|pluto PROFILE...: configure and start NODE's daemon,
# load the connection "c"
ike_start() {
	local _st_node _st_d
	_st_node=$1 _st_d=$2; shift 2
	ike_profile "$@" || return 1
	case "$_st_d" in
	charon) sw_write "$_st_node" && sw_start "$_st_node" ;;
	pluto) ls_write "$_st_node" && ls_start "$_st_node" ;;
	*) echo "unknown daemon $_st_d"; return 1 ;;
	esac
}

ike_stop() { ike_daemon_stop "$1"; }

# ike_initiate NODE: bring connection c up from NODE; prints the daemon's output
ike_initiate() {
	case "$(ike_daemon_kind "$1")" in
	charon) sw "$1" --initiate --child c --timeout 60 || return 1 ;;
	pluto) ls_whack "$1" --name c --initiate ;;
	*) echo "no daemon in $1"; return 1 ;;
	esac
	# (whack's exit status does not tell whether the CHILD_SA came up)
	[ -n "$(ike_daemon_spis "$1")" ] || { echo "no CHILD_SA installed in $1"; return 1; }
}

# ike_rekey NODE child|ike
ike_rekey() {
	case "$(ike_daemon_kind "$1"):$2" in
	charon:child) sw "$1" --rekey --child c ;;
	charon:ike) sw "$1" --rekey --ike c ;;
	pluto:child) ls_whack "$1" --name c --rekey-ipsec ;;
	pluto:ike) ls_whack "$1" --name c --rekey-ike ;;
	*) echo "cannot rekey $2 in $1"; return 1 ;;
	esac
}

# ike_daemon_spis NODE: "in SPI" and "out SPI" (0x%08x) of the installed
# CHILD_SAs, as the daemon negotiated them
ike_daemon_spis() {
	local _sp_peer
	case "$(ike_daemon_kind "$1")" in
	charon)
		sw "$1" --list-sas 2>/dev/null | awk '
			/^ *[a-z]+: #[0-9]+, reqid/ { inst = ($0 ~ /INSTALLED/) }
			inst && /^ +in +[0-9a-f]+/  { sub(/,.*/, "", $2); printf "in 0x%s\n", $2 }
			inst && /^ +out +[0-9a-f]+/ { sub(/,.*/, "", $2); printf "out 0x%s\n", $2 }' ;;
	pluto)
		# "esp.SPI@ADDR": SAs towards the peer's address are outbound
		_sp_peer=$(ike_ip "$(ike_peer "$1")" wan "$(cat "$IKE_DIR/$1/fam")")
		# ("#2: "c" esp.SPI@PEER esp.SPI@SELF tun.0@... Traffic: ..." per
		# Child SA; over IPv6 the separator is a colon: esp:SPI@PEER)
		ls_whack "$1" --status 2>/dev/null | grep -o '\(esp\|ah\)[.:][0-9a-f]*@[0-9a-f.:]*' | sort -u | awk -v peer="$_sp_peer" '
				{ split($0, a, "@"); spi = a[1]; sub(/^[a-z]+[.:]/, "", spi)
				  while (length(spi) < 8) spi = "0" spi
				  printf "%s 0x%s\n", (a[2] == peer ? "out" : "in"), spi }' ;;
	esac
}

# ike_kernel_spis NODE: "in|out SPI PROTO SRC DST" for every ESP/AH state in
# NODE's netns (out: its source is one of NODE's addresses)
ike_kernel_spis() {
	local _ks_local
	_ks_local=" $("$IP" -n "$1" -o addr show | awk '{ sub(/\/.*/, "", $4); printf "%s ", $4 }')"
	"$IP" -n "$1" xfrm state | awk -v loc="$_ks_local" '
		/^src / { s = $2; d = $4 }
		/^\tproto (esp|ah) spi / { dir = (index(loc, " " s " ") ? "out" : "in")
			printf "%s %s %s %s %s\n", dir, $4, $2, s, d }'
}

# ---------------------------------------------------------------- strongSwan

# sw NODE ARGS...: swanctl against NODE's charon
sw() { local _swn; _swn=$1; shift; ike_in "$_swn" env STRONGSWAN_CONF="$IKE_DIR/$_swn/strongswan.conf" "$SWANCTL" "$@"; }

# sw_retransmits: with DPD, a dead peer is declared dead after ~7 s, not
# minutes; otherwise charon's defaults (a slow TCG guest must not look dead)
sw_retransmits() {
	[ -n "$P_DPD" ] || return 0
	printf '\tretransmit_timeout = 1.0\n\tretransmit_base = 1.4\n\tretransmit_tries = 3\n'
}

# sw_write NODE: strongswan.conf and swanctl.conf for the current profile
sw_write() {
	local _kn _kp _kd _la _ra _ike _lauth _rauth _prop _lts _rts _start
	_kn=$1 _kp=$(ike_peer "$1") _kd=$(ike_ndir "$1")
	rm -rf "$_kd/swanctl"
	mkdir -p "$_kd/swanctl/x509" "$_kd/swanctl/x509ca" "$_kd/swanctl/private"
	echo "$P_FAM" >"$_kd/fam"
	cat >"$_kd/strongswan.conf" <<-EOF
	charon {
		load = random nonce openssl kdf pem pkcs1 pkcs8 x509 pubkey revocation constraints kernel-netlink socket-default vici
		# routes are the test's business (lan routes, XFRM/VTI interfaces)
		install_routes = no
$(sw_retransmits)
		# old inbound SAs stay 2 s after a rekey for packets in flight
		delete_rekeyed_delay = 2
		# under TCG one vCPU stalls while the other sends dozens of packets
		# of the same SA (ACKs from both CPUs, async crypto): a 32-packet
		# window drops some as too old, for the in-tree stack too; 128 is
		# libreswan's default (and the other e2e suites')
		replay_window = 128
		filelog {
			charon {
				path = $_kd/charon.log
				time_format = %T
				append = no
				flush_line = yes
				default = 1
				knl = 2
			}
		}
	}
	swanctl {
		load = random openssl pem pkcs1 pkcs8 x509 pubkey revocation constraints
	}
	EOF
	_la=$(ike_ip "$_kn" wan "$P_FAM") _ra=$(ike_ip "$_kp" wan "$P_FAM")
	[ "$P_NAT" = yes ] && [ "$_kn" = right ] && _ra=%any
	_ike=${P_IKE:-aes128-sha256-x25519}
	if [ "$P_AUTH" = cert ]; then
		cp "$IKE_MAT/ca.pem" "$_kd/swanctl/x509ca/ca.pem"
		cp "$IKE_MAT/$_kn.pem" "$_kd/swanctl/x509/$_kn.pem"
		cp "$IKE_MAT/$_kn.key" "$_kd/swanctl/private/$_kn.key"
		_lauth="auth = pubkey
			certs = $_kn.pem
			id = $_kn.espah.test"
		_rauth="auth = pubkey
			id = $_kp.espah.test"
	else
		_lauth="auth = psk
			id = $_kn"
		_rauth="auth = psk
			id = $_kp"
	fi
	if [ -n "$P_AH" ]; then _prop="ah_proposals = $P_AH${P_PFS:+-$P_PFS}"
	else _prop="esp_proposals = $P_ESP${P_PFS:+-$P_PFS}"; fi
	_lts=$(ike_ts "$_kn" local) _rts=$(ike_ts "$_kn" remote)
	_start=none
	[ "$_kn" = left ] && _start=$P_START
	{
		echo "connections { c {"
		echo "	version = 2"
		echo "	local_addrs = $_la"
		echo "	remote_addrs = $_ra"
		echo "	proposals = $_ike"
		echo "	encap = $P_ENCAP"
		echo "	rekey_time = 4h"
		echo "	reauth_time = 0"
		[ -n "$P_DPD" ] && [ "$_kn" = left ] && echo "	dpd_delay = ${P_DPD}s"
		echo "	local { $_lauth"
		echo "	}"
		echo "	remote { $_rauth"
		echo "	}"
		echo "	children { c {"
		echo "		mode = $P_MODE"
		echo "		$_prop"
		[ -n "$_lts" ] && echo "		local_ts = $_lts"
		[ -n "$_rts" ] && echo "		remote_ts = $_rts"
		echo "		start_action = $_start"
		echo "		rekey_time = ${P_REKEY}s"
		[ -n "$P_DPD" ] && echo "		dpd_action = clear"
		[ -n "$P_IFID" ] && echo "		if_id_in = $P_IFID" && echo "		if_id_out = $P_IFID"
		[ -n "$P_MARK" ] && echo "		mark_in = $P_MARK" && echo "		mark_out = $P_MARK"
		echo "	} }"
		echo "} }"
		if [ "$P_AUTH" = psk ]; then
			echo "secrets { ike-1 { id-1 = left"
			echo "	id-2 = right"
			echo "	secret = \"$IKE_PSK\""
			echo "} }"
		fi
	} >"$_kd/swanctl/swanctl.conf"
}

# sw_start NODE: charon up, its control socket answering, connection loaded
sw_start() {
	local _kd _ko
	_kd=$IKE_DIR/$1
	ike_daemon_launch "$1" charon env STRONGSWAN_CONF="$_kd/strongswan.conf" "$CHARON"
	# (waiting on the socket file: a swanctl every 0.2 s would slow charon down)
	if ! ike_wait_for 30 ike_in "$1" test -S /run/charon.vici || ! sw "$1" --stats >/dev/null 2>&1; then
		echo "charon in $1 did not come up: $(tail -n 5 "$_kd/charon.out" "$_kd/charon.log" 2>&1)"
		echo "swanctl --stats: $(sw "$1" --stats 2>&1 | tail -n 3)"
		return 1
	fi
	_ko=$(sw "$1" --load-all --file "$_kd/swanctl/swanctl.conf" 2>&1) || {
		echo "swanctl --load-all in $1 failed: $_ko"; return 1; }
	echo "$_ko" | grep -q "loaded connection 'c'" || { echo "connection not loaded in $1: $_ko"; return 1; }
}

# ---------------------------------------------------------------- libreswan

# ls_whack NODE ARGS...: whack against NODE's pluto
ls_whack() { local _lwn; _lwn=$1; shift; ike_in "$_lwn" "$LSEXEC/whack" "$@"; }

# ls_proposal esp|ike|ah STRONGSWAN-PROPOSAL: libreswan's name for it
ls_proposal() {
	case "$1:$2" in
	esp:aes128gcm16) echo aes_gcm128 ;;
	esp:aes128-sha256) echo aes128-sha2_256 ;;
	esp:chacha20poly1305) echo chacha20_poly1305 ;;
	ah:sha256) echo sha2_256 ;;
	ike:aes128-sha256-ecp256) echo aes128-sha2_256-dh19 ;;
	ike:aes128-sha256-x25519) echo aes128-sha2_256-dh31 ;;
	*) echo "no-libreswan-name-for-$2"; return 1 ;;
	esac
}

# ls_write NODE: ipsec.conf and ipsec.secrets for the current profile
ls_write() {
	local _kn _kp _kd _ike _prop _lts _rts
	_kn=$1 _kp=$(ike_peer "$1") _kd=$(ike_ndir "$1")
	echo "$P_FAM" >"$_kd/fam"
	_ike=$(ls_proposal ike "${P_IKE:-aes128-sha256-x25519}") || { echo "$_ike"; return 1; }
	if [ -n "$P_AH" ]; then _prop="ah=$(ls_proposal ah "$P_AH")" || { echo "$_prop"; return 1; }
	else _prop="esp=$(ls_proposal esp "$P_ESP")" || { echo "$_prop"; return 1; }; fi
	_lts=$(ike_ts "$_kn" local) _rts=$(ike_ts "$_kn" remote)
	{
		echo "config setup"
		echo "	logfile=$_kd/pluto.log"
		echo "	logappend=no"
		echo "	dnssec-enable=no"
		echo "	uniqueids=yes"
		echo ""
		echo "conn c"
		echo "	ikev2=yes"
		echo "	authby=secret"
		echo "	left=$(ike_ip "$_kn" wan "$P_FAM")"
		echo "	leftid=@$_kn"
		echo "	right=$(ike_ip "$_kp" wan "$P_FAM")"
		echo "	rightid=@$_kp"
		[ -n "$_lts" ] && echo "	leftsubnet=$_lts"
		[ -n "$_rts" ] && echo "	rightsubnet=$_rts"
		echo "	type=$P_MODE"
		echo "	ike=$_ike"
		echo "	$_prop"
		if [ "$P_PFS" = no ]; then echo "	pfs=no"; else echo "	pfs=yes"; fi
		echo "	salifetime=${P_REKEY}s"
		echo "	ikelifetime=4h"
		echo "	auto=add"
	} >"$_kd/ipsec.conf"
	echo "@left @right : PSK \"$IKE_PSK\"" >"$_kd/ipsec.secrets"
	chmod 600 "$_kd/ipsec.secrets"
	rm -rf "$_kd/nss"; cp -a "$IKE_MAT/nss" "$_kd/nss"
}

ls_start() {
	local _kd _ko
	_kd=$IKE_DIR/$1
	ike_daemon_launch "$1" pluto "$LSEXEC/pluto" --nofork --config "$_kd/ipsec.conf" \
		--secretsfile "$_kd/ipsec.secrets" --nssdir "$_kd/nss" --rundir /run/pluto \
		--logfile "$_kd/pluto.log"
	# (addconn reads it to resolve names; this guest has none)
	[ -f /etc/resolv.conf ] || : >/etc/resolv.conf
	if ! ike_wait_for 30 ls_whack "$1" --status; then
		echo "pluto in $1 did not come up: $(tail -n 5 "$_kd/pluto.out" "$_kd/pluto.log" 2>&1)"
		return 1
	fi
	_ko=$(ike_in "$1" "$LSEXEC/addconn" --config "$_kd/ipsec.conf" c 2>&1) || {
		echo "addconn in $1 failed: $_ko"; return 1; }
	ls_whack "$1" --listen >/dev/null 2>&1
	return 0
}

# ---------------------------------------------------------------- traffic

# ike_payload CHUNKS: path of a test payload (E2E_MARKER lines and CHUNKS x
# 512 KiB random, lib.sh's e2e_make_payload), made once per size
ike_payload() {
	local _pd
	_pd=$IKE_DIR/payload-$1
	mkdir -p "$_pd"
	[ -s "$_pd/payload" ] || E2E_TMP=$_pd E2E_PAYLOAD_CHUNKS=$1 e2e_make_payload >/dev/null
	echo "$_pd/payload"
}

# ike_sha FILE: "BYTES SHA256"
ike_sha() { echo "$(wc -c <"$1") $(sha256sum "$1" | cut -d' ' -f1)"; }

ike_listening() { ns "$1" ss -ltnH "sport = :$IKE_XFER_PORT" 2>/dev/null | grep -q .; }

# ike_xfer_listen NODE ADDR: a TCP receiver on ADDR writing into case/rx
ike_xfer_listen() {
	local _kc _kl
	_kc=$IKE_DIR/$1/case
	rm -f "$_kc/rx"
	case "$2" in
	*:*) _kl="TCP6-LISTEN:$IKE_XFER_PORT,bind=[$2],reuseaddr" ;;
	*) _kl="TCP4-LISTEN:$IKE_XFER_PORT,bind=$2,reuseaddr" ;;
	esac
	"$IP" netns exec "$1" timeout "$E2E_TCP_TIMEOUT" socat -u "$_kl" "CREATE:$_kc/rx" \
		</dev/null >/dev/null 2>"$_kc/rx.err" &
	echo $! >"$IKE_DIR/$1/rx.pid"
	ike_wait_for 10 ike_listening "$1" || { echo "receiver in $1 not listening: $(cat "$_kc/rx.err")"; return 1; }
}

# ike_xfer_result NODE: wait for the receiver to finish; "BYTES SHA256"
ike_xfer_result() {
	ike_pidfile_wait "$IKE_DIR/$1/rx.pid" "$E2E_TCP_TIMEOUT"
	[ -f "$IKE_DIR/$1/case/rx" ] || { echo "0 nothing-received $(cat "$IKE_DIR/$1/case/rx.err")"; return 1; }
	ike_sha "$IKE_DIR/$1/case/rx"
}

# ike_xfer_rx_bytes NODE: bytes received so far
ike_xfer_rx_bytes() { wc -c <"$IKE_DIR/$1/case/rx" 2>/dev/null || echo 0; }

# ike_paced_cat FILE MS: FILE in 64 KiB blocks, MS milliseconds apart (a
# transfer that lasts long enough to rekey under it)
ike_paced_cat() {
	local _pb _pi _ps
	_pb=$(( ($(wc -c <"$1") + 65535) / 65536 )) _pi=0
	_ps=$(awk -v ms="$2" 'BEGIN { printf "%.3f", ms / 1000 }')
	while [ "$_pi" -lt "$_pb" ]; do
		dd if="$1" bs=65536 skip="$_pi" count=1 2>/dev/null
		sleep "$_ps"
		_pi=$((_pi + 1))
	done
}

# ike_xfer_send NODE DST SRC CHUNKS [MS]: send a payload from SRC to DST
# (paced: MS between 64 KiB blocks); prints "sent BYTES SHA256"
ike_xfer_send() {
	local _pf _cs _ce _xr
	_pf=$(ike_payload "$4")
	# (exported with the capture: the decoder compares what it decrypts)
	echo "$_pf" >"$IKE_DIR/$1/case/payload-path"
	case "$2" in
	*:*) _cs="TCP6:[$2]:$IKE_XFER_PORT,bind=[$3]" ;;
	*) _cs="TCP4:$2:$IKE_XFER_PORT,bind=$3" ;;
	esac
	_ce=$IKE_DIR/$1/case/tx.err
	if [ -n "${5:-}" ]; then
		ike_paced_cat "$_pf" "$5" | ns "$1" timeout "$E2E_TCP_TIMEOUT" socat -u STDIN "$_cs" 2>"$_ce"
	else
		ns "$1" timeout "$E2E_TCP_TIMEOUT" socat -u "OPEN:$_pf" "$_cs" 2>"$_ce"
	fi
	_xr=$?
	[ "$_xr" = 0 ] || { echo "sender exit $_xr: $(tail -n 2 "$_ce" | tr '\n' ' ')"; return 1; }
	echo "sent $(ike_sha "$_pf")"
}

# ike_xfer_send_bg NODE DST SRC CHUNKS MS / ike_xfer_send_wait NODE: the same
# in the background
ike_xfer_send_bg() {
	ike_xfer_send "$@" </dev/null >"$IKE_DIR/$1/case/tx.out" 2>&1 &
	echo $! >"$IKE_DIR/$1/tx.pid"
}
ike_xfer_send_wait() {
	ike_pidfile_wait "$IKE_DIR/$1/tx.pid" "$E2E_TCP_TIMEOUT"
	cat "$IKE_DIR/$1/case/tx.out"
	grep -q '^sent ' "$IKE_DIR/$1/case/tx.out"
}

# ---------------------------------------------------------------- checks (run where NODE lives)

# ike_check_impl NODE SPI...: this guest's implementation holds the SAs:
# espah: module references, /proc/net/espah lists every SPI, no in-tree
# ESP/AH module loaded; intree: the in-tree modules hold references
ike_check_impl() {
	local _ci_n _km _kref _tab _ks
	_ci_n=$1; shift
	if [ "$E2E_IMPL" = espah ]; then
		for _km in esp4 esp6 ah4 ah6; do
			e2e_mod_loaded "$_km" && { echo "in-tree $_km got loaded: the SAs may not be espah's"; return 1; }
		done
		_kref=$(e2e_mod_refcnt espah)
		[ "${_kref:-0}" -gt 0 ] || { echo "espah refcount '${_kref:-absent}' with SAs installed"; return 1; }
		_tab=$(ns "$_ci_n" cat /proc/net/espah 2>&1)
		for _ks in "$@"; do
			echo "$_tab" | awk -v s="$_ks" '$3 == s { f = 1 } END { exit !f }' ||
				{ echo "SA $_ks missing from /proc/net/espah in $_ci_n: $(echo "$_tab" | awk '{ print $1, $2, $3 }' | tr '\n' ';')"; return 1; }
		done
		echo "espah refcount $_kref, /proc/net/espah in $_ci_n lists $*"
	else
		_kref=0
		for _km in esp4 esp6 ah4 ah6; do _kref=$((_kref + $(e2e_mod_refcnt "$_km" || echo 0) + 0)); done
		[ "$_kref" -gt 0 ] || { echo "no in-tree ESP/AH module holds a reference"; return 1; }
		echo "in-tree modules: $(awk '$1 ~ /^(esp4|esp6|ah4|ah6)$/ { printf "%s(ref %s) ", $1, $3 }' /proc/modules)"
	fi
}

# ike_impl_refs: module references this guest's implementation holds
# (one per ESP/AH state, also a deleted one something still references)
ike_impl_refs() {
	local _m _r=0
	if [ "$E2E_IMPL" = espah ]; then e2e_mod_refcnt espah; return; fi
	for _m in esp4 esp6 ah4 ah6; do _r=$((_r + $(e2e_mod_refcnt "$_m" || echo 0) + 0)); done
	echo "$_r"
}

# ike_guest_sas: ESP/AH states in every netns of this guest
ike_guest_sas() {
	local _kn
	{ "$IP" xfrm state; for _kn in $("$IP" netns list | awk '{ print $1 }'); do "$IP" -n "$_kn" xfrm state; done; } |
		grep -c '^	proto \(esp\|ah\) '
}

# ike_check_gone NODE: no ESP/AH SA left in NODE's netns, nor a per-SA line
# in /proc/net/espah (espah); with no SA left in the whole guest, no module
# reference either (a deleted state something still holds)
ike_check_gone() {
	local _left _rows _refs
	_left=$("$IP" -n "$1" xfrm state | grep -c '^	proto \(esp\|ah\) ')
	[ "$_left" = 0 ] || { echo "$_left SAs still in $1: $("$IP" -n "$1" xfrm state | grep 'proto' | tr '\n' ';')"; return 1; }
	if [ "$E2E_IMPL" = espah ]; then
		_rows=$(ns "$1" cat /proc/net/espah | awk '$1 != "proto" && $1 != "total"')
		[ -z "$_rows" ] || { echo "/proc/net/espah in $1 still lists: $(echo "$_rows" | tr '\n' ';') (deleted from the SAD, still referenced)"; return 1; }
	fi
	if [ "$(ike_guest_sas)" = 0 ]; then
		_refs=$(ike_impl_refs)
		[ "${_refs:-0}" = "$(ike_leaked_refs)" ] || { echo "no SA left in this guest, but $E2E_IMPL holds $_refs module references (leaked before: $(ike_leaked_refs)): a deleted state is still referenced"; return 1; }
	fi
	echo "no SA left in $1${_refs:+, $E2E_IMPL module references $_refs (leaked before: $(ike_leaked_refs))}"
}

# ike_stats_snap NODE / ike_check_stats NODE [ALLOWED-REGEX]: no
# /proc/net/xfrm_stat counter and (espah) no drop counter of NODE rose in
# between, but those ALLOWED
ike_stats_snap() {
	e2e_stat_snap "$1" "$IKE_DIR/$1/case/xfrm_stat.before"
	e2e_espah_drops "$1" >"$IKE_DIR/$1/case/espah.before"
}
ike_check_stats() {
	local _cs_c _kx _ke
	_cs_c=$IKE_DIR/$1/case
	e2e_stat_snap "$1" "$_cs_c/xfrm_stat.after"
	_kx=$(e2e_stat_diff "$_cs_c/xfrm_stat.before" "$_cs_c/xfrm_stat.after" | grep -Ev "${2:-^$}" | tr '\n' ' ')
	_ke=""
	if [ "$E2E_IMPL" = espah ] && [ "$(e2e_espah_drops "$1")" != "$(cat "$_cs_c/espah.before")" ]; then
		_ke="espah drop counters before: $(cat "$_cs_c/espah.before"); after: $(e2e_espah_drops "$1")"
	fi
	[ -z "$_kx$_ke" ] || { echo "$1: ${_kx:+xfrm_stat rose: $_kx}$_ke"; return 1; }
	echo "$1: no xfrm_stat error counter${E2E_IMPL:+ nor $E2E_IMPL drop counter} rose"
}

# ike_check_sa_counters NODE: every SA of NODE moved packets, none failed
# integrity (read from the listing: `ip xfrm state get` misses marked SAs)
ike_check_sa_counters() {
	"$IP" -n "$1" -s xfrm state | awk -v node="$1" '
		function emit() {
			if (spi == "") return
			n++
			printf "%s: %s SA %s->%s spi %s packets=%s failed=%s too-old=%s replayed=%s\n", node, pr, src, dst, spi, pk, fl, rw, rp
			if (pk + 0 <= 0 || fl + 0 > 0) bad = 1
			spi = ""
		}
		/^src / { emit(); src = $2; dst = $4 }
		/^\tproto (esp|ah) spi / { spi = $4; sub(/\(.*/, "", spi); pr = $2; pk = fl = rw = rp = 0 }
		/lifetime current:/ { getline; gsub(/[(),]/, " ")
			for (i = 1; i < NF; i++) if ($(i + 1) == "packets") pk = $i }
		# "replay-window N replay N failed N": dropped as too old for the
		# window, as a sequence number seen before, on a bad ICV
		/replay-window .* failed/ { rw = $2; rp = $4; fl = $6 }
		END { emit(); if (!n) { print node ": no SA"; bad = 1 }; exit bad }'
}

# ike_pcap_spis PCAP esp|ah: "SPI" per ESP (also UDP-encapsulated) or AH packet
ike_pcap_spis() {
	if [ "$2" = ah ]; then
		tcpdump -r "$1" -n 2>/dev/null | sed -n 's/.*AH(spi=\(0x[0-9a-f]*\),.*/\1/p'
	else
		e2e_pcap_esp "$1" | cut -d' ' -f1
	fi
}

# ike_check_wire NODE esp|ah SPI...: what NODE sent: packets of the protocol,
# every one with one of SPI (the negotiated outbound SPIs), no TCP or ICMP
# in the clear, and (ESP) the payload's plaintext marker nowhere
ike_check_wire() {
	local _cw_n _cw_p _kpc _seen _cnt _ks _plain _mk
	_cw_n=$1 _cw_p=$2; shift 2
	_kpc=$IKE_DIR/$_cw_n/case/wire.pcap
	_seen=$(ike_pcap_spis "$_kpc" "$_cw_p")
	_cnt=$(echo "$_seen" | grep -c .)
	[ "$_cnt" -gt 0 ] || { echo "$_cw_n sent no $_cw_p packet"; e2e_pcap_summary "$_kpc" 10; return 1; }
	for _ks in $(echo "$_seen" | sort -u); do
		case " $* " in *" $_ks "*) ;; *) echo "$_cw_n sent $_cw_p with SPI $_ks, not a negotiated one ($*)"; return 1 ;; esac
	done
	# (the RPC between two guests is plain TCP on its own addresses)
	_plain=$(e2e_pcap_count "(($E2E_PLAIN_FILTER_4) or ($E2E_PLAIN_FILTER_6)) and not (ip and net 10.61.255.0/30)" "$_kpc")
	[ "$_plain" = 0 ] || { echo "$_cw_n sent $_plain TCP/ICMP packets in the clear"; tcpdump -r "$_kpc" -n "(($E2E_PLAIN_FILTER_4) or ($E2E_PLAIN_FILTER_6)) and not (ip and net 10.61.255.0/30)" 2>/dev/null | head -n 5; return 1; }
	if [ "$_cw_p" = esp ]; then
		_mk=$(e2e_marker_count "$_kpc")
		[ "$_mk" = 0 ] || { echo "$_cw_n: the plaintext marker is on the wire ($_mk times)"; return 1; }
	fi
	echo "$_cw_n sent $_cnt $_cw_p packets, SPIs $(echo "$_seen" | sort -u | tr '\n' ' ')(negotiated: $*), nothing in the clear"
}

# ike_case_end NODE: stop the capture and the xfrm monitor
ike_case_end() {
	ike_cap_stop "$1"
	ike_pidfile_stop "$IKE_DIR/$1/monitor.pid"
	return 0
}

# ike_export NODE CASE KEY=VALUE...: the capture, every SA NODE had (with
# keys: `ip xfrm monitor` and the current state) and what the host's
# decoder should find there (meta) into $ESPAH_EXPORT/CASE/NODE/
ike_export() {
	local _ex _en
	[ -n "${ESPAH_EXPORT:-}" ] || return 0
	_ex=$ESPAH_EXPORT/$2/$1
	mkdir -p "$_ex"
	cp "$IKE_DIR/$1/case/wire.pcap" "$_ex/wire.pcap" 2>/dev/null
	cp "$IKE_DIR/$1/case/wire.pcap.err" "$_ex/tcpdump.txt" 2>/dev/null
	[ -f "$IKE_DIR/$1/case/payload-path" ] && cp "$(cat "$IKE_DIR/$1/case/payload-path")" "$_ex/payload"
	{ cat "$IKE_DIR/$1/case/xfrm-monitor.txt"; echo "# ip xfrm state"; "$IP" -n "$1" xfrm state; } >"$_ex/xfrm.txt"
	_en=$1; shift 2
	{ echo "node=$_en"; echo "impl=$E2E_IMPL"; echo "kernel=$(uname -r)"; printf '%s\n' "$@"; } >"$_ex/meta"
}

# ike_log_grep NODE REGEX: the daemon log lines matching REGEX (ok if any)
ike_log_grep() { grep -E "$2" "$(ike_log "$1")"; }

# ike_diag NODE: what to look at when a case fails in NODE
ike_diag() {
	echo "== $1: daemon $(ike_daemon_kind "$1"), log $(ike_log "$1") (tail)"
	tail -n 25 "$(ike_log "$1")" 2>/dev/null
	[ -n "$(ike_daemon_kind "$1")" ] && tail -n 5 "$IKE_DIR/$1/$(ike_daemon_kind "$1").out" 2>/dev/null
	e2e_diag_ns "$1" 2>&1 | grep -v '^== dmesg' | head -n 60
	[ -f "$IKE_DIR/$1/case/wire.pcap" ] && e2e_pcap_summary "$IKE_DIR/$1/case/wire.pcap" 8
	[ "$E2E_IMPL" = espah ] && { echo "== /proc/net/espah ($1)"; ns "$1" cat /proc/net/espah; }
	return 0
}

# ---------------------------------------------------------------- route-based VPNs

# ike_rb_add NODE xfrmi|vti FAM ID: an XFRM interface (if_id ID) or a VTI
# (key ID) named ipsec0, and the route to the peer's lan of FAM into it
ike_rb_add() {
	local _rn _rp _vt
	_rn=$1 _rp=$(ike_peer "$1")
	case "$2" in
	xfrmi) "$IP" -n "$_rn" link add ipsec0 type xfrm dev wan0 if_id "$4" || return 1 ;;
	vti)
		_vt=vti; [ "$3" = 6 ] && _vt=vti6
		"$IP" -n "$_rn" link add ipsec0 type $_vt local "$(ike_ip "$_rn" wan "$3")" \
			remote "$(ike_ip "$_rp" wan "$3")" key "$4" || return 1
		# inbound policy checks happen in the VTI (with its key as mark), not on ipsec0
		ns "$_rn" sysctl -qw net.ipv4.conf.ipsec0.disable_policy=1 2>/dev/null
		ns "$_rn" sysctl -qw net.ipv6.conf.ipsec0.disable_policy=1 2>/dev/null ;;
	esac
	"$IP" -n "$_rn" link set ipsec0 up
	"$IP" -n "$_rn" -"$3" route replace "$(ike_ip "$_rp" lannet "$3")" dev ipsec0 \
		src "$(ike_ip "$_rn" lan "$3")"
}

# ike_rb_del NODE: remove ipsec0, routes back through wan0
ike_rb_del() {
	"$IP" -n "$1" link del ipsec0 2>/dev/null
	ike_lan_routes "$1" via
}

# ike_rb_del_checked NODE: remove ipsec0 and see the kernel free it. A
# device something still references stays in unregister_netdevice, which
# blocks `ip link del` and after 10 s prints the device's "Usage count"
# (negative: more references returned than taken); that line is printed
# and the call fails, without waiting any longer (the deletion never ends)
ike_rb_del_checked() {
	local _rdp _rdl _rdm
	_rdl=$(dmesg | wc -l)
	# (no output: over the RPC a blocked child must not hold the reply open)
	"$IP" -n "$1" link del ipsec0 >/dev/null 2>&1 &
	_rdp=$!
	ike_wait_for 5 eval "! kill -0 $_rdp" ||
		ike_wait_for 15 eval "dmesg | tail -n +$((_rdl + 1)) | grep -q 'waiting for ipsec0 to become free'"
	if kill -0 "$_rdp" 2>/dev/null; then
		_rdm=$(dmesg | tail -n +$((_rdl + 1)) | grep 'waiting for ipsec0 to become free' | tail -n 1)
		ike_lan_routes "$1" via
		echo "$1: \`ip link del ipsec0\` still blocked: ${_rdm:-no unregister_netdevice message from the kernel}"
		return 1
	fi
	wait "$_rdp"
	ike_lan_routes "$1" via
	echo "$1: ipsec0 deleted and freed"
}

# ike_leaked_refs: module references a known failure (t_known_fail) left
# behind for good; the later cases' checks count from there
ike_leaked_refs() { cat "$IKE_DIR/leaked-refs" 2>/dev/null || echo 0; }

# ike_note_leaked_refs: once no SA is left in this guest, the module
# references still held are leaked; note them for ike_check_gone
ike_note_leaked_refs() {
	ike_wait_for 20 eval '[ "$(ike_guest_sas)" = 0 ]' || { echo "SAs still installed: $(ike_guest_sas)"; return 1; }
	sleep 1
	ike_impl_refs >"$IKE_DIR/leaked-refs"
	echo "$E2E_IMPL holds $(ike_leaked_refs) module references with no SA left (leaked if not 0): the later cases count from there"
}

# ike_rb_tx NODE: packets sent through ipsec0
ike_rb_tx() { "$IP" -n "$1" -s -j link show ipsec0 2>/dev/null | grep -o '"tx":{[^}]*' | grep -o '"packets":[0-9]*' | cut -d: -f2; }

# ---------------------------------------------------------------- NAT (both nodes in this guest)

# ike_nat_topo: left behind a masquerading router "nat": left
# 10.62.0.1 -- 10.62.0.254 nat 10.61.0.3 -- 10.61.0.2 right; the router
# maps UDP sources into PORTS (e.g. 40000-40099)
ike_nat_topo() {
	"$IP" -n left link del wan0 2>/dev/null
	e2e_ns_add nat
	e2e_veth left wan0 nat in0
	e2e_veth nat out0 right wan0
	echo 10.62.0.1 >"$(ike_ndir left)/ip-wan-4"
	e2e_addr left wan0 10.62.0.1/24
	e2e_addr nat in0 10.62.0.254/24
	e2e_addr nat out0 10.61.0.3/24
	e2e_addr right wan0 10.61.0.2/24
	"$IP" -n left route replace default via 10.62.0.254
	"$IP" -n left route replace "$(ike_ip right lannet 4)" via 10.62.0.254 src "$(ike_ip left lan 4)"
	"$IP" -n right route replace "$(ike_ip left lannet 4)" via 10.61.0.3 src "$(ike_ip right lan 4)"
	ns nat sysctl -qw net.ipv4.ip_forward=1
	ike_nat_ports "$1"
}

# ike_nat_ports PORTS: the masquerade's source port range; existing
# mappings are forgotten, so the next packet gets a new one (a NAT reboot,
# a mapping timeout)
ike_nat_ports() {
	ns nat nft -f - <<-EOF || return 1
	table ip nat
	delete table ip nat
	table ip nat {
		chain post {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "out0" meta l4proto udp masquerade to :$1
			oifname "out0" masquerade
		}
	}
	EOF
	ns nat conntrack -D -p udp >/dev/null 2>&1
	return 0
}

# ike_nat_untopo: back to the direct veth between left and right
ike_nat_untopo() {
	local _kn _kf
	"$IP" netns del nat 2>/dev/null
	rm -f "$IKE_DIR/left/ip-wan-4"
	"$IP" -n left link del wan0 2>/dev/null
	"$IP" -n left route del default 2>/dev/null
	e2e_veth left wan0 right wan0
	for _kn in left right; do
		for _kf in 4 6; do
			e2e_addr "$_kn" wan0 "$(ike_ip "$_kn" wan $_kf)/$([ $_kf = 4 ] && echo 24 || echo 64)"
		done
		ike_lan_routes "$_kn" via
	done
}

# ike_agent_exit: tell ike-agent.sh (second guest) that the run is over
ike_agent_exit() { touch "$IKE_DIR/agent-exit"; }
