#!/bin/bash
# autoload.sh - guest half of scripts/test-dkms.sh (Debian kernels).
#
# Expects the DKMS-built module in /lib/modules/$(uname -r)/updates/dkms/
# (put there by run-guest.sh --file, the way `dkms install` did on the host)
# and scripts/espah-modprobe.conf as /etc/modprobe.d/espah.conf; espah not
# loaded. Checks that the kernel's xfrm-type-* autoload requests load espah
# and never esp4/esp6/ah4/ah6, that a ping flows through an ESP and an AH
# transport SA between two netns (tcpdump sees ESP/AH only), that espah
# refuses to load beside an in-tree module with a message naming what to
# unload, and that SAs pin the module. Ends with "N passed, N failed".
# Env: ESPAH_DKMS_SHA (sha256 of the host's DKMS-installed file).
set -u
export PATH=/usr/sbin:/usr/bin
REL=$(uname -r)
T=/tmp/autoload
mkdir -p "$T"
pass=0 fail=0
INTREE="esp4 esp6 ah4 ah6 esp4_offload esp6_offload"

ok()  { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
log() { echo "# $*"; }
# check NAME CMD...: ok if CMD succeeds, else fail with its last output lines
check() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then ok "$name"; [[ -n $out ]] && sed 's/^/#   /' <<<"$out" | tail -n 8
	else nok "$name: $(tail -n 3 <<<"$out" | tr '\n' ' ')"; fi
}
loaded() { grep -q "^$1 " /proc/modules; }
refcnt() { awk -v m="$1" '$1 == m { print $3 }' /proc/modules; }
intree_absent() {
	local m bad=""
	for m in $INTREE; do loaded "$m" && bad+=" $m"; done
	[[ -z $bad ]] || { echo "in-tree module(s) loaded:$bad"; return 1; }
}
modules_line() { awk '$1 ~ /^(espah|esp4|esp6|ah4|ah6|esp4_offload|esp6_offload|xfrm_user|xfrm_algo)$/ { printf "%s(refs %s) ", $1, $3 }' /proc/modules; }
# rmmod espah, retrying while the xfrm state GC drops the last references
unload_espah() {
	local i
	for i in $(seq 1 50); do
		loaded espah || return 0
		rmmod espah 2>/dev/null && return 0
		sleep 0.2
	done
	rmmod espah
}

GCM_KEY=0x0102030405060708090a0b0c0d0e0f10a1a2a3a4
HMAC_KEY=0x4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60
# algo_for esp|ah
algo_for() {
	if [[ $1 == esp ]]; then echo "aead rfc4106(gcm(aes)) $GCM_KEY 128"
	else echo "auth-trunc hmac(sha256) $HMAC_KEY 128"; fi
}

log "kernel $REL; $(grep -c . /proc/modules) modules loaded at start"

# ---------------------------------------------------------------- the module tree
ko=$(ls /lib/modules/"$REL"/updates/dkms/espah.ko* 2>/dev/null | head -n 1)
if [[ -n $ko ]]; then ok "DKMS-built module present: $ko"; else nok "no /lib/modules/$REL/updates/dkms/espah.ko*"; fi
if [[ -n ${ESPAH_DKMS_SHA:-} && -n $ko ]]; then
	sha=$(sha256sum "$ko" | cut -d' ' -f1)
	if [[ $sha == "$ESPAH_DKMS_SHA" ]]; then ok "module is the file DKMS installed on the host (sha256 ${sha:0:16}...)"
	else nok "module sha256 $sha != host's $ESPAH_DKMS_SHA"; fi
fi
check "/etc/modprobe.d/espah.conf installed" test -s /etc/modprobe.d/espah.conf
# what `dkms install` does after copying the module
check "depmod -a" depmod -a
check "modinfo -n espah resolves to updates/dkms" bash -c "modinfo -n espah | grep -q '/updates/dkms/espah.ko'"
mi=$(modinfo espah 2>&1)
sed 's/^/#   modinfo: /' <<<"$mi"
for f in description version author license; do
	if grep -q "^$f: *[^ ]" <<<"$mi"; then ok "modinfo shows $f"; else nok "modinfo lacks $f"; fi
done
for a in xfrm-type-2-50 xfrm-type-2-51 xfrm-type-10-50 xfrm-type-10-51; do
	if grep -qx "alias: *$a" <<<"$mi"; then ok "modinfo alias $a"; else nok "modinfo lacks alias $a"; fi
done
if grep -q '^parm:' <<<"$mi"; then
	if grep '^parm:' <<<"$mi" | grep -qv '^parm: *[^:]*:.*[A-Za-z].*(.*)'; then nok "a parameter lacks a description"
	else ok "every parameter has a description"; fi
fi

check "espah not loaded at start" bash -c '! grep -q "^espah " /proc/modules'
check "no in-tree ESP/AH module loaded at start" intree_absent

