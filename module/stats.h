/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why packets were dropped and which way they went, per SA and per network
 * namespace, exported in /proc/net/espah and /proc/net/espah_paths (see
 * README.md, "Reading the counters").
 *
 * The xfrm core counts its own drops (/proc/net/xfrm_stat); these say
 * which SA dropped a packet and why, in the transform's own terms. A
 * count is a per-CPU increment on the SA's record and on the namespace.
 */
#ifndef _ESPAH_STATS_H
#define _ESPAH_STATS_H

#include <net/xfrm.h>

#include "espah.h"
#include "sa.h"

int espah_stats_init(void);
void espah_stats_exit(void);
void espah_sa_count_drop(const struct espah_sa *sa, enum espah_drop why);
void espah_sa_count_path(const struct espah_sa *sa, enum espah_path path);
void espah_stats_count(const struct xfrm_state *x, enum espah_drop why);
void espah_stats_path(const struct xfrm_state *x, enum espah_path path);
u64 espah_drop_count(const struct xfrm_state *x, enum espah_drop why);
u64 espah_path_count(const struct xfrm_state *x, enum espah_path path);

/* Counts a drop and passes its errno through: return espah_drop(x, ...). */
static inline int espah_drop(const struct xfrm_state *x, enum espah_drop why,
			     int err)
{
	espah_stats_count(x, why);
	return err;
}

/* The same, when the caller has the SA's record at hand. */
static inline int espah_sa_drop(const struct espah_sa *sa,
				enum espah_drop why, int err)
{
	espah_sa_count_drop(sa, why);
	return err;
}

#endif /* _ESPAH_STATS_H */
