/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-packet request memory without an allocation per packet: slots of
 * ESPAH_REQ_SLOT bytes kept on a lock-free list per CPU. A slot is taken
 * on the CPU that starts a packet and goes back to that CPU's list from
 * whichever CPU finishes it (asynchronous and parallel crypto complete
 * elsewhere), so no list drains into another. Slots the slab had to
 * provide join the finishing CPU's list; each list keeps at most
 * ESPAH_REQ_CACHE_MAX slots, the rest go back to the slab.
 */
#ifndef _ESPAH_REQ_CACHE_H
#define _ESPAH_REQ_CACHE_H

#include <linux/types.h>

#define ESPAH_REQ_SLOT		4096
#define ESPAH_REQ_CACHE_MAX	256
#define ESPAH_REQ_CACHE_PREFILL	64

int espah_req_cache_init(void);
void espah_req_cache_exit(void);
/* Where a slot came from: a CPU's list, or the slab. */
#define ESPAH_REQ_FROM_SLAB	(-1)

void *espah_req_cache_get(unsigned int len, int *from);
void espah_req_cache_put(void *p, unsigned int len, int from);

#endif /* _ESPAH_REQ_CACHE_H */
