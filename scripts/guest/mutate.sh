#!/bin/sh
# mutate.sh - the structured ESP/AH mutator (espmut) in the guest.
#
# usage: mutate.sh espah|intree [ESPMUT-OPTIONS...]
#   (espmut --help; e.g. --packets 100000 --seed 42 --only v4-tunnel-gcm128)
#
# Topology:
#   mutx (sender: no addresses, IPv6 off)      murx (the SAs and the sockets)
#   mt0  ===================== veth ===================== mr0 10.77.0.2/24
#   packet socket + TX ring                                  fd77::2/64
#                                               lo: 10.78.0.2/32, fd78::2/128
#                                               (tunnel and BEET inner ends)
# MTU 65535 on both ends: 64 KiB packets pass. espmut installs one SA and
# its inbound policy per case, sends the packets from mutx as whole frames
# and checks in murx where each went (see scripts/helpers/espmut/).
# murx takes completed IPv4 source routes (accept_source_route=1: refused
# ones are dropped without a counter) and lets unfinished fragment queues
# expire after 5 s.

here=$(cd "$(dirname "$0")" && pwd)
E2E_TMP=${E2E_TMP:-/tmp/espah-mutate}
. "$here/lib.sh"

impl=${1:-}
[ -n "$impl" ] || { echo "usage: $0 espah|intree [ESPMUT-OPTIONS...]"; exit 2; }
shift

# mt_sysctls NS NAME=VALUE...: sysctls inside a namespace, one exec (each
# costs seconds on the debug kernel under TCG)
mt_sysctls() {
	_ns=$1
	shift
	_cmd=""
	for _kv in "$@"; do
		_cmd="$_cmd echo ${_kv#*=} > /proc/sys/$(echo "${_kv%%=*}" | tr . /) &&"
	done
	ns "$_ns" sh -c "$_cmd true" || e2e_setup_fail "sysctls in $_ns: $*"
}

mt_topology() {
	e2e_ns_add murx mutx
	"$IP" link add mt0 netns mutx type veth peer name mr0 netns murx ||
		e2e_setup_fail "veth mt0/mr0"
	mt_sysctls mutx net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	"$IP" -n mutx link set mt0 mtu 65535 up
	mac=$("$IP" -n mutx link show mt0 | awk '/link\/ether/ { print $2 }')
	# murx answers (ICMP errors) without asking for the sender's address
	"$IP" -n murx -batch - <<-EOF || e2e_setup_fail "addresses in murx"
	link set mr0 mtu 65535 up
	addr add 10.77.0.2/24 dev mr0
	addr add fd77::2/64 dev mr0 nodad
	addr add 10.78.0.2/32 dev lo
	addr add fd78::2/128 dev lo nodad
	neigh add 10.77.0.1 lladdr $mac dev mr0 nud permanent
	neigh add fd77::1 lladdr $mac dev mr0 nud permanent
	EOF
	# fragment queues: long enough that a starved TCG vCPU does not
	# expire one between two fragments, short enough to clean up the
	# incomplete ones; their memory must not fill up (4 MB by default),
	# or complete sets find no queue
	mt_sysctls murx net.ipv4.conf.all.accept_source_route=1 \
		net.ipv4.conf.mr0.accept_source_route=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.mr0.rp_filter=0 \
		net.ipv4.ipfrag_time=5 net.ipv6.ip6frag_time=5 \
		net.ipv4.ipfrag_high_thresh=134217728 \
		net.ipv6.ip6frag_high_thresh=134217728
}

e2e_load_impl "$impl"
# (e2e_load_impl loads esp4 and esp6 for the in-tree stack)
[ "$impl" = intree ] && { modprobe ah4; modprobe ah6; }
# The debug kernel has every algorithm built in: its requests for
# crypto-* modules can only fail, and each costs seconds under TCG.
if [ "${ESPAH_KERNEL:-}" = test ] && [ -w /proc/sys/kernel/modprobe ]; then
	echo /bin/true > /proc/sys/kernel/modprobe
fi
mt_topology
e2e_setup_check "mutator topology" || { t_finish; exit 1; }
log "veth mt0 -> mr0 ready; espmut $*"

ESPMUT=$(e2e_helper_bin espmut)
[ -n "$ESPMUT" ] || die "no espmut helper in the guest (scripts/helpers/espmut)"
"$ESPMUT" --impl "$impl" "$@"
rc=$?
e2e_cleanup_all
exit $rc
