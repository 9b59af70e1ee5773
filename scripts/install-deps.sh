#!/usr/bin/env bash
# Install (as root, via apt) everything espah's build and QEMU tests need.
# Idempotent: if every package is already installed it returns in ~1 s without
# touching apt. Usage: scripts/install-deps.sh [--check]   (--check: only report)
# Env: ESPAH_EXTRA_PKGS="pkg ..." adds packages.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
log() { echo "[install-deps] $*" >&2; }

PKGS=(
  # kernel / module build
  gcc make libc6-dev bc flex bison libelf-dev libssl-dev cpio kmod xz-utils gzip
  python3 sparse dkms git rsync openssl
  linux-source-6.12
  linux-headers-cloud-amd64            # deb61: 6.1.0-NN-cloud-amd64
  linux-headers-6.12-cloud-amd64       # deb612: 6.12.NN+deb12-cloud-amd64
  # QEMU guest environment (binaries copied into the initramfs) + host tools
  qemu-system-x86 busybox-static bash iproute2 iperf3 tcpdump socat nftables
  coreutils findutils util-linux procps conntrack ethtool
  tshark python3-scapy python3-cryptography   # the independent peer (scripts/ipsec-peer.py)
  strongswan-charon strongswan-swanctl strongswan-starter
  # IKE tests (scripts/run-ike.sh): pki for the certificates, charon's openssl
  # plugin, certutil for pluto's NSS database; libreswan itself conflicts with
  # strongSwan's packages, so scripts/ike-daemons.sh unpacks its .deb into
  # $ESPAH_CACHE and only its libraries are installed here
  strongswan-pki libstrongswan-standard-plugins libnss3-tools
  libldns3 libunbound8 libevent-core-2.1-7 libevent-pthreads-2.1-7 libcap-ng0
  libaudit1 libldap-2.5-0 libcurl3-nss libnss3 libnspr4
  gnuplot-nox                          # make bench: the PNG chart
)
# shellcheck disable=SC2206
PKGS+=(${ESPAH_EXTRA_PKGS:-})

# one dpkg-query for all; packages dpkg never heard of are simply not printed
declare -A ok=()
while read -r pkg status; do
  [[ $status == installed ]] && ok[${pkg%%:*}]=1
done < <(dpkg-query -W -f '${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null || true)
missing=()
for p in "${PKGS[@]}"; do [[ -n ${ok[$p]:-} ]] || missing+=("$p"); done

# libreswan for the guests (a .deb unpacked under $ESPAH_CACHE, see above)
libreswan_tree() {
  [[ ${1:-} == --check ]] && return 0
  "$(dirname "${BASH_SOURCE[0]}")/ike-daemons.sh" fetch-libreswan
}
if (( ${#missing[@]} == 0 )); then
  log "all ${#PKGS[@]} packages already installed"
  libreswan_tree "${1:-}"
  exit
fi
log "missing: ${missing[*]}"
[[ ${1:-} == --check ]] && exit 1
[[ $(id -u) == 0 ]] || { log "ERROR: must run as root to install packages"; exit 1; }

# tshark asks whether non-root users may capture: answer no, non-interactively
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections

lists_fresh() {
  # fresh = at least one Packages list exists and is younger than 6 hours
  [[ -n $(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -360 2>/dev/null | head -1) ]]
}
updated=0
if ! lists_fresh; then
  log "apt-get update"; apt-get update -q; updated=1
fi
APT=(apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
if ! "${APT[@]}" "${missing[@]}"; then
  (( updated )) && { log "ERROR: apt-get install failed"; exit 1; }
  log "install failed; retrying after apt-get update"
  apt-get update -q
  "${APT[@]}" "${missing[@]}"
fi
log "installed: ${missing[*]}"
libreswan_tree
