/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels espah builds for (Debian 6.1, Debian 6.12
 * and the project's test kernel). Kbuild probes the headers and defines the
 * ESPAH_HAVE_* macros; nothing else in the tree tests kernel versions.
 */
#ifndef _ESPAH_COMPAT_H
#define _ESPAH_COMPAT_H

#include <linux/crypto.h>

/*
 * Crypto completion callbacks take the request's data pointer since 6.3;
 * before that they took the request itself. ESPAH_CRYPTO_DONE(fn) names a
 * callback with the signature this kernel wants that forwards to
 * fn(void *data, int err).
 */
#ifdef ESPAH_HAVE_CRYPTO_CB_DATA
#define ESPAH_CRYPTO_DONE(fn)						\
static void fn##_cb(void *data, int err)				\
{									\
	fn(data, err);							\
}
#else
#define ESPAH_CRYPTO_DONE(fn)						\
static void fn##_cb(struct crypto_async_request *req, int err)		\
{									\
	fn(req->data, err);						\
}
#endif

/*
 * Hash transforms used to have an alignment mask for the result buffer;
 * newer kernels dropped it (results may be written anywhere). Use it only
 * where <crypto/hash.h> is included.
 */
#ifdef ESPAH_HAVE_AHASH_ALIGNMASK
#define espah_ahash_alignmask(tfm)	crypto_ahash_alignmask(tfm)
#else
struct crypto_ahash;
static inline unsigned int espah_ahash_alignmask(struct crypto_ahash *tfm)
{
	return 0;
}
#endif

#ifdef ESPAH_HAVE_CRYPTO_UTILS_H
#include <crypto/utils.h>
#else
#include <crypto/algapi.h>
#endif

/* skb_frag_unref() moved to its own header in 6.9 */
#ifdef ESPAH_HAVE_SKBUFF_REF_H
#include <linux/skbuff_ref.h>
#endif

/* include/net/gso.h split from netdevice.h in 6.4 (skb_eth_gso_segment) */
#ifdef ESPAH_HAVE_NET_GSO_H
#include <net/gso.h>
#endif

#include <net/gro.h>
#include <net/xfrm.h>

/*
 * The state lookup for received packets: 6.12 has one that also consults
 * the per-CPU input cache; before, the plain lookup.
 */
static inline struct xfrm_state *
espah_input_state_lookup(struct net *net, u32 mark,
			 const xfrm_address_t *daddr, __be32 spi, u8 proto,
			 unsigned short family)
{
#ifdef ESPAH_HAVE_XFRM_INPUT_STATE_LOOKUP
	return xfrm_input_state_lookup(net, mark, daddr, spi, proto, family);
#else
	return xfrm_state_lookup(net, mark, daddr, spi, proto, family);
#endif
}

/* SA directions (x->dir) exist since 6.10; before, any SA may receive. */
static inline bool espah_state_is_inbound(const struct xfrm_state *x)
{
#ifdef ESPAH_HAVE_XFRM_SA_DIR
	return !x->dir || x->dir == XFRM_SA_DIR_IN;
#else
	return true;
#endif
}

/*
 * Before 6.10, xfrm_input() resumed after asynchronous crypto drops its
 * reference on skb->dev as the receive callback left it: an XFRM
 * interface or a VTI has switched it to itself by then, so the wrong
 * device loses a reference (ipsec0 underflows, "waiting for ipsec0 to
 * become free"). No header marks the fix; SA directions came with the
 * same release. There espah finishes such packets inline, outside the
 * release queue (an asynchronous AEAD still resumes them, as in-tree).
 */
static inline bool espah_input_must_stay_inline(const struct xfrm_state *x,
						const struct sk_buff *skb)
{
#ifdef ESPAH_HAVE_XFRM_SA_DIR
	return false;
#else
	/* an if_id: XFRM interface; a tunnel in the cb: VTI (vti_input()) */
	return x->if_id || XFRM_TUNNEL_SKB_CB(skb)->tunnel.ip4;
#endif
}

/*
 * The GRO entry into xfrm_input() differs: 6.12 also brings ESP in UDP
 * through GRO (NAPI_GRO_CB(skb)->proto says so) and takes the encap type;
 * 6.1 brings plain ESP only, with encap type 0.
 */
static inline int espah_gro_encap_type(struct sk_buff *skb)
{
#ifdef ESPAH_HAVE_GRO_UDP_ENCAP
	return NAPI_GRO_CB(skb)->proto == IPPROTO_UDP ? UDP_ENCAP_ESPINUDP : 0;
#else
	return 0;
#endif
}

#endif /* _ESPAH_COMPAT_H */