# ------------------------------------------------------- modprobe's resolution
for a in xfrm-type-2-50 xfrm-type-2-51 xfrm-type-10-50 xfrm-type-10-51; do
	out=$(modprobe -n -v "$a" 2>&1)
	if grep -q '/espah\.ko' <<<"$out" && ! grep -qE '/(esp4|esp6|ah4|ah6)(_offload)?\.ko' <<<"$out"; then
		ok "modprobe resolves $a to espah only"
	else
		nok "modprobe $a would run: $(tr '\n' ' ' <<<"$out")"
	fi
done
for m in $INTREE; do
	out=$(modprobe "$m" 2>&1); rc=$?
	if [[ $rc != 0 ]] && ! loaded "$m"; then ok "modprobe $m refused ($(tr '\n' ' ' <<<"$out" | cut -c1-90))"
	else nok "modprobe $m: rc $rc, loaded=$(loaded "$m" && echo yes || echo no)"; fi
done
out=$(modprobe -n -v xfrm-offload-2-50 2>&1)
if ! grep -q '\.ko' <<<"$out"; then ok "xfrm-offload-2-50 (esp4_offload) loads nothing"
else nok "xfrm-offload-2-50 would load: $(tr '\n' ' ' <<<"$out")"; fi

# --------------------------------------- kernel autoload, one family/proto at a time
# The first SA of a type makes xfrm_get_type() request_module("xfrm-type-F-P").
n=0
for fp in "4 esp 2-50" "4 ah 2-51" "6 esp 10-50" "6 ah 10-51"; do
	read -r fam proto alias <<<"$fp"
	n=$((n + 1))
	if [[ $fam == 4 ]]; then src=192.0.2.1 dst=192.0.2.2; else src=2001:db8::1 dst=2001:db8::2; fi
	unload_espah >/dev/null 2>&1
	if loaded espah; then nok "IPv$fam $proto: espah still loaded before the test"; continue; fi
	# shellcheck disable=SC2046
	if out=$(ip xfrm state add src $src dst $dst proto "$proto" spi $((0x1000 + n)) mode transport $(algo_for "$proto") 2>&1); then
		if loaded espah && intree_absent >/dev/null; then
			ok "ip xfrm state add proto $proto (IPv$fam) autoloaded espah (xfrm-type-$alias), no in-tree module: $(modules_line)"
		else
			nok "IPv$fam $proto: after state add: $(modules_line)"
		fi
		r=$(refcnt espah)
		if [[ ${r:-0} -ge 1 ]]; then ok "IPv$fam $proto SA holds a reference on espah (refs $r)"
		else nok "IPv$fam $proto SA: espah refs '${r:-absent}'"; fi
		if [[ $n == 1 ]]; then
			out=$(rmmod espah 2>&1); rc=$?
			if [[ $rc != 0 ]] && loaded espah; then ok "rmmod espah refused while an SA exists ($out)"
			else nok "rmmod espah with an SA: rc $rc, loaded=$(loaded espah && echo yes || echo no)"; fi
		fi
	else
		nok "ip xfrm state add proto $proto (IPv$fam): $out"
	fi
	ip xfrm state flush
	if [[ $n == 1 ]]; then
		check "rmmod espah succeeds after ip xfrm state flush" unload_espah
	fi
done
unload_espah >/dev/null 2>&1
check "no in-tree ESP/AH module loaded after the autoload tests" intree_absent

