#!/bin/bash
# Guest-side check of the test infrastructure itself (owned by build/test infra):
# kernel modules load (kmod, .ko/.ko.xz), netns + veth, xfrm state/policy with an
# in-tree ESP AEAD SA, ping through it, tcpdump capture, nft, socat, iperf3.
set -euo pipefail
step() { echo "--- $*"; }

step "modprobe esp4 esp6 xfrm_user (kmod)"
modprobe esp4; modprobe esp6; modprobe xfrm_user 2>/dev/null || true
lsmod | grep -E '^(esp4|esp6|xfrm)' || true

step "netns + veth"
ip netns add a; ip netns add b
ip link add va type veth peer name vb
ip link set va netns a; ip link set vb netns b
ip -n a addr add 10.0.0.1/24 dev va; ip -n b addr add 10.0.0.2/24 dev vb
ip -n a link set va up; ip -n b link set vb up; ip -n a link set lo up; ip -n b link set lo up

step "xfrm state/policy, rfc4106(gcm(aes)) transport"
KEY=0x0123456789abcdef0123456789abcdef01020304   # 16-byte key + 4-byte salt
for ns in a b; do
  ip -n $ns xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1001 reqid 1 mode transport \
     aead 'rfc4106(gcm(aes))' $KEY 128
  ip -n $ns xfrm state add src 10.0.0.2 dst 10.0.0.1 proto esp spi 0x1002 reqid 1 mode transport \
     aead 'rfc4106(gcm(aes))' $KEY 128
done
ip -n a xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir out tmpl proto esp reqid 1 mode transport
ip -n b xfrm policy add src 10.0.0.1 dst 10.0.0.2 dir in  tmpl proto esp reqid 1 mode transport
ip -n b xfrm policy add src 10.0.0.2 dst 10.0.0.1 dir out tmpl proto esp reqid 1 mode transport
ip -n a xfrm policy add src 10.0.0.2 dst 10.0.0.1 dir in  tmpl proto esp reqid 1 mode transport
ip -n a xfrm state

step "tcpdump + ping over ESP"
ip netns exec b tcpdump -ni vb -c 4 -w /tmp/esp.pcap esp 2>/tmp/tcpdump.err &
tdp=$!
sleep 2
ip netns exec a ping -c 3 -W 2 10.0.0.2
wait $tdp || { cat /tmp/tcpdump.err; exit 1; }
tcpdump -nr /tmp/esp.pcap 2>/dev/null
n=$(tcpdump -nr /tmp/esp.pcap esp 2>/dev/null | wc -l)
[ "$n" -ge 4 ] || { echo "expected >=4 ESP packets, got $n"; exit 1; }
ip -n a -s xfrm state | grep -A2 'stats' | head -8 || true
[ -r /proc/net/xfrm_stat ] && ip netns exec b cat /proc/net/xfrm_stat | awk '$2 != 0'

step "nft, socat, iperf3 over ESP"
ip netns exec b nft add table inet t && ip netns exec b nft list ruleset
ip netns exec b socat -u TCP-LISTEN:5000,reuseaddr OPEN:/tmp/rx,creat &
sp=$!; sleep 1
echo hello-espah | ip netns exec a socat -u STDIN TCP:10.0.0.2:5000
wait $sp; grep -q hello-espah /tmp/rx && echo "socat OK"
ip netns exec b iperf3 -s -1 -D; sleep 1
ip netns exec a iperf3 -c 10.0.0.2 -t 2 -f m | tail -4
echo "infra-check OK"
