#!/bin/sh
# export-flush.sh - send what is in $ESPAH_EXPORT to the host now, and empty it.
#
# run-guest.sh --export gives the guest a raw virtio disk (/dev/vda). Each
# call appends one tar archive to it, at the next 512-byte block (kept in
# /tmp/espah-export.blocks), and prints "ESPAH-GUEST-EXPORT-BLOCKS N", the
# blocks written so far; the host reads that many blocks and unpacks every
# archive in them (tar --ignore-zeros). The guest's /init calls this when
# the script ends; a script calls it to get what it has out before it might
# die (e2e-all.sh: after each suite), which also frees the guest's memory.
[ -n "${ESPAH_EXPORT:-}" ] && [ -d "$ESPAH_EXPORT" ] || exit 0
[ -n "$(ls -A "$ESPAH_EXPORT")" ] || exit 0
modprobe virtio_pci 2>/dev/null
modprobe virtio_blk 2>/dev/null
for _i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.3; done
if [ ! -b /dev/vda ]; then
	echo "ESPAH-GUEST-EXPORT-FAILED no virtio disk /dev/vda"
	exit 1
fi
off=$(cat /tmp/espah-export.blocks 2>/dev/null || echo 0)
kib=$(du -sk "$ESPAH_EXPORT" | cut -f1)
t0=$(cut -d' ' -f1 /proc/uptime)
# through dd: fsync before a poweroff or a crash; its "N+M records out"
# (512-byte records, M partial) says where the next archive goes
if ! tar -c -C "$ESPAH_EXPORT" . 2>/tmp/export.err |
	dd of=/dev/vda bs=512 seek="$off" conv=notrunc,fsync 2>>/tmp/export.err; then
	echo "ESPAH-GUEST-EXPORT-FAILED $(cat /tmp/export.err)"
	exit 1
fi
recs=$(sed -n 's/^\([0-9][0-9]*\)+\([0-9][0-9]*\) records out$/\1 \2/p' /tmp/export.err | tail -n 1)
if [ -z "$recs" ]; then
	echo "ESPAH-GUEST-EXPORT-FAILED no record count from dd: $(cat /tmp/export.err)"
	exit 1
fi
# shellcheck disable=SC2086
set -- $recs
off=$((off + $1 + $2))
echo "$off" >/tmp/espah-export.blocks
rm -rf "${ESPAH_EXPORT:?}"/*
echo "ESPAH-GUEST-EXPORTED $kib KiB in $(awk -v t0="$t0" '{ printf "%.1f", $1 - t0 }' /proc/uptime)s"
echo "ESPAH-GUEST-EXPORT-BLOCKS $off"
