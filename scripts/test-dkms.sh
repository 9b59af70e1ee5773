#!/usr/bin/env bash
# Test espah's packaging for real on this (Debian bookworm) host:
#
#   scripts/test-dkms.sh [--kernels "deb61 deb612"] [--keep]
#
#  1. dkms.conf's PACKAGE_VERSION = module/version.h's ESPAH_VERSION;
#     `make install` / `make uninstall` into a staging dir (INSTALL_MOD_PATH)
#  2. stage the DKMS source (no kunit/, no test scripts) in /usr/src/espah-VER,
#     `dkms add`, then per kernel `dkms build -k REL` and `dkms install -k REL`;
#     the module lands in /lib/modules/REL/updates/dkms/ with the right
#     vermagic and metadata, and modprobe (with scripts/espah-modprobe.conf)
#     resolves xfrm-type-{2,10}-{50,51} to espah alone
#  3. boot each Debian kernel in QEMU with that very file in its module tree
#     and the modprobe.d file installed; scripts/guest/autoload.sh checks
#     autoload, traffic, refusal beside esp4 & co., SA module references
#  4. `dkms remove espah/VER --all`; nothing of espah left under /usr/src,
#     /var/lib/dkms or /lib/modules, the module trees as before
#
# Only writes under /usr/src/espah-VER, /var/lib/dkms and /lib/modules/REL of
# the Debian test kernels (not the running kernel's); all of it is removed at
# the end (also on failure or Ctrl-C), as is /var/lib/dkms/mok.{key,pub} if
# this run made DKMS generate its signing key. Refuses to run if espah is
# already known to DKMS (a real installation) unless a previous run of this
# script left it behind. --keep leaves everything installed (for debugging).
# Prints progress; last line "N passed, N failed"; exit status 1 on failure.
# Logs: $ESPAH_LOGDIR (default /tmp/espah-logs)/dkms-*.log
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=kernels.sh
source "$here/kernels.sh"
set +e

