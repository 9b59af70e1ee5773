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

. "$here/lib.sh"
if ! _why=$(e2e_async_crypto); then
	echo "not ok 1 - instantiate the cryptd transforms # $_why"
	echo "0 passed, 1 failed"
	exit 1
fi

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
