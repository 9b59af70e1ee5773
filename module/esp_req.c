// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet crypto request memory.
 *
 * Every packet in flight owns one buffer holding what the completion needs
 * (struct esp_req), the IV the crypto API reads or writes, the AEAD request
 * with the transform's private context, and a scatterlist whose first entry
 * is the associated data and the rest the packet. Keeping this behind
 * esp_req_alloc()/esp_req_free() is what lets a per-CPU cache replace the
 * allocation without touching the data path.
 */
#include <crypto/aead.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "esp.h"

void esp_req_layout(struct esp_sa *sa)
{
	struct crypto_aead *aead = sa->aead;
	unsigned int len = sizeof(struct esp_req);

	len += crypto_aead_alignmask(aead);
	len += sa->ivlen;
	len += crypto_tfm_ctx_alignment() - 1;
	len += sizeof(struct aead_request) + crypto_aead_reqsize(aead);
	len += __alignof__(struct scatterlist) - 1;
	sa->req_fixed_len = len;
}

struct esp_req *esp_req_alloc(struct xfrm_state *x, struct sk_buff *skb,
			      unsigned int nsg)
{
	const struct esp_sa *sa = esp_sa(x);
	struct esp_req *req;
	u8 *p;

	req = kmalloc(sa->req_fixed_len + nsg * sizeof(struct scatterlist),
		      GFP_ATOMIC);
	if (unlikely(!req))
		return NULL;

	req->x = x;
	req->skb = skb;
	req->nsg = nsg;
	p = PTR_ALIGN((u8 *)(req + 1), crypto_aead_alignmask(sa->aead) + 1);
	req->iv = p;
	p = PTR_ALIGN(p + sa->ivlen, crypto_tfm_ctx_alignment());
	req->aead = (struct aead_request *)p;
	p += sizeof(struct aead_request) + crypto_aead_reqsize(sa->aead);
	req->sg = PTR_ALIGN((struct scatterlist *)p,
			    __alignof__(struct scatterlist));
	aead_request_set_tfm(req->aead, sa->aead);
	return req;
}

void esp_req_free(struct esp_req *req)
{
	kfree(req);
}

/*
 * Points the scatterlist at the associated data and then at @len bytes of
 * the packet from @offset (relative to skb->data), so the crypto API never
 * sees the ESP header bytes and ESN needs no rewriting of the packet.
 */
int esp_req_map(struct esp_req *req, int offset, int len)
{
	int n;

	sg_init_table(req->sg, req->nsg);
	sg_set_buf(req->sg, &req->aad, esp_aad_len(req->x));
	n = skb_to_sgvec(req->skb, req->sg + 1, offset, len);
	if (unlikely(n < 0))
		return n;
	return 0;
}
