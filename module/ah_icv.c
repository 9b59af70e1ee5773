// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet request memory and the ICV computation.
 *
 * Every packet in flight owns one buffer holding what the completion needs
 * (struct ah_req), the computed ICV, the hash request with the
 * transform's private context, a scatterlist and the scratch copy of the
 * headers. The hash reads the copy (IP header, options or extension
 * headers, AH header) in the form RFC 4302 3.3.3 asks for, then the rest
 * of the packet where it is, then with ESN the high sequence bits (RFC
 * 4302 2.5.1, appended as the in-tree ah4/ah6 do).
 */
#include <crypto/hash.h>
#include <linux/net.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "ah.h"
#include "req_cache.h"
#include "skb.h"
#include "stats.h"

/* The header copy is read as struct iphdr/ipv6hdr and in6_addr. */
#define AH_HDRS_ALIGN	8

void ah_req_layout(struct ah_sa *sa)
{
	struct crypto_ahash *ahash = sa->ahash;
	unsigned int len = sizeof(struct ah_req);

	len += espah_ahash_alignmask(ahash);
	len += crypto_ahash_digestsize(ahash);
	len += crypto_tfm_ctx_alignment() - 1;
	len += sizeof(struct ahash_request) + crypto_ahash_reqsize(ahash);
	len += __alignof__(struct scatterlist) - 1;
	sa->req_fixed_len = len;
}

/* Header copy, packet, and with ESN the high sequence bits. */
static int ah_req_nsg(const struct xfrm_state *x, struct sk_buff *skb)
{
	int n = espah_skb_nsg(skb);

	if (unlikely(n < 0))
		return n;
	return 1 + n + !!(x->props.flags & XFRM_STATE_ESN);
}

/*
 * Points the scatterlist at the header copy, then at the packet after the
 * AH header where it is, then with ESN at the high sequence bits.
 */
static int ah_req_map(struct ah_req *req)
{
	struct sk_buff *skb = req->skb;
	int off = skb_transport_offset(skb) + req->ah_len;
	int len = skb->len - off;
	int n;

	sg_init_table(req->sg, req->nsg);
	sg_set_buf(req->sg, req->hdrs, req->hdrs_len);
	n = skb_to_sgvec_nomark(skb, req->sg + 1, off, len);
	if (unlikely(n < 0))
		return n;
	n++;
	if (req->x->props.flags & XFRM_STATE_ESN) {
		sg_set_buf(&req->sg[n++], &req->seqhi, sizeof(req->seqhi));
		len += sizeof(req->seqhi);
	}
	sg_mark_end(&req->sg[n - 1]);
	req->nbytes = req->hdrs_len + len;
	return 0;
}

/*
 * @skb's transport header is its AH header, @ah_len bytes long; the
 * headers from the network header to there are in the linear part.
 * Returns NULL when there is no memory for the request, or the packet is
 * a frag list nested deeper than skb_to_sgvec() follows.
 */
struct ah_req *ah_req_alloc(struct xfrm_state *x, struct sk_buff *skb,
			    unsigned int ah_len)
{
	const struct ah_sa *sa = ah_sa(x);
	unsigned int hdrs_len = skb_network_header_len(skb) + ah_len;
	unsigned int len;
	struct ah_req *req;
	int nsg, from;
	u8 *p;

	nsg = ah_req_nsg(x, skb);
	if (unlikely(nsg < 0))
		return NULL;
	len = sa->req_fixed_len + nsg * sizeof(struct scatterlist) +
	      AH_HDRS_ALIGN - 1 + hdrs_len;
	req = espah_req_cache_get(len, &from);
	if (unlikely(!req))
		return NULL;
	if (unlikely(from == ESPAH_REQ_FROM_SLAB))
		espah_stats_path(x, ESPAH_REQ_ALLOC);

	req->mem_len = len;
	req->mem_from = from;
	req->x = x;
	req->skb = skb;
	req->nsg = nsg;
	req->ah_len = ah_len;
	req->hdrs_len = hdrs_len;
	p = PTR_ALIGN((u8 *)(req + 1), espah_ahash_alignmask(sa->ahash) + 1);
	req->icv = p;
	p = PTR_ALIGN(p + crypto_ahash_digestsize(sa->ahash),
		      crypto_tfm_ctx_alignment());
	req->ahash = (struct ahash_request *)p;
	p += sizeof(struct ahash_request) + crypto_ahash_reqsize(sa->ahash);
	req->sg = PTR_ALIGN((struct scatterlist *)p,
			    __alignof__(struct scatterlist));
	req->hdrs = PTR_ALIGN((u8 *)(req->sg + nsg), AH_HDRS_ALIGN);
	ahash_request_set_tfm(req->ahash, sa->ahash);
	if (unlikely(ah_req_map(req))) {
		ah_req_free(req);
		return NULL;
	}
	return req;
}

void ah_req_free(struct ah_req *req)
{
	espah_req_cache_put(req, req->mem_len, req->mem_from);
}

/*
 * For a rejected packet: the request holds the ICV that would have been
 * right, and the hash state it came from. Wiped, so that a heap leak
 * elsewhere cannot hand an attacker a forgery.
 */
void ah_req_free_sensitive(struct ah_req *req)
{
	memzero_explicit(req, req->mem_len);
	ah_req_free(req);
}

/*
 * Copies the headers and puts the copy in the form the ICV covers: the
 * family's mutable fields, and the ICV field (@icv_field_len bytes; any
 * padding after it is hashed as sent, RFC 4302 3.3.3.2.1) zeroed.
 * Returns -EINVAL when the IP header, its options or the extension
 * headers are malformed, or AH cannot tell how they arrive.
 */
int ah_icv_headers(struct ah_req *req, unsigned int icv_field_len,
		   bool outbound)
{
	const struct ah_sa *sa = ah_sa(req->x);
	unsigned int ip_len = skb_network_header_len(req->skb);
	int err;

	memcpy(req->hdrs, skb_network_header(req->skb), req->hdrs_len);
	memset(req->hdrs + ip_len + offsetof(struct ip_auth_hdr, auth_data),
	       0, icv_field_len);
	err = sa->clear_mutable(req->hdrs, ip_len, outbound);
	if (unlikely(err))
		net_dbg_ratelimited("espah: AH SPI %08x: malformed IP header, options or extension headers\n",
				    ntohl(req->x->id.spi));
	return err;
}

/*
 * Starts hashing into req->icv. Returns 0 when done, -EINPROGRESS when
 * @done will be called, or an errno.
 */
int ah_icv_digest(struct ah_req *req, crypto_completion_t done)
{
	ahash_request_set_callback(req->ahash, 0, done, req);
	ahash_request_set_crypt(req->ahash, req->sg, req->icv, req->nbytes);
	return crypto_ahash_digest(req->ahash);
}
