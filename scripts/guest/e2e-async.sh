#!/bin/sh
# e2e-async.sh - ESP with asynchronous crypto: the -EINPROGRESS paths of
# input and output, resumed through xfrm_input_resume/xfrm_output_resume.
#
# cryptd(...) wrappers of the SA transforms are registered first (through
# AF_ALG, helper algbind); they outrank the synchronous implementations, so
# the SAs e2e-esp.sh then creates get them and every packet completes
# asynchronously. A sampler proves the SAs really held the cryptd
# transforms while the traffic ran.
#
# usage: e2e-async.sh espah|intree [FILTER (default: transport)]
here=$(cd "$(dirname "$0")" && pwd)
impl=${1:-espah}
samples=/tmp/cryptd-refcnt

# cryptd only wraps synchronous transforms, and the AES-NI ones are
# asynchronous (simd) and outrank a cryptd of the generic code: keep them
# out so that cryptd(generic) is the best the SAs can get.
mkdir -p /etc/modprobe.d
for m in aesni_intel ghash_clmulni_intel; do
	echo "install $m /bin/false" >>/etc/modprobe.d/espah-async.conf
	rmmod "$m" 2>/dev/null
done
for m in af_alg algif_aead cryptd seqiv echainiv gcm ghash_generic aes_generic \
	 ctr authenc cbc hmac sha256_generic; do
	modprobe -q "$m" 2>/dev/null
done
# The bind itself may fail (AF_ALG will not hand out the instance), but
# the template instance it made stays registered: that is what counts.
for alg in 'cryptd(seqiv(rfc4106(gcm(aes))))' \
	   'cryptd(echainiv(authenc(hmac(sha256),cbc(aes))))'; do
	algbind aead "$alg" 2>/dev/null
	inner=${alg#cryptd(}
	if ! awk -v want="${inner%)}" '/^name/ { n = $3 }
	     /^driver/ && $3 ~ /^cryptd\(/ && n == want { found = 1 }
	     END { exit !found }' /proc/crypto; then
		echo "not ok 1 - instantiate $alg # no cryptd instance in /proc/crypto"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# Highest refcnt seen on any cryptd AEAD while the suite runs: each SA's
# transform holds one.
(
	while :; do
		awk '/^name/ { n = $3 } /^driver/ { d = $3 }
		     /^refcnt/ && d ~ /^cryptd\(/ { print d, $3 }' /proc/crypto
		sleep 0.5
	done
) >"$samples" 2>/dev/null &
sampler=$!

# v4 and v6, GCM and CBC+HMAC-SHA256, both directions (transport mode:
# the tunnel cases add nothing asynchronous and cost time)
sh "$here/e2e-esp.sh" "$impl" "${2:-transport}" | tee /tmp/e2e-async-esp.out
rc=$?
set -- $(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/p' /tmp/e2e-async-esp.out | tail -n 1)
pass=${1:-0} fail=${2:-1}
[ "$fail" = 0 ] || rc=1
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null

max=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$samples")
echo "# cryptd transforms seen: $(sort -u "$samples" | awk '{print $1}' | sort -u | tr '\n' ' ')"
if [ "$max" -gt 1 ]; then
	echo "ok 99 - SAs ran on cryptd (async) transforms (max refcnt $max)"
	pass=$((pass + 1))
else
	echo "not ok 99 - SAs ran on cryptd (async) transforms # max refcnt $max: the SAs got synchronous crypto"
	fail=$((fail + 1))
	rc=1
fi
echo "$pass passed, $fail failed"
exit $rc
