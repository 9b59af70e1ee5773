// SPDX-License-Identifier: GPL-2.0
/*
 * AH SA setup and teardown: what AH cannot honour is refused here, at
 * `ip xfrm state add` time, with an extack message, so that the data path
 * only ever sees SAs it can serve.
 */
#include <crypto/hash.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/slab.h>
#include <net/xfrm.h>

#include "ah.h"
#include "layout.h"

static int ah_check_config(const struct xfrm_state *x,
			   struct netlink_ext_ack *extack)
{
	if (x->aead || x->ealg) {
		NL_SET_ERR_MSG(extack,
			       "espah: AH authenticates only; encryption needs ESP");
		return -EINVAL;
	}
	if (x->calg) {
		NL_SET_ERR_MSG(extack,
			       "espah: compression is an IPComp SA of its own, not part of AH");
		return -EINVAL;
	}
	if (x->encap) {
		NL_SET_ERR_MSG(extack,
			       "espah: AH cannot be UDP-encapsulated (RFC 3948 covers ESP only)");
		return -EINVAL;
	}
	if (!x->aalg) {
		NL_SET_ERR_MSG(extack, "espah: AH needs an authentication algorithm");
		return -EINVAL;
	}
	if (x->props.family == AF_INET6 &&
	    (x->props.flags & XFRM_STATE_ALIGN4)) {
		NL_SET_ERR_MSG(extack,
			       "espah: IPv6 AH is always 8-octet aligned (RFC 4302 2.2): drop 'flag align4'");
		return -EINVAL;
	}
	return espah_mode_check(x, extack);
}

/*
 * The kernel's algorithm table says how long the untruncated ICV is; if
 * the transform disagrees the SA would interoperate with nobody. The
 * truncation must leave a whole number of octets, and some, unless the
 * algorithm is digest_null, whose ICV is empty (the in-tree AH takes it,
 * and so does the kernel's IPsec selftest).
 */
static int ah_check_icv(const struct xfrm_state *x,
			struct crypto_ahash *ahash,
			struct netlink_ext_ack *extack)
{
	const struct xfrm_algo_desc *desc;
	unsigned int bits = x->aalg->alg_trunc_len;

	desc = xfrm_aalg_get_byname(x->aalg->alg_name, 0);
	if (!desc || desc->uinfo.auth.icv_fullbits / 8 !=
		     crypto_ahash_digestsize(ahash)) {
		NL_SET_ERR_MSG(extack,
			       "espah: authentication algorithm has an unexpected ICV size");
		return -EINVAL;
	}
	if ((!bits && desc->uinfo.auth.icv_fullbits) || bits % 8 ||
	    bits > desc->uinfo.auth.icv_fullbits) {
		NL_SET_ERR_MSG(extack, "espah: unsupported ICV truncation");
		return -EINVAL;
	}
	return 0;
}

static struct crypto_ahash *ah_setup_ahash(const struct xfrm_state *x,
					   struct netlink_ext_ack *extack)
{
	struct crypto_ahash *ahash;
	int err;

	ahash = crypto_alloc_ahash(x->aalg->alg_name, 0, 0);
	if (IS_ERR(ahash)) {
		if (PTR_ERR(ahash) == -ENOMEM)
			NL_SET_ERR_MSG(extack,
				       "espah: out of memory for the AH algorithm");
		else
			NL_SET_ERR_MSG(extack,
				       "espah: the kernel cannot provide this AH algorithm (crypto module missing?)");
		return ahash;
	}
	err = ah_check_icv(x, ahash, extack);
	if (err)
		goto fail;
	err = crypto_ahash_setkey(ahash, x->aalg->alg_key,
				  (x->aalg->alg_key_len + 7) / 8);
	if (err) {
		NL_SET_ERR_MSG(extack,
			       "espah: the authentication algorithm rejected the key");
		goto fail;
	}
	return ahash;
fail:
	crypto_free_ahash(ahash);
	return ERR_PTR(err);
}

/* RFC 4302 2.2: IPv6 needs 8 octets; IPv4 4, but Linux pads to 8 by default. */
static u8 ah_alignment(const struct xfrm_state *x)
{
	if (x->props.family == AF_INET && (x->props.flags & XFRM_STATE_ALIGN4))
		return 4;
	return 8;
}

/* What the mode makes room for in front of the payload. */
static unsigned int ah_header_len(const struct xfrm_state *x,
				  const struct ah_sa *sa)
{
	return ah_hdr_len(sa, sa->icv_trunc_len) + espah_mode_room(x);
}

int ah_init_state(struct xfrm_state *x, struct netlink_ext_ack *extack)
{
	struct crypto_ahash *ahash;
	struct ah_sa *sa;
	int err;

	err = ah_check_config(x, extack);
	if (err)
		return err;
	ahash = ah_setup_ahash(x, extack);
	if (IS_ERR(ahash))
		return PTR_ERR(ahash);

	sa = kzalloc(sizeof(*sa), GFP_KERNEL);
	if (!sa) {
		NL_SET_ERR_MSG(extack, "espah: out of memory for the AH SA");
		crypto_free_ahash(ahash);
		return -ENOMEM;
	}
	sa->ahash = ahash;
	sa->icv_full_len = crypto_ahash_digestsize(ahash);
	sa->icv_trunc_len = x->aalg->alg_trunc_len / 8;
	sa->align = ah_alignment(x);
	sa->clear_mutable = x->props.family == AF_INET6 ?
			    espah_ah6_clear_mutable : espah_ah4_clear_mutable;
	ah_req_layout(sa);

	x->data = sa;
	x->props.header_len = ah_header_len(x, sa);
	x->props.trailer_len = 0;
	return 0;
}

void ah_destroy_state(struct xfrm_state *x)
{
	struct ah_sa *sa = ah_sa(x);

	if (!sa)
		return;
	/* crypto_free_ahash() wipes the transform context, keys included. */
	crypto_free_ahash(sa->ahash);
	kfree(sa);
	x->data = NULL;
}
