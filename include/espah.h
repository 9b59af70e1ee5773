/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * What espah shares with userspace: the per-namespace drop counter file
 * and its columns. The file's first line names the columns, so readers
 * need not be rebuilt when a reason is added; this list is for those that
 * want the reasons at build time.
 *
 * /proc/net/espah:
 *   proto family spi daddr <one column per reason, in this order>
 *   esp|ah ipv4|ipv6 0xSPI ADDRESS <counts>      one line per SA
 *   total - - - <counts>                         the namespace
 */
#ifndef _ESPAH_H
#define _ESPAH_H

#define ESPAH_PROC_FILE "/proc/net/espah"

/* Drop reasons, in column order (module/stats.c names the columns). */
enum espah_drop {
	ESPAH_RX_TRUNCATED,	/* shorter than the SA's headers and ICV */
	ESPAH_RX_BAD_LENGTH,	/* length field or block alignment wrong */
	ESPAH_RX_BAD_HEADER,	/* malformed IP options or extension headers */
	ESPAH_RX_ICV,		/* integrity check failed */
	ESPAH_RX_BAD_PADDING,	/* pad length beyond the payload */
	ESPAH_RX_DUMMY,		/* RFC 4303 dummy packet (next header 59) */
	ESPAH_RX_NOMEM,
	ESPAH_RX_CRYPTO,	/* the crypto API failed otherwise */
	ESPAH_RX_HDR_MISMATCH,	/* header not where the SA's mode puts it */
	ESPAH_TX_TOO_BIG,
	ESPAH_TX_NOMEM,
	ESPAH_TX_CRYPTO,
	ESPAH_TX_HDR_MISMATCH,	/* the mode put the header elsewhere */
	ESPAH_DROP_MAX
};

#endif /* _ESPAH_H */