kernels="deb61 deb612" keep=0
while (( $# )); do
	case $1 in
	--kernels) kernels=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "test-dkms.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

logdir=${ESPAH_LOGDIR:-/tmp/espah-logs}
mkdir -p "$logdir"
t0=$(date +%s)
passed=0 failed=0
failures=()
say() { echo "[test-dkms $(( $(date +%s) - t0 ))s] $*"; }
ok() { passed=$((passed + 1)); echo "ok - $*"; }
nok() { failed=$((failed + 1)); failures+=("$*"); echo "not ok - $*"; }
# check NAME CMD...: run CMD with its output into the step log
check() {
	local name=$1 log; shift
	log=$logdir/dkms-step.log
	if "$@" >"$log" 2>&1; then ok "$name"
	else nok "$name (exit $?): $(tail -n 3 "$log" | tr '\n' ' ')"; cat "$log" >>"$logdir/dkms-failures.log"; fi
}
finish() {
	echo
	say "done in $(( $(date +%s) - t0 ))s"
	for f in "${failures[@]}"; do echo "FAILED: $f"; done
	echo "$passed passed, $failed failed"
	[[ $failed == 0 ]]
	exit
}

[[ $(id -u) == 0 ]] || { echo "test-dkms.sh: must run as root" >&2; exit 2; }
command -v dkms >/dev/null || { nok "dkms not installed (apt-get install dkms)"; finish; }
say "dkms $(dkms --version 2>/dev/null | head -n 1), kernels: $kernels, logs: $logdir/dkms-*.log"
: >"$logdir/dkms-failures.log"

ver=$(sed -n 's/^#define ESPAH_VERSION "\(.*\)"/\1/p' "$top/module/version.h")
# shellcheck disable=SC1091
confver=$(PACKAGE_VERSION=; kernelver=x; source "$top/dkms.conf" >/dev/null 2>&1; echo "$PACKAGE_VERSION")
if [[ -n $ver && $ver == "$confver" ]]; then ok "dkms.conf PACKAGE_VERSION $confver = ESPAH_VERSION"
else nok "dkms.conf PACKAGE_VERSION '$confver' != module/version.h ESPAH_VERSION '$ver'"; finish; fi

src=/usr/src/espah-$ver
marker=$src/.espah-test-dkms
declare -A rel_of=() before=() before_sum=()
for k in $kernels; do
	rel_of[$k]=$(espah_kernel_release "$k") || { nok "cannot resolve kernel $k"; finish; }
	if [[ ${rel_of[$k]} == "$(uname -r)" ]]; then
		nok "kernel $k is the running kernel ${rel_of[$k]}: refusing to install into it"; finish
	fi
done

# ---------------------------------------------------------------- cleanup
mok_created=0 do_cleanup=1
cleanup() {
	(( do_cleanup )) || return 0
	(( keep )) && { say "--keep: leaving espah/$ver in DKMS and $src"; return; }
	if dkms status -m espah -v "$ver" 2>/dev/null | grep -q .; then
		dkms remove "espah/$ver" --all >>"$logdir/dkms-cleanup.log" 2>&1
	fi
	[[ -f $marker ]] && rm -rf "$src"
	if (( mok_created )); then rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub; fi
	local k rel d e
	for k in $kernels; do
		rel=${rel_of[$k]}; d=/lib/modules/$rel
		[[ -d $d ]] || continue
		# files dkms/depmod created in a module dir that had none (6.1: headers only)
		for e in "$d"/*; do
			[[ -e $e ]] || continue
			grep -qxF "$(basename "$e")" <<<"${before[$k]}" && continue
			case $(basename "$e") in
			modules.*) rm -f "$e" ;;
			updates|extra) find "$e" -depth -type d -empty -delete ;;
			esac
		done
	done
}
trap 'cleanup' EXIT
trap 'say interrupted; exit 130' INT TERM

if dkms status -m espah 2>/dev/null | grep -q . || [[ -e $src && ! -f $marker ]]; then
	if [[ -f $marker ]]; then
		say "removing espah/$ver left behind by an earlier run"
		dkms remove "espah/$ver" --all >/dev/null 2>&1; rm -rf "$src"
	else
		nok "espah is already installed with DKMS or $src exists (not made by this script): remove it first ($(dkms status -m espah 2>&1 | head -n 3 | tr '\n' ' '))"
		do_cleanup=0; finish
	fi
fi
[[ -f /var/lib/dkms/mok.key && -f /var/lib/dkms/mok.pub ]] || mok_created=1

for k in $kernels; do
	say "kernel $k: ${rel_of[$k]}"
	check "kernel $k: headers and QEMU image ready (scripts/kernels.sh fetch $k)" espah_kernel_fetch "$k"
	before[$k]=$(ls -A "/lib/modules/${rel_of[$k]}" 2>/dev/null)
	if [[ -f /lib/modules/${rel_of[$k]}/modules.alias ]]; then
		before_sum[$k]=$(sha256sum "/lib/modules/${rel_of[$k]}/modules.alias" | cut -d' ' -f1)
	fi
done

# --------------------------------------------- the DKMS source and make install
stage=$(mktemp -d /tmp/espah-dkms.XXXXXX)
trap 'cleanup; rm -rf "$stage"' EXIT
# What DKMS gets: the module sources and build files; not kunit/, tools/, tests.
copy_source() { # DEST
	mkdir -p "$1/module" "$1/scripts" &&
	cp "$top"/{dkms.conf,Kbuild,Makefile,README.md} "$1/" &&
	cp "$top"/module/*.[ch] "$1/module/" &&
	cp -r "$top/include" "$1/" &&
	cp "$top/scripts/espah-modprobe.conf" "$1/scripts/"
}
check "copy the DKMS source tree (module/ include/ Kbuild Makefile dkms.conf)" copy_source "$stage/src"

say "make install / make uninstall into a staging directory"
for k in $kernels; do
	rel=${rel_of[$k]} b=$stage/build-$k root=$stage/root-$k
	kdir=/lib/modules/$rel/build
	cp -r "$stage/src" "$b"
	if ! make -C "$b" KDIR="$kdir" -j"$(nproc)" >"$logdir/dkms-make-$k.log" 2>&1; then
		nok "$k: make KDIR=$kdir (log $logdir/dkms-make-$k.log)"; continue
	fi
	make -C "$b" KDIR="$kdir" INSTALL_MOD_PATH="$root" install >>"$logdir/dkms-make-$k.log" 2>&1
	rc=$?
	inst=$(cd "$root" 2>/dev/null && find "lib/modules/$rel" -name 'espah.ko*')
	if [[ $rc == 0 && -n $inst ]] && grep -q 'espah\.ko' "$root/lib/modules/$rel/modules.dep" \
	   && cmp -s "$top/scripts/espah-modprobe.conf" "$root/etc/modprobe.d/espah.conf"; then
		ok "$k: make install puts $inst and etc/modprobe.d/espah.conf, depmod lists it"
	else
		nok "$k: make install INSTALL_MOD_PATH=$root (log $logdir/dkms-make-$k.log)"
	fi
	if make -C "$b" KDIR="$kdir" INSTALL_MOD_PATH="$root" uninstall >>"$logdir/dkms-make-$k.log" 2>&1 \
	   && [[ -z $(find "$root" -name 'espah*') ]] && ! grep -q espah "$root/lib/modules/$rel/modules.dep"; then
		ok "$k: make uninstall removes both, depmod forgets espah"
	else
		nok "$k: make uninstall left: $(find "$root" -name 'espah*' | tr '\n' ' ')"
	fi
done

say "dkms add"
mkdir -p "$src" && cp -r "$stage/src/." "$src/" && touch "$marker"
check "dkms add espah/$ver (source in $src, no kunit/)" bash -c "dkms add espah/$ver && test ! -e $src/kunit"

# ----------------------------------------------------- build, install, boot
for k in $kernels; do
	rel=${rel_of[$k]}
	say "$k: dkms build / install -k $rel"
	if ! dkms build "espah/$ver" -k "$rel" >"$logdir/dkms-build-$k.log" 2>&1; then
		nok "$k: dkms build -k $rel (log $logdir/dkms-build-$k.log; /var/lib/dkms/espah/$ver/build/make.log)"
		cp "/var/lib/dkms/espah/$ver/build/make.log" "$logdir/dkms-make-$k-dkms.log" 2>/dev/null
		continue
	fi
	ok "$k: dkms build espah/$ver -k $rel"
	check "$k: dkms install espah/$ver -k $rel" dkms install "espah/$ver" -k "$rel"
	st=$(dkms status "espah/$ver" -k "$rel" 2>/dev/null)
	if grep -q 'installed' <<<"$st"; then ok "$k: dkms status: $st"; else nok "$k: dkms status: $st"; fi
	ko=$(ls "/lib/modules/$rel/updates/dkms/espah.ko"* 2>/dev/null | head -n 1)
	if [[ -z $ko ]]; then nok "$k: no /lib/modules/$rel/updates/dkms/espah.ko*"; continue; fi
	ok "$k: installed as $ko"
	mi=$(modinfo "$ko" 2>&1)
	sed 's/^/#   /' <<<"$mi" | grep -vE '^#   (sig_key|signer|sig_hashalgo|signature|\s+[0-9A-F:]+$)'
	vm=$(sed -n 's/^vermagic: *//p' <<<"$mi")
	if [[ ${vm%% *} == "$rel" ]]; then ok "$k: vermagic $rel"; else nok "$k: vermagic '$vm', want $rel"; fi
	miss=""
	for f in description version author license; do grep -q "^$f: *[^ ]" <<<"$mi" || miss+=" $f"; done
	for a in xfrm-type-2-50 xfrm-type-2-51 xfrm-type-10-50 xfrm-type-10-51; do grep -qx "alias: *$a" <<<"$mi" || miss+=" alias:$a"; done
	if grep '^parm:' <<<"$mi" | grep -qv '^parm: *[^:]*:.*[A-Za-z].*(.*)'; then miss+=" parm-description"; fi
	if [[ -z $miss ]]; then ok "$k: modinfo shows description, version $ver, author, license, 4 xfrm-type aliases$(grep -q '^parm:' <<<"$mi" && echo ', described parameters' || echo ' (no parameters)')"
	else nok "$k: modinfo lacks:$miss"; fi
	if grep -q "^version: *$ver\$" <<<"$mi"; then ok "$k: modinfo version $ver"; else nok "$k: modinfo version != $ver"; fi
	# the host's module tree for REL as dkms left it, with our modprobe.d file
	res=""
	for a in xfrm-type-2-50 xfrm-type-2-51 xfrm-type-10-50 xfrm-type-10-51; do
		res+="$a: $(modprobe -S "$rel" -C "$top/scripts/espah-modprobe.conf" -n -v "$a" 2>&1 | grep -oE '[a-z0-9_]+\.ko(\.[a-z]+)?' | tr '\n' ' ')"$'\n'
	done
	if grep -q espah <<<"$res" && ! grep -qE '(esp4|esp6|ah4|ah6)(_offload)?\.ko' <<<"$res" \
	   && [[ $(grep -c 'espah\.ko' <<<"$res") == 4 ]]; then
		ok "$k: host modprobe -S $rel resolves the 4 xfrm-type aliases to espah only"
	else
		nok "$k: host modprobe -S $rel: $(tr '\n' ';' <<<"$res")"
	fi
	# informational: without the modprobe.d file modprobe would pick both
	log_nocfg=$(modprobe -S "$rel" -C /dev/null -n -v xfrm-type-2-50 2>&1 | grep -oE '[a-z0-9_]+\.ko(\.[a-z]+)?' | tr '\n' ' ')
	say "$k: without espah.conf, xfrm-type-2-50 would load: ${log_nocfg:-?}"

	say "$k: booting ${rel} in QEMU with the DKMS-built module"
	glog=$logdir/dkms-guest-$k.log
	"$here/run-guest.sh" --kernel "$k" \
		--file "$ko:/usr/lib/modules/$rel/updates/dkms/$(basename "$ko")" \
		--file "$top/scripts/espah-modprobe.conf:/etc/modprobe.d/espah.conf" \
		--env "ESPAH_DKMS_SHA=$(sha256sum "$ko" | cut -d' ' -f1)" \
		"$here/guest/autoload.sh" 2>&1 | tee "$glog"
	rc=${PIPESTATUS[0]}
	line=$(grep -aE '^  > [0-9]+ passed, [0-9]+ failed' "$glog" | tail -n 1)
	if [[ -n $line ]]; then
		gp=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line"); gf=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		passed=$((passed + gp)); failed=$((failed + gf))
		grep -a '^  > not ok' "$glog" | sed "s/^  > not ok - /$k guest: /" | while read -r l; do echo "$l"; done >>"$logdir/dkms-failures.log"
		(( gf > 0 )) && failures+=("$k guest: $gf check(s) failed, see $glog")
	fi
	if [[ $rc != 0 ]]; then
		nok "$k: guest run exit $rc (log $glog)"
	elif [[ -z $line ]]; then
		nok "$k: guest printed no result line (log $glog)"
	fi
done

# ---------------------------------------------------------------- remove
(( keep )) && finish
say "dkms remove espah/$ver --all"
check "dkms remove espah/$ver --all" dkms remove "espah/$ver" --all
if dkms status -m espah 2>/dev/null | grep -q .; then nok "dkms status still lists espah: $(dkms status -m espah)"
else ok "dkms status no longer lists espah"; fi
[[ ! -e /var/lib/dkms/espah ]] && ok "/var/lib/dkms/espah gone" || nok "/var/lib/dkms/espah still exists"
for k in $kernels; do
	rel=${rel_of[$k]}
	left=$(find "/lib/modules/$rel" -path "/lib/modules/$rel/build" -prune -o -path "/lib/modules/$rel/source" -prune -o -name 'espah*' -print 2>/dev/null)
	if [[ -z $left ]] && ! grep -qs espah "/lib/modules/$rel/modules.dep" "/lib/modules/$rel/modules.alias"; then
		ok "$k: no espah left in /lib/modules/$rel (files, modules.dep, modules.alias)"
	else
		nok "$k: espah left in /lib/modules/$rel: $left"
	fi
	if [[ -n ${before_sum[$k]:-} ]]; then
		now=$(sha256sum "/lib/modules/$rel/modules.alias" 2>/dev/null | cut -d' ' -f1)
		[[ $now == "${before_sum[$k]}" ]] && ok "$k: modules.alias as before the test" \
			|| nok "$k: modules.alias differs from before the test"
	fi
done
cleanup; do_cleanup=0   # done: the EXIT trap has nothing left to do
rm -rf "$stage"
for k in $kernels; do
	now=$(ls -A "/lib/modules/${rel_of[$k]}" 2>/dev/null)
	[[ $now == "${before[$k]}" ]] && ok "$k: /lib/modules/${rel_of[$k]} lists the same entries as before" \
		|| nok "$k: /lib/modules/${rel_of[$k]} entries changed: before [${before[$k]//$'\n'/ }] now [${now//$'\n'/ }]"
done
[[ ! -e $src ]] && ok "$src removed" || nok "$src still exists"
finish
