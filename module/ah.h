/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The AH core (RFC 4302), shared by IPv4 and IPv6.
 *
 * ah_state.c  - SA setup and teardown: hash transform, ICV and header
 *               sizes, configuration checks
 * ah_icv.c    - per-packet request memory and the ICV computation, done
 *               over a scratch copy of the headers
 * ah_output.c - building the AH header
 * ah_input.c  - checking and removing it
 * ah_ipv4.c, ah_ipv6.c - what changes in transit, per family (ah_mutable.h)
 *
 * The packet itself is never zeroed or rearranged for the ICV: the IP
 * header, its options or extension headers and the AH header are copied
 * into the request, the copy is put into the form RFC 4302 3.3.3 asks for,
 * and the hash reads that copy followed by the rest of the packet. So
 * there is nothing to restore afterwards, and memory another skb shares
 * is only ever read.
 */
#ifndef _ESPAH_AH_H
#define _ESPAH_AH_H

#include <linux/types.h>
#include <net/xfrm.h>

#include "ah_mutable.h"

struct crypto_ahash;
struct ahash_request;
struct scatterlist;

/* Per-SA state, hung off xfrm_state::data. */
struct ah_sa {
	struct crypto_ahash *ahash;
	/* What the algorithm produces and what this SA carries. */
	u8 icv_full_len;
	u8 icv_trunc_len;
	/* The AH header is padded to a multiple of this (RFC 4302 2.6). */
	u8 align;
	/* Bytes of request memory before the scatterlist, see ah_icv.c. */
	unsigned int req_fixed_len;
	ah_clear_mutable_t clear_mutable;
};

/*
 * One allocation per packet in flight: what the completion needs, the
 * computed ICV, the hash request, the scatterlist and the scratch copy of
 * the headers.
 */
struct ah_req {
	struct xfrm_state *x;
	struct sk_buff *skb;
	/* bytes of this request's memory (req_cache.h) */
	unsigned int mem_len;
	int mem_from;
	/* High 32 sequence bits, hashed after the packet with ESN. */
	__be32 seqhi;
	unsigned int nsg;
	unsigned int ah_len;
	/* Network header to the end of the AH header. */
	unsigned int hdrs_len;
	/* What the scatterlist covers. */
	unsigned int nbytes;
	u8 *icv;
	struct ahash_request *ahash;
	struct scatterlist *sg;
	u8 *hdrs;
};

static inline struct ah_sa *ah_sa(const struct xfrm_state *x)
{
	return x->data;
}

/* Length of an AH header carrying @icv_len bytes of ICV for this SA. */
static inline unsigned int ah_hdr_len(const struct ah_sa *sa,
				      unsigned int icv_len)
{
	return ALIGN(sizeof(struct ip_auth_hdr) + icv_len, sa->align);
}

/* The AH header's length field counts 32-bit words, minus 2. */
static inline unsigned int ah_hdr_len_field(const struct ip_auth_hdr *ah)
{
	return (ah->hdrlen + 2) << 2;
}

/* ah_state.c */
int ah_init_state(struct xfrm_state *x, struct netlink_ext_ack *extack);
void ah_destroy_state(struct xfrm_state *x);

/* ah_icv.c */
void ah_req_layout(struct ah_sa *sa);
struct ah_req *ah_req_alloc(struct xfrm_state *x, struct sk_buff *skb,
			    unsigned int ah_len);
void ah_req_free(struct ah_req *req);
void ah_req_free_sensitive(struct ah_req *req);
int ah_icv_headers(struct ah_req *req, unsigned int icv_field_len,
		   bool outbound);
int ah_icv_digest(struct ah_req *req, crypto_completion_t done);

/* ah_output.c */
int ah_output(struct xfrm_state *x, struct sk_buff *skb);

/* ah_input.c */
int ah_input(struct xfrm_state *x, struct sk_buff *skb);

extern const struct xfrm_type espah_ah_type;

#endif /* _ESPAH_AH_H */
