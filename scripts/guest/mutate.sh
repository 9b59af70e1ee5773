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

# mt_sysctl NS NAME VALUE: one sysctl inside a namespace
mt_sysctl() {
	ns "$1" sh -c "echo $3 > /proc/sys/$(echo "$2" | tr . /)" ||
		e2e_setup_fail "sysctl $2=$3 in $1"
}

mt_topology() {
	e2e_ns_add murx mutx
	"$IP" link add mt0 netns mutx type veth peer name mr0 netns murx ||
		e2e_setup_fail "veth mt0/mr0"
	mt_sysctl mutx net.ipv6.conf.all.disable_ipv6 1
	mt_sysctl mutx net.ipv6.conf.default.disable_ipv6 1
	"$IP" -n mutx link set mt0 mtu 65535 up
	"$IP" -n murx link set mr0 mtu 65535 up
	e2e_addr murx mr0 10.77.0.2/24
	e2e_addr murx mr0 fd77::2/64
	e2e_addr murx lo 10.78.0.2/32
	e2e_addr murx lo fd78::2/128
	mac=$("$IP" -n mutx link show mt0 | awk '/link\/ether/ { print $2 }')
	# murx answers (ICMP errors) without asking for the sender's address
	"$IP" -n murx neigh add 10.77.0.1 lladdr "$mac" dev mr0 nud permanent
	"$IP" -n murx -6 neigh add fd77::1 lladdr "$mac" dev mr0 nud permanent
	mt_sysctl murx net.ipv4.conf.all.accept_source_route 1
	mt_sysctl murx net.ipv4.conf.mr0.accept_source_route 1
	mt_sysctl murx net.ipv4.conf.all.rp_filter 0
	mt_sysctl murx net.ipv4.conf.mr0.rp_filter 0
	# long enough that a starved TCG vCPU does not expire a queue between
	# two fragments, short enough to clean up the incomplete ones
	mt_sysctl murx net.ipv4.ipfrag_time 5
	mt_sysctl murx net.ipv6.ip6frag_time 5
	# the incomplete sets of those 5 s must not fill the fragment memory
	# (4 MB by default), or complete sets find no queue
	mt_sysctl murx net.ipv4.ipfrag_high_thresh 134217728
	mt_sysctl murx net.ipv6.ip6frag_high_thresh 134217728
}

e2e_load_impl "$impl"
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
