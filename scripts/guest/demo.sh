#!/bin/sh
# Guest side of `make demo`: two namespaces, an ESP tunnel between them
# served by espah, some traffic, then what the wire and the SAs show.
IP=/usr/sbin/ip
KEY_AB=0x0123456789abcdef0123456789abcdef01234567
KEY_BA=0xfedcba9876543210fedcba9876543210fedcba98

step() { echo; echo "### $*"; }

step "modprobe espah (pulls in xfrm_algo)"
modprobe espah || exit 1
grep espah /proc/modules

step "namespaces left and right, joined by veth (192.0.2.1 <-> 192.0.2.2)"
$IP netns add left
$IP netns add right
$IP link add veth0 netns left type veth peer name veth0 netns right
$IP -n left addr add 192.0.2.1/24 dev veth0
$IP -n right addr add 192.0.2.2/24 dev veth0
$IP -n left link set veth0 up
$IP -n right link set veth0 up
$IP -n left link set lo up
$IP -n right link set lo up
# Tunnel endpoints carry inner networks 10.1.0.0/24 and 10.2.0.0/24.
$IP -n left addr add 10.1.0.1/24 dev lo
$IP -n right addr add 10.2.0.1/24 dev lo
$IP -n left route add 10.2.0.0/24 via 192.0.2.2 src 10.1.0.1
$IP -n right route add 10.1.0.0/24 via 192.0.2.1 src 10.2.0.1

sa() { # ns src dst spi key
	$IP -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" \
		mode tunnel aead 'rfc4106(gcm(aes))' "$5" 128
}
pol() { # ns dir src-net dst-net tunnel-src tunnel-dst
	$IP -n "$1" xfrm policy add dir "$2" src "$3" dst "$4" \
		tmpl src "$5" dst "$6" proto esp mode tunnel
}
for ns in left right; do
	sa $ns 192.0.2.1 192.0.2.2 0x1000 $KEY_AB
	sa $ns 192.0.2.2 192.0.2.1 0x2000 $KEY_BA
done
pol left out 10.1.0.0/24 10.2.0.0/24 192.0.2.1 192.0.2.2
pol left in 10.2.0.0/24 10.1.0.0/24 192.0.2.2 192.0.2.1
pol right out 10.2.0.0/24 10.1.0.0/24 192.0.2.2 192.0.2.1
pol right in 10.1.0.0/24 10.2.0.0/24 192.0.2.1 192.0.2.2
step "ip xfrm state (left)"
$IP -n left xfrm state

step "ping through the tunnel while tcpdump watches the wire"
$IP netns exec right tcpdump -n -i veth0 -c 6 esp >/tmp/wire.txt 2>/dev/null &
sleep 1
$IP -n left route get 10.2.0.1
$IP netns exec left ping -c 3 10.2.0.1
sleep 1
kill $! 2>/dev/null
cat /tmp/wire.txt

step "SA counters (left): packets and bytes moved through espah"
$IP -n left -s xfrm state | grep -E "^src|spi|lifetime current|bytes"
