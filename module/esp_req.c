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

/* Worst case for any placement of the buffer kmalloc() returns. */
static unsigned int esp_req_len(struct crypto_aead *aead, unsigned int nsg)
{
	return sizeof(struct esp_req) +
	       crypto_aead_alignmask(aead) + crypto_aead_ivsize(aead) +
	       crypto_tfm_ctx_alignment() - 1 +
	       sizeof(struct aead_request) + crypto_aead_reqsize(aead) +
	       __alignof__(struct scatterlist) - 1 +
	       nsg * sizeof(struct scatterlist);
}

struct esp_req *esp_req_alloc(struct xfrm_state *x, struct sk_buff *skb,
			      unsigned int nsg)
{
	struct crypto_aead *aead = esp_aead(x);
	struct esp_req *req;
	u8 *p;

	req = kmalloc(esp_req_len(aead, nsg), GFP_ATOMIC);
	if (unlikely(!req))
		return NULL;

	req->x = x;
	req->skb = skb;
	req->nsg = nsg;
	p = PTR_ALIGN((u8 *)(req + 1), crypto_aead_alignmask(aead) + 1);
	req->iv = p;
	p = PTR_ALIGN(p + crypto_aead_ivsize(aead), crypto_tfm_ctx_alignment());
	req->aead = (struct aead_request *)p;
	p += sizeof(struct aead_request) + crypto_aead_reqsize(aead);
	req->sg = PTR_ALIGN((struct scatterlist *)p,
			    __alignof__(struct scatterlist));
	aead_request_set_tfm(req->aead, aead);
	return req;
}

void esp_req_free(struct esp_req *req)
{
	kfree(req);
}

/* For requests that may hold secrets: a tag for a rejected packet. */
void esp_req_free_sensitive(struct esp_req *req)
{
	kfree_sensitive(req);
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
