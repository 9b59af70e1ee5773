#!/usr/bin/env bash
# Build the kernel's own IPsec selftest (tools/testing/selftests/net/ipsec.c
# from Debian's linux-source-6.12, which the test kernel is built from) as a
# static binary for the guests, and print its path.
#
#   scripts/build-selftest.sh
#
# The source is read from the extracted kernel tree and compiled as it is,
# with one change: 10 pings per case instead of 100 (8 must come back
# instead of 80), because every packet costs milliseconds under TCG. Cached
# under $ESPAH_CACHE/helpers/, keyed by the source's hash.
set -euo pipefail

ESPAH_CACHE=${ESPAH_CACHE:-/var/cache/espah}
src=$ESPAH_CACHE/linux-source-6.12/tools/testing/selftests/net/ipsec.c
[[ -f $src ]] || { "$(dirname "$0")/build-testkernel.sh" --config-only >/dev/null; }
[[ -f $src ]] || { echo "build-selftest: $src missing (scripts/install-deps.sh, scripts/build-testkernel.sh)" >&2; exit 1; }

out=$ESPAH_CACHE/helpers/ipsec-selftest-$(sha256sum "$src" "$0" | sha256sum | cut -c1-12)
if [[ ! -x $out ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	sed -e 's/^\(const unsigned int ping_count\t\t= \)100;/\110;/' \
	    -e 's/^\(const unsigned int ping_success\t\t= \)80;/\18;/' "$src" > "$tmp/ipsec.c"
	grep -q 'ping_count		= 10;' "$tmp/ipsec.c" || { echo "build-selftest: ping_count not found in $src" >&2; exit 1; }
	mkdir -p "$(dirname "$out")"
	gcc -static -O2 -I "$(dirname "$src")" -I "$(dirname "$src")/.." \
		-o "$out.tmp.$$" "$tmp/ipsec.c"
	mv "$out.tmp.$$" "$out"
fi
echo "$out"
