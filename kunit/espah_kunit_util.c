// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the ESP and AH KUnit suites (espah_kunit_util.h).
 */

#include <kunit/resource.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>

#include "espah.h"
#include "espah_kunit_util.h"

/* module/stats.c; found with symbol_get() so the suites load without espah */
u64 espah_drop_count(const struct xfrm_state *x, enum espah_drop why);

#define ESPAH_KUNIT_HEADROOM	128

static char *impl = "espah";
module_param(impl, charp, 0444);
MODULE_PARM_DESC(impl, "the implementation under test: espah (default) or intree");

/*
 * Tests of what only espah has (its counters, its exported helpers) skip
 * when the in-tree modules are under test, and fail when espah is.
 */
bool espah_kunit_impl_is_espah(void)
{
	return strcmp(impl, "intree") != 0;
}

static void espah_kunit_state_put(struct xfrm_state *x)
{
	/* as xfrm_user.c does for a state that never got inserted */
	x->km.state = XFRM_STATE_DEAD;
	xfrm_state_put(x);
}

KUNIT_DEFINE_ACTION_WRAPPER(espah_kunit_state_put_action,
			    espah_kunit_state_put, struct xfrm_state *);

static void espah_kunit_replay_esn(struct kunit *test, struct xfrm_state *x,
				   u32 seq_hi)
{
	struct xfrm_replay_state_esn *rs;

	rs = kzalloc(sizeof(*rs) + sizeof(u32), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, rs);
	rs->bmp_len = 1;
	rs->replay_window = 32;
	rs->seq_hi = seq_hi;
	x->replay_esn = rs;
	x->props.replay_window = 32;
	x->props.flags |= XFRM_STATE_ESN;
}

/*
 * A state without algorithms, not yet initialised, released when the test
 * ends.
 */
struct xfrm_state *espah_kunit_state_alloc(struct kunit *test,
					   const struct espah_kunit_sa_id *id)
{
	int alen = id->family == 4 ? 4 : 16;
	struct xfrm_state *x;
	int err;

	x = xfrm_state_alloc(&init_net);
	KUNIT_ASSERT_NOT_NULL(test, x);
	err = kunit_add_action_or_reset(test, espah_kunit_state_put_action, x);
	KUNIT_ASSERT_EQ(test, err, 0);

	x->id.proto = id->proto;
	x->id.spi = htonl(id->spi);
	memcpy(&x->id.daddr, id->daddr, alen);
	memcpy(&x->props.saddr, id->saddr, alen);
	x->props.family = id->family == 4 ? AF_INET : AF_INET6;
	x->props.mode = id->mode;
	x->props.reqid = 1;
	/* iproute2 without "sel": AF_UNSPEC lets a tunnel carry either family */
	x->sel.family = id->mode == XFRM_MODE_TUNNEL ? AF_UNSPEC :
			x->props.family;
	if (id->esn)
		espah_kunit_replay_esn(test, x, id->seq_hi);
	return x;
}

/*
 * As xfrm_user.c's attach_auth_trunc(); -ENOENT: not in this kernel. With
 * @zero_bits_is_default, bits 0 means the algorithm's default truncation,
 * as plain "auth" does; otherwise it is taken as it is.
 */
