/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * What espah shares with userspace: the per-namespace drop counter file
 * and its columns. The file's first line names the columns, so readers
 * need not be rebuilt when a reason is added; this list is for those that
 * want the reasons at build time.
 *
 * /proc/net/espah (drops) and /proc/net/espah_paths (paths taken):
 *   proto family spi daddr <one column per counter, in this order>
 *   esp|ah ipv4|ipv6 0xSPI ADDRESS <counts>      one line per SA
 *   total - - - <counts>                         the namespace
 */
#ifndef _ESPAH_H
#define _ESPAH_H

#define ESPAH_PROC_FILE "/proc/net/espah"
#define ESPAH_PATHS_FILE "/proc/net/espah_paths"

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
	ESPAH_RX_OVERLOAD,	/* too many packets of the SA in flight */
	ESPAH_RX_HW_OFFLOAD,	/* ESP hardware offload: not supported */
	ESPAH_TX_TOO_BIG,
	ESPAH_TX_NOMEM,
	ESPAH_TX_CRYPTO,
	ESPAH_TX_HDR_MISMATCH,	/* the mode put the header elsewhere */
	ESPAH_TX_OVERLOAD,	/* too many packets of the SA in flight */
	ESPAH_TX_HW_OFFLOAD,	/* ESP hardware offload: not supported */
	ESPAH_DROP_MAX
};

/*
 * Which way packets went, in column order of /proc/net/espah_paths (same
 * layout as /proc/net/espah). Not drops: they show which path a packet
 * took.
 */
enum espah_path {
	ESPAH_TX_INPLACE,	/* encrypted where it was: private, linear */
	ESPAH_TX_OUT_OF_PLACE,	/* read where it was, written to fresh pages */
	ESPAH_TX_NULL,		/* ESP-NULL: payload sent as it was, no crypto */
	ESPAH_TX_HEAD_COPY,	/* a clone's head copied to replace its payload */
	ESPAH_TX_LATE,		/* encrypted at device transmit (offload path) */
	ESPAH_TX_GSO_SEGMENTS,	/* segmented by espah's GSO callback */
	ESPAH_TX_ASYNC,		/* the crypto completed asynchronously */
	ESPAH_TX_PARALLEL,	/* encrypted on another CPU */
	ESPAH_TX_HELD,		/* waited for an earlier packet, to keep order */
	ESPAH_TX_REQUEUED,	/* into the qdisc again after device transmit */
	ESPAH_RX_INPLACE,
	ESPAH_RX_OUT_OF_PLACE,
	ESPAH_RX_NULL,
	ESPAH_RX_HEAD_COPY,
	ESPAH_RX_GRO,		/* received through espah's GRO callback */
	ESPAH_RX_ASYNC,
	ESPAH_RX_PARALLEL,
	ESPAH_RX_HELD,
	ESPAH_REQ_ALLOC,	/* request memory not from the per-CPU cache */
	ESPAH_PATH_MAX
};

#endif /* _ESPAH_H */