# ------------------------------------------------------- traffic through one SA
# netns a (10.9.0.1) -- veth -- netns b (10.9.0.2), transport SAs both ways
traffic() { # esp|ah
	local proto=$1 pnum sa=$T/$1.pcap got plain
	[[ $proto == esp ]] && pnum=50 || pnum=51
	ip netns del ta 2>/dev/null; ip netns del tb 2>/dev/null
	ip netns add ta && ip netns add tb || { nok "$proto traffic: netns"; return; }
	ip -n ta link set lo up; ip -n tb link set lo up
	ip link add va netns ta type veth peer name vb netns tb || { nok "$proto traffic: veth"; return; }
	ip -n ta addr add 10.9.0.1/24 dev va; ip -n tb addr add 10.9.0.2/24 dev vb
	ip -n ta link set va up; ip -n tb link set vb up
	local ns l r err=""
	for ns in ta tb; do
		if [[ $ns == ta ]]; then l=10.9.0.1 r=10.9.0.2; else l=10.9.0.2 r=10.9.0.1; fi
		# shellcheck disable=SC2046
		ip -n $ns xfrm state add src 10.9.0.1 dst 10.9.0.2 proto "$proto" spi 0x201 reqid 1 mode transport $(algo_for "$proto") || err+=" state-$ns-1"
		# shellcheck disable=SC2046
		ip -n $ns xfrm state add src 10.9.0.2 dst 10.9.0.1 proto "$proto" spi 0x202 reqid 1 mode transport $(algo_for "$proto") || err+=" state-$ns-2"
		ip -n $ns xfrm policy add src $l dst $r dir out tmpl src $l dst $r proto "$proto" reqid 1 mode transport || err+=" pol-$ns-out"
		ip -n $ns xfrm policy add src $r dst $l dir in tmpl src $r dst $l proto "$proto" reqid 1 mode transport || err+=" pol-$ns-in"
	done
	[[ -z $err ]] || nok "$proto traffic setup:$err"
	if loaded espah && intree_absent >/dev/null; then ok "$proto SAs in two netns: espah autoloaded, no in-tree module ($(modules_line))"
	else nok "$proto SAs: $(modules_line)"; fi
	rm -f "$sa" "$sa.err"
	ip netns exec ta tcpdump -i va -n -s 0 -U -w "$sa" 2>"$sa.err" &
	local tp=$! i=0
	while ! grep -q 'listening on' "$sa.err" 2>/dev/null && [[ $i -lt 100 ]]; do sleep 0.1; i=$((i + 1)); done
	out=$(ip netns exec ta ping -c 3 -w 15 10.9.0.2 2>&1)
	got=$(sed -n 's/.* \([0-9]*\) packets received.*/\1/p' <<<"$out")
	# let tcpdump catch up (slow under TCG) before stopping it
	i=0
	while [[ $(tcpdump -r "$sa" -n "ip proto $pnum" 2>/dev/null | wc -l) -lt 6 && $i -lt 20 ]]; do sleep 0.5; i=$((i + 1)); done
	sleep 0.5; kill "$tp" 2>/dev/null; wait "$tp" 2>/dev/null
	if [[ ${got:-0} == 3 ]]; then ok "ping 10.9.0.1 -> 10.9.0.2 through the $proto transport SA: 3/3 replies"
	else nok "ping through $proto SA: $(tail -n 2 <<<"$out" | tr '\n' ' ')"; fi
	local wire; wire=$(tcpdump -r "$sa" -n "ip proto $pnum" 2>/dev/null | wc -l)
	plain=$(tcpdump -r "$sa" -n icmp 2>/dev/null | wc -l)
	tcpdump -r "$sa" -n 2>/dev/null | head -n 6 | sed 's/^/#   wire: /'
	if [[ $wire -ge 6 && $plain == 0 ]]; then ok "tcpdump on the veth: $wire ${proto^^} packets, 0 plain ICMP"
	else nok "tcpdump on the veth: $wire ${proto^^} packets, $plain plain ICMP (want >= 6 and 0)"; fi
	local pk
	pk=$(ip -n ta -s xfrm state get src 10.9.0.1 dst 10.9.0.2 proto "$proto" spi 0x201 2>/dev/null |
		awk '/lifetime current:/ { getline; gsub(/[(),]/, " ")
			for (i = 1; i < NF; i++) if ($(i + 1) == "packets") print $i; exit }')
	ip -n ta -s xfrm state get src 10.9.0.1 dst 10.9.0.2 proto "$proto" spi 0x201 2>/dev/null | sed -n '/lifetime current/,+1p' | sed 's/^/#   SA a->b: /'
	if [[ ${pk:-0} -ge 3 ]]; then ok "outbound $proto SA counted the packets (${pk} packets)"
	else nok "outbound $proto SA counters: '${pk:-?}' packets"; fi
	for ns in ta tb; do ip -n $ns xfrm policy flush; ip -n $ns xfrm state flush; done
	ip netns del ta; ip netns del tb
	check "rmmod espah after the $proto traffic test" unload_espah
}
traffic esp
traffic ah
check "no in-tree ESP/AH module loaded after the traffic tests" intree_absent

# ------------------------------------- espah refuses to load beside an in-tree module
# (modprobe --ignore-install bypasses our "install esp4 /bin/false")
for pair in "esp4:esp4_offload esp4" "esp6:esp6_offload esp6" "ah4:ah4" "ah6:ah6"; do
	m=${pair%%:*} want="unload it first: rmmod ${pair#*:}"
	unload_espah >/dev/null 2>&1
	if ! out=$(modprobe --ignore-install "$m" 2>&1); then nok "could not preload $m: $out"; continue; fi
	dmesg -c >/dev/null 2>&1
	out=$(modprobe espah 2>&1); rc=$?
	msg=$(dmesg | grep espah)
	if [[ $rc != 0 ]] && ! loaded espah && grep -q 'Device or resource busy' <<<"$out"; then
		ok "with $m loaded, modprobe espah fails with EBUSY ($out)"
	else
		nok "with $m loaded: modprobe espah rc $rc, loaded=$(loaded espah && echo yes || echo no): $out"
	fi
	if grep -qF "$want" <<<"$msg"; then ok "kernel message names what to unload: $(grep -F "$want" <<<"$msg" | head -n 1 | sed 's/^\[[^]]*\] //')"
	else nok "dmesg lacks '$want': $(tr '\n' ' ' <<<"$msg")"; fi
	rmmod "$m" || nok "rmmod $m"
done
for m in $INTREE; do loaded "$m" && rmmod "$m"; done
check "espah loads once the in-tree modules are gone" modprobe espah
check "rmmod espah (no SA)" unload_espah
check "no in-tree ESP/AH module left loaded" intree_absent

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
