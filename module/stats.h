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

#include "espah.h"

int espah_stats_init(void);
void espah_stats_exit(void);
int espah_stats_add_sa(struct xfrm_state *x);
void espah_stats_del_sa(struct xfrm_state *x);
void espah_stats_count(const struct xfrm_state *x, enum espah_drop why);
u64 espah_drop_count(const struct xfrm_state *x, enum espah_drop why);

/* Counts a drop and passes its errno through: return espah_drop(x, ...). */
static inline int espah_drop(const struct xfrm_state *x, enum espah_drop why,
			     int err)
{
	espah_stats_count(x, why);
	return err;
}

#endif /* _ESPAH_STATS_H */