int espah_kunit_attach_auth(struct xfrm_state *x, const struct espah_kv_alg *a,
			    bool zero_bits_is_default)
{
	struct xfrm_algo_desc *desc;
	struct xfrm_algo_auth *p;

	desc = xfrm_aalg_get_byname(a->name, 1);
	if (!desc)
		return -ENOENT;
	if (a->bits > desc->uinfo.auth.icv_fullbits)
		return -EINVAL;
	p = kzalloc(sizeof(*p) + a->key_len, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	strscpy(p->alg_name, desc->name, sizeof(p->alg_name));
	p->alg_key_len = a->key_len * 8;
	p->alg_trunc_len = a->bits;
	if (!a->bits && zero_bits_is_default)
		p->alg_trunc_len = desc->uinfo.auth.icv_truncbits;
	if (a->key_len)
		memcpy(p->alg_key, a->key, a->key_len);
	x->aalg = p;
	x->props.aalgo = desc->desc.sadb_alg_id;
	return 0;
}

/* As xfrm_user.c's attach_aead(); -ENOENT: not in this kernel. */
int espah_kunit_attach_aead(struct xfrm_state *x, const struct espah_kv_alg *a)
{
	struct xfrm_algo_desc *desc;
	struct xfrm_algo_aead *p;

	desc = xfrm_aead_get_byname(a->name, a->bits, 1);
	if (!desc)
		return -ENOENT;
	p = kzalloc(sizeof(*p) + a->key_len, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	strscpy(p->alg_name, desc->name, sizeof(p->alg_name));
	p->alg_key_len = a->key_len * 8;
	p->alg_icv_len = a->bits;
	if (a->key_len)
		memcpy(p->alg_key, a->key, a->key_len);
	x->aead = p;
	x->geniv = desc->uinfo.aead.geniv;
	x->props.ealgo = desc->desc.sadb_alg_id;
	return 0;
}

/*
 * Offset of what follows the IP header of @pkt (IPv6: and its hop-by-hop,
 * routing and destination options headers), with its protocol in
 * @nexthdr; -1 if the headers run past @len.
 */
int espah_kunit_l4_offset(const u8 *pkt, unsigned int len, int family,
			  u8 *nexthdr)
{
	unsigned int off;
	u8 nh;

	if (family == 4) {
		if (len < sizeof(struct iphdr))
			return -1;
		off = (pkt[0] & 0xf) * 4;
		nh = pkt[9];
	} else {
		if (len < sizeof(struct ipv6hdr))
			return -1;
		off = sizeof(struct ipv6hdr);
		nh = pkt[6];
		while (nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING ||
		       nh == NEXTHDR_DEST) {
			if (off + 2 > len)
				return -1;
			nh = pkt[off];
			off += (pkt[off + 1] + 1) * 8;
		}
	}
	if (off > len)
		return -1;
	*nexthdr = nh;
	return off;
}

/*
 * An skb as xfrm_input() hands it to input(): the IP packet @pkt up to
 * @hdr_off + @hdr_len bytes (the IPsec part may be cut short), skb->data
 * and the transport header at the IPsec header at @hdr_off, the state in
 * the sec_path and the sequence number in the control block.
 */
struct sk_buff *espah_kunit_rx_skb(struct kunit *test, struct xfrm_state *x,
				   const u8 *pkt, unsigned int hdr_off,
				   unsigned int hdr_len, u32 seq, u32 seq_hi)
{
	unsigned int len = hdr_off + hdr_len;
	struct sec_path *sp;
	struct sk_buff *skb;

	skb = alloc_skb(ESPAH_KUNIT_HEADROOM + len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_reserve(skb, ESPAH_KUNIT_HEADROOM);
	skb_put_data(skb, pkt, len);
	skb_reset_network_header(skb);
	skb->dev = init_net.loopback_dev;
	skb->ip_summed = CHECKSUM_NONE;
	skb->protocol = htons(x->props.family == AF_INET ? ETH_P_IP :
							   ETH_P_IPV6);
	__skb_pull(skb, hdr_off);
	skb_reset_transport_header(skb);

	sp = secpath_set(skb);
	if (!sp) {
		kfree_skb(skb);
		KUNIT_ASSERT_NOT_NULL(test, sp);
	}
	xfrm_state_hold(x);
	sp->xvec[sp->len++] = x;

	memset(skb->cb, 0, sizeof(skb->cb));
	XFRM_SKB_CB(skb)->seq.input.low = htonl(seq);
	XFRM_SKB_CB(skb)->seq.input.hi = htonl(seq_hi);
	return skb;
}

/*
 * Runs input(). The skb stays the caller's unless -EINPROGRESS, which
 * fails the test: the completion owns the skb then.
 */
int espah_kunit_input(struct kunit *test, struct xfrm_state *x,
		      struct sk_buff *skb)
{
	int ret = x->type->input(x, skb);

	if (ret == -EINPROGRESS)
		KUNIT_FAIL(test,
			   "input() went asynchronous (-EINPROGRESS): the test needs synchronous crypto");
	return ret;
}

/* One of espah's drop counters of @x (espah only). */
u64 espah_kunit_drop_count(struct kunit *test, struct xfrm_state *x, int why)
{
	u64 (*count)(const struct xfrm_state *x, enum espah_drop why);
	u64 n;

	count = symbol_get(espah_drop_count);
	KUNIT_ASSERT_NOT_NULL_MSG(test, count,
				  "espah is under test but exports no espah_drop_count");
	n = count(x, why);
	symbol_put(espah_drop_count);
	return n;
}
