/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the ESP and AH KUnit suites share: SAs built the way xfrm_user.c
 * builds them, and skbs laid out the way xfrm_input() hands them to
 * x->type->input().
 */
#ifndef ESPAH_KUNIT_UTIL_H
#define ESPAH_KUNIT_UTIL_H

#include <kunit/test.h>
#include <net/xfrm.h>

/*
 * One xfrm algorithm as "ip xfrm state" takes it: name (Linux crypto name,
 * as in struct xfrm_algo::alg_name), key bytes (for rfc4106/4543/7539esp
 * and rfc3686 the salt/nonce is included at the end, for rfc4309 a 3-byte
 * salt) and bits: the ICV length for aead, the truncation length for auth,
 * unused for enc.  name == NULL: not used by this vector.
 */
struct espah_kv_alg {
	const char *name;
	const u8 *key;
	unsigned int key_len;		/* bytes */
	unsigned int bits;
};

/* ESP-in-UDP (RFC 3948); type 0: none */
struct espah_kv_encap {
	u16 type;			/* UDP_ENCAP_ESPINUDP */
	u16 sport;
	u16 dport;
};

/* The identity of a test SA, as "ip xfrm state add" gives it. */
struct espah_kunit_sa_id {
	u8 proto;		/* IPPROTO_ESP or IPPROTO_AH */
	u8 family;		/* 4 or 6 */
	u8 mode;
	bool esn;
	u32 spi;
	u32 seq_hi;
	const u8 *saddr;
	const u8 *daddr;
};

bool espah_kunit_impl_is_espah(void);
struct xfrm_state *espah_kunit_state_alloc(struct kunit *test,
					   const struct espah_kunit_sa_id *id);
int espah_kunit_attach_aead(struct xfrm_state *x, const struct espah_kv_alg *a);
int espah_kunit_attach_auth(struct xfrm_state *x, const struct espah_kv_alg *a,
			    bool zero_bits_is_default);
int espah_kunit_l4_offset(const u8 *pkt, unsigned int len, int family,
			  u8 *nexthdr);
struct sk_buff *espah_kunit_rx_skb(struct kunit *test, struct xfrm_state *x,
				   const u8 *pkt, unsigned int hdr_off,
				   unsigned int hdr_len, u32 seq, u32 seq_hi);
int espah_kunit_input(struct kunit *test, struct xfrm_state *x,
		      struct sk_buff *skb);
u64 espah_kunit_drop_count(struct kunit *test, struct xfrm_state *x, int why);

#endif /* ESPAH_KUNIT_UTIL_H */
