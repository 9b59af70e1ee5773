// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet request memory (struct esp_req in esp.h), from the per-CPU
 * request cache: no allocation per packet once the caches are warm.
 */
#include <crypto/aead.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>

#include "esp.h"
#include "req_cache.h"
#include "stats.h"

/* Bytes of a request before its scatterlists, for any placement. */
void esp_req_layout(struct espah_sa *sa, struct crypto_aead *aead)
{
	sa->req_fixed_len = sizeof(struct esp_req) +
			    crypto_aead_alignmask(aead) + ESP_IV_MAX +
			    crypto_tfm_ctx_alignment() - 1 +
			    sizeof(struct aead_request) +
			    crypto_aead_reqsize(aead) +
			    __alignof__(struct scatterlist) - 1;
}

static void esp_req_job_get(struct espah_job *job)
{
	atomic_inc(&container_of(job, struct esp_req, job)->refs);
}

static void esp_req_job_put(struct espah_job *job)
{
	esp_req_put(container_of(job, struct esp_req, job));
}

static void esp_req_done_job_get(struct espah_job *job)
{
	atomic_inc(&container_of(job, struct esp_req, done_job)->refs);
}

static void esp_req_done_job_put(struct espah_job *job)
{
	esp_req_put(container_of(job, struct esp_req, done_job));
}

/*
 * A request with at least @nsg entries in each of its two scatterlists:
 * a cache slot, or for very fragmented packets a larger allocation.
 */
struct esp_req *esp_req_get(struct espah_sa *sa, struct xfrm_state *x,
			    struct sk_buff *skb, unsigned int nsg)
{
	struct crypto_aead *aead = esp_aead(x);
	unsigned int len = sa->req_fixed_len +
			   2 * nsg * sizeof(struct scatterlist);
	struct esp_req *req;
	int from;
	u8 *p;

	if (len <= ESPAH_REQ_SLOT)
		len = ESPAH_REQ_SLOT;
	req = espah_req_cache_get(len, &from);
	if (unlikely(!req))
		return NULL;
	if (unlikely(from == ESPAH_REQ_FROM_SLAB))
		espah_sa_count_path(sa, ESPAH_REQ_ALLOC);

	memset(req, 0, offsetof(struct esp_req, ad_src));
	req->sa = sa;
	req->x = x;
	req->skb = skb;
	atomic_set(&req->refs, 1);
	req->job.get = esp_req_job_get;
	req->job.put = esp_req_job_put;
	req->done_job.get = esp_req_done_job_get;
	req->done_job.put = esp_req_done_job_put;
	req->mem_len = len;
	req->mem_from = from;
	req->nsg = nsg;
	p = PTR_ALIGN((u8 *)(req + 1), crypto_aead_alignmask(aead) + 1);
	req->iv = p;
	p = PTR_ALIGN(p + ESP_IV_MAX, crypto_tfm_ctx_alignment());
	req->aead = (struct aead_request *)p;
	p += sizeof(struct aead_request) + crypto_aead_reqsize(aead);
	req->sg_src = PTR_ALIGN((struct scatterlist *)p,
				__alignof__(struct scatterlist));
	req->sg_dst = req->sg_src + nsg;
	aead_request_set_tfm(req->aead, aead);
	return req;
}

/*
 * Drops a reference; the last gives the memory back. A request flagged ESP_REQ_WIPE (a rejected
 * packet: the AEAD state holds the tag that would have been right, fresh
 * pages its plaintext) is cleared first, so that a heap leak elsewhere
 * cannot hand an attacker a forgery or the plaintext.
 */
void esp_req_put(struct esp_req *req)
{
	bool wipe = req->flags & ESP_REQ_WIPE;

	if (!atomic_dec_and_test(&req->refs))
		return;
	espah_fresh_free(&req->fresh, wipe);
	if (unlikely(wipe))
		memzero_explicit(req, req->mem_len);
	espah_req_cache_put(req, req->mem_len, req->mem_from);
}

/*
 * The associated data as RFC 4303 2.2.1 and the AEADs want it: SPI,
 * [high 32 sequence bits,] sequence number, then the IV (req->iv), which
 * the AEAD takes as the end of the associated data and authenticates or,
 * for the RFC 4106/4309/7539 ones, skips.
 */
void esp_req_fill_ad(struct esp_req *req, __be32 spi, __be32 seq_lo,
		     __be32 seq_hi)
{
	const struct xfrm_state *x = req->x;
	__be32 *aad = (__be32 *)req->ad_src;

	aad[0] = spi;
	if (x->props.flags & XFRM_STATE_ESN) {
		aad[1] = seq_hi;
		aad[2] = seq_lo;
	} else {
		aad[1] = seq_lo;
	}
	memcpy(req->ad_src + esp_aad_len(x), req->iv, esp_ivlen(x));
}

/*
 * Maps @len bytes of the packet from @off (relative to skb->data) into
 * @sg, without an end mark; returns the entries used or an errno.
 */
int esp_req_map_skb(struct esp_req *req, struct scatterlist *sg,
		    unsigned int off, unsigned int len)
{
	return skb_to_sgvec_nomark(req->skb, sg, off, len);
}
