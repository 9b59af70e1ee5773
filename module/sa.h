/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What espah keeps per SA besides the xfrm_state, found by the state's
 * address. An ESP SA's xfrm_state::data must stay the bare AEAD transform
 * (the core's xfrm_state_mtu() reads it as one), so these records live in
 * a hash table keyed by the state instead. A record lives exactly as long
 * as its state: added when the type accepts the SA, removed by the type's
 * destructor, which the core calls only after the last packet let go of
 * the state. A packet that found its record may therefore keep the
 * pointer until it is done.
 */
#ifndef _ESPAH_SA_H
#define _ESPAH_SA_H

#include <linux/rhashtable-types.h>
#include <net/xfrm.h>

#include "espah.h"
#include "order.h"

/* How ESP output makes IVs: see esp_iv() in esp_output.c. */
enum esp_iv_kind {
	ESP_IV_NONE,
	ESP_IV_COUNTER,		/* unique: the sequence number, salted */
	ESP_IV_RANDOM,		/* unpredictable: CBC and its kind */
};

struct espah_counters {
	u64 drops[ESPAH_DROP_MAX];
	u64 paths[ESPAH_PATH_MAX];
};

struct espah_sa {
	struct rhash_head node;
	const struct xfrm_state *x;
	possible_net_t net;
	struct espah_counters __percpu *counters;
	/* What identifies the SA to a reader of /proc: never the state. */
	xfrm_address_t daddr;
	__be32 spi;
	u16 family;
	u8 proto;
	/* ESP */
	u8 iv_kind;
	/*
	 * ESP-NULL without integrity (RFC 2410, no ICV): the ciphertext is
	 * the plaintext, so the payload stays where it is, only read, and
	 * the data path skips the crypto API (esp_output.c, esp_input.c).
	 */
	bool esp_null;
	u64 iv_salt;
	/* Bytes of request memory a packet of this SA needs, sg lists aside. */
	unsigned int req_fixed_len;
	/* Packets leave in the order they entered espah (order.c). */
	struct espah_order order[2];
	struct rcu_head rcu;
};

int espah_sa_init(void);
void espah_sa_exit(void);
struct espah_sa *espah_sa_add(struct xfrm_state *x);
void espah_sa_del(struct xfrm_state *x);
struct espah_sa *espah_sa_find(const struct xfrm_state *x);

/* Iterates every record (of any namespace) under rcu, for /proc. */
void espah_sa_walk(void (*fn)(const struct espah_sa *sa, void *arg),
		   void *arg);

#endif /* _ESPAH_SA_H */
