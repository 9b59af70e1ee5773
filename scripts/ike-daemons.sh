#!/usr/bin/env bash
# The IKE daemons for the guests (scripts/run-ike.sh): strongSwan 5.9 and
# libreswan 4.10 as Debian ships them, unchanged.
#
#   scripts/ike-daemons.sh fetch-libreswan   extract libreswan's .deb (idempotent)
#   scripts/ike-daemons.sh trees             print ESPAH_GUEST_EXTRA_TREES for
#                                            scripts/mkinitramfs.sh
#   scripts/ike-daemons.sh material DIR      test certificates made by `pki`
#                                            and an empty NSS database for pluto
#
# libreswan conflicts with strongSwan as Debian packages (both ship
# /usr/sbin/ipsec; libreswan Conflicts: strongswan-libcharon): strongSwan is
# installed (scripts/install-deps.sh), libreswan is `apt-get download`ed and
# unpacked under $ESPAH_CACHE/libreswan/VERSION/ (its library dependencies
# are ordinary packages that install-deps.sh installs). Nothing of it runs
# on the host: the guests get pluto, whack and addconn at their usual paths.
# Env: ESPAH_CACHE (default /var/cache/espah)
set -euo pipefail

ESPAH_CACHE=${ESPAH_CACHE:-/var/cache/espah}
say() { echo "[ike-daemons] $*" >&2; }
die() { echo "[ike-daemons] ERROR: $*" >&2; exit 1; }

# the newest libreswan apt knows (or the one already unpacked, without apt lists)
libreswan_root() {
	local ver
	ver=$(apt-cache policy libreswan 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [[ -z $ver || $ver == "(none)" ]]; then
		ls -d "$ESPAH_CACHE"/libreswan/*/root 2>/dev/null | sort -V | tail -n 1
		return
	fi
	echo "$ESPAH_CACHE/libreswan/$ver/root"
}

fetch_libreswan() {
	local root ver tmp deb
	root=$(libreswan_root)
	[[ -n $root ]] || die "apt knows no libreswan package (apt-get update?)"
	[[ -x $root/usr/libexec/ipsec/pluto ]] && return 0
	ver=$(basename "$(dirname "$root")")
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/libreswan.XXXXXX")
	say "apt-get download libreswan=$ver -> $root"
	(cd "$tmp" && apt-get download -q "libreswan=$ver" >&2) || { rm -rf "$tmp"; die "apt-get download libreswan failed"; }
	deb=$(ls "$tmp"/libreswan_*.deb)
	rm -rf "$root.tmp"; mkdir -p "$root.tmp"
	dpkg-deb -x "$deb" "$root.tmp"
	rm -rf "$tmp" "$root"; mv "$root.tmp" "$root"
	local missing
	missing=$(ldd "$root/usr/libexec/ipsec/pluto" | grep 'not found' || true)
	[[ -z $missing ]] || die "pluto's libraries missing (scripts/install-deps.sh): $missing"
}

# strongSwan: charon with the plugins the tests load (strongswan.conf names
# them with `load =`), swanctl; libreswan: pluto & co. and the NSS modules
# NSS dlopen()s; conntrack for the NAT cases.
SW_PLUGINS=(random nonce openssl kdf pem pkcs1 pkcs8 x509 pubkey revocation constraints
            kernel-netlink socket-default vici)
# (libgcc_s: glibc dlopen()s it for pthread_cancel, which charon and swanctl use)
NSS_MODULES=(libgcc_s.so.1 libsoftokn3.so libsoftokn3.chk libfreeblpriv3.so libfreeblpriv3.chk
             libfreebl3.so libfreebl3.chk libnssdbm3.so libnssdbm3.chk)
print_trees() {
	local root p trees=()
	root=$(libreswan_root)
	[[ -x $root/usr/libexec/ipsec/pluto ]] || die "libreswan not unpacked: $0 fetch-libreswan"
	trees+=(/usr/lib/ipsec/charon /usr/sbin/swanctl /usr/sbin/conntrack)
	for p in "${SW_PLUGINS[@]}"; do trees+=("/usr/lib/ipsec/plugins/libstrongswan-$p.so"); done
	for p in pluto whack addconn _updown _updown.xfrm; do
		trees+=("$root/usr/libexec/ipsec/$p:/usr/libexec/ipsec/$p")
	done
	# the updown scripts run "ipsec _updown.xfrm" (strongSwan's ipsec is not in the guest)
	trees+=("$root/usr/sbin/ipsec:/usr/sbin/ipsec")
	for p in "${NSS_MODULES[@]}"; do trees+=("/usr/lib/x86_64-linux-gnu/$p"); done
	echo "${trees[*]}"
}

# material DIR: a CA and one certificate per node (ECDSA P-256: cheap to
# verify under TCG), made by strongSwan's pki; an empty NSS database for
# pluto (it opens one even with PSKs)
make_material() {
	local d=$1 n
	command -v pki >/dev/null || die "pki missing (apt-get install strongswan-pki)"
	command -v certutil >/dev/null || die "certutil missing (apt-get install libnss3-tools)"
	mkdir -p "$d"
	pki --gen --type ecdsa --size 256 --outform pem >"$d/ca.key" 2>/dev/null
	pki --self --ca --lifetime 3650 --in "$d/ca.key" --type ecdsa \
		--dn "O=espah test, CN=espah test CA" --outform pem >"$d/ca.pem" 2>/dev/null
	for n in left right; do
		pki --gen --type ecdsa --size 256 --outform pem >"$d/$n.key" 2>/dev/null
		pki --pub --in "$d/$n.key" --type ecdsa 2>/dev/null |
			pki --issue --lifetime 3650 --cacert "$d/ca.pem" --cakey "$d/ca.key" \
				--dn "O=espah test, CN=$n.espah.test" --san "$n.espah.test" \
				--flag serverAuth --outform pem >"$d/$n.pem" 2>/dev/null
	done
	[[ -s $d/left.pem && -s $d/right.pem ]] || die "pki could not make the test certificates"
	mkdir -p "$d/nss"
	certutil -N -d "sql:$d/nss" --empty-password || die "certutil -N failed"
}

case ${1:-} in
fetch-libreswan) fetch_libreswan ;;
trees) print_trees ;;
material) [[ -n ${2:-} ]] || die "usage: $0 material DIR"; make_material "$2" ;;
*) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
