#!/usr/bin/env bash
# Build espah.ko for one target kernel, warning-free, in build/NAME/.
#
#   scripts/build.sh NAME [--sparse] [--kunit] [--testmod]
#
# NAME is deb61, deb612 or test (scripts/kernels.sh). The source tree is
# copied to build/NAME/ so the three kernels never share object files.
# Any compiler or sparse warning fails the build. --kunit also builds the
# KUnit module (test kernel only) into build/NAME/kunit/; --testmod the
# test-only modules of testmod/ (espah_testcrypt.ko) into
# build/NAME/testmod/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
name=${1:?usage: build.sh NAME [--sparse] [--kunit] [--testmod]}
shift
sparse=0 kunit=0 testmod=0
for a in "$@"; do
	case $a in
	--sparse) sparse=1 ;;
	--kunit) kunit=1 ;;
	--testmod) testmod=1 ;;
	*) echo "build.sh: unknown option $a" >&2; exit 2 ;;
	esac
done

kdir=$("$top/scripts/kernels.sh" kdir "$name")
out=$top/build/$name
mkdir -p "$out"
srcs=(); for p in Kbuild Makefile module include kunit testmod; do [[ -e $top/$p ]] && srcs+=("$top/$p"); done
rsync -a --delete --exclude "*.o" --exclude "*.ko" --exclude ".*.cmd" \
	"${srcs[@]}" "$out/"

log=$out/build.log
flags=(W=1)
[[ $sparse == 1 ]] && flags+=(C=2)
echo "[build] espah for $name ($kdir) ${flags[*]}"
if ! make -C "$kdir" M="$out" "${flags[@]}" modules >"$log" 2>&1; then
	cat "$log"
	echo "[build] FAILED for $name: see $log" >&2
	exit 1
fi
if [[ $kunit == 1 ]]; then
	echo "[build] espah_kunit for $name"
	if ! make -C "$kdir" M="$out/kunit" KBUILD_EXTRA_SYMBOLS="$out/Module.symvers" \
		W=1 modules >>"$log" 2>&1; then
		cat "$log"
		echo "[build] kunit FAILED for $name: see $log" >&2
		exit 1
	fi
fi
if [[ $testmod == 1 ]]; then
	echo "[build] test modules for $name"
	if ! make -C "$kdir" M="$out/testmod" "${flags[@]}" modules >>"$log" 2>&1; then
		cat "$log"
		echo "[build] testmod FAILED for $name: see $log" >&2
		exit 1
	fi
fi
# sparse reports "warning:" / "error:" lines too.
if grep -E "(warning|error):" "$log" | grep -v "Skipping BTF" >&2; then
	echo "[build] warnings for $name: see $log" >&2
	exit 1
fi
echo "[build] ok: $out/espah.ko"
