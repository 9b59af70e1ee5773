/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why packets were dropped, per SA and per network namespace, exported in
 * /proc/net/espah (see README.md, "Reading the counters").
 *
 * The xfrm core counts its own drops (/proc/net/xfrm_stat); these say
 * which SA dropped a packet and why, in the transform's own terms. Only
 * drop paths pay for them: a per-CPU increment after a hash lookup.
 */
#ifndef _ESPAH_STATS_H
#define _ESPAH_STATS_H

#include <net/xfrm.h>

/* Keep in step with espah_drop_names[] in stats.c and include/espah.h. */
enum espah_drop {
	ESPAH_RX_TRUNCATED,	/* shorter than the SA's headers and ICV */
	ESPAH_RX_BAD_LENGTH,	/* length field or block alignment wrong */
	ESPAH_RX_BAD_HEADER,	/* malformed IP options or extension headers */
	ESPAH_RX_ICV,		/* integrity check failed */
	ESPAH_RX_BAD_PADDING,	/* pad length beyond the payload */
	ESPAH_RX_DUMMY,		/* RFC 4303 dummy packet (next header 59) */
	ESPAH_RX_NOMEM,
	ESPAH_RX_CRYPTO,	/* the crypto API failed otherwise */
	ESPAH_TX_TOO_BIG,
	ESPAH_TX_NOMEM,
	ESPAH_TX_CRYPTO,
	ESPAH_DROP_MAX
};

int espah_stats_init(void);
void espah_stats_exit(void);
int espah_stats_add_sa(struct xfrm_state *x);
void espah_stats_del_sa(struct xfrm_state *x);
void espah_stats_count(const struct xfrm_state *x, enum espah_drop why);

/* Counts a drop and passes its errno through: return espah_drop(x, ...). */
static inline int espah_drop(const struct xfrm_state *x, enum espah_drop why,
			     int err)
{
	espah_stats_count(x, why);
	return err;
}

#endif /* _ESPAH_STATS_H */
