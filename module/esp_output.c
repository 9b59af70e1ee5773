// SPDX-License-Identifier: GPL-2.0
/*
 * ESP encapsulation (RFC 4303 3.3).
 *
 * The xfrm mode has already made room for the ESP header and IV between
 * the (outer) IP header and the payload: skb->data is the payload, the
 * transport header is the ESP header, and the mac header points at the
 * protocol byte that must become IPPROTO_ESP. This file appends the
 * trailer, fills in the header and encrypts in place.
 */
#include <crypto/aead.h>
#include <linux/skbuff.h>
#include <net/esp.h>
#include <net/xfrm.h>

#include "esp.h"

/* What one packet adds: TFC padding, then padding, pad length, next header. */
struct esp_trailer {
	unsigned int tfclen;
	unsigned int padlen;
	unsigned int len;
	u8 nexthdr;
};

static unsigned int esp_tfc_len(struct xfrm_state *x,
				const struct sk_buff *skb)
{
	struct xfrm_dst *dst = (struct xfrm_dst *)skb_dst(skb);
	u32 padto;

	if (!x->tfcpad || !dst)
		return 0;
	padto = min(x->tfcpad, xfrm_state_mtu(x, dst->child_mtu_cached));
	return skb->len < padto ? padto - skb->len : 0;
}

static void esp_size_trailer(struct xfrm_state *x,
			     const struct sk_buff *skb, struct esp_trailer *t)
{
	unsigned int clen;

	t->tfclen = esp_tfc_len(x, skb);
	clen = ALIGN(skb->len + t->tfclen + 2, esp_padalign(x));
	t->padlen = clen - skb->len - t->tfclen - 2;
	t->len = t->tfclen + t->padlen + 2 + esp_icvlen(x);
}

/* RFC 4303 2.4: TFC bytes are zero, pad bytes count 1, 2, 3, ... */
static void esp_fill_trailer(u8 *tail, const struct esp_trailer *t)
{
	unsigned int i;

	memset(tail, 0, t->tfclen);
	tail += t->tfclen;
	for (i = 0; i < t->padlen; i++)
		tail[i] = i + 1;
	tail[t->padlen] = t->padlen;
	tail[t->padlen + 1] = t->nexthdr;
}

/*
 * Makes the packet writable with room for the trailer and returns how many
 * scatterlist entries it spans. Only a private linear buffer is written as
 * it is; anything else (clones, page frags that may belong to a socket, a
 * sendfile or a zerocopy sender) is copied by skb_cow_data() first.
 */
static int esp_make_writable(struct sk_buff *skb, const struct esp_trailer *t)
{
	struct sk_buff *trailer;
	int nfrags;

	if (!skb_cloned(skb) && !skb_is_nonlinear(skb) &&
	    skb_tailroom(skb) >= t->len) {
		esp_fill_trailer(skb_tail_pointer(skb), t);
		skb_put(skb, t->len);
		return 1;
	}

	nfrags = skb_cow_data(skb, t->len, &trailer);
	if (unlikely(nfrags < 0))
		return nfrags;
	esp_fill_trailer(skb_tail_pointer(trailer), t);
	pskb_put(skb, trailer, t->len);
	return nfrags;
}

static void esp_output_done(void *data, int err)
{
	struct esp_req *req = data;
	struct sk_buff *skb = req->skb;

	esp_req_free(req);
	xfrm_output_resume(skb->sk, skb, err);
}

ESPAH_CRYPTO_DONE(esp_output_done)

static int esp_encrypt(struct xfrm_state *x, struct sk_buff *skb,
		       int nfrags, unsigned int clen)
{
	unsigned int ivlen = esp_ivlen(x);
	struct ip_esp_hdr *esph = ip_esp_hdr(skb);
	u64 seq = XFRM_SKB_CB(skb)->seq.output.low +
		  ((u64)XFRM_SKB_CB(skb)->seq.output.hi << 32);
	__be64 seqiv = cpu_to_be64(seq);
	unsigned int ivcopy = min_t(unsigned int, ivlen, sizeof(seqiv));
	struct esp_req *req;
	int err;

	req = esp_req_alloc(x, skb, nfrags + 1);
	if (unlikely(!req))
		return -ENOMEM;

	req->aad.spi = esph->spi;
	if (x->props.flags & XFRM_STATE_ESN) {
		req->aad.seq[0] = htonl(XFRM_SKB_CB(skb)->seq.output.hi);
		req->aad.seq[1] = esph->seq_no;
	} else {
		req->aad.seq[0] = esph->seq_no;
	}

	err = esp_req_map(req, (u8 *)(esph + 1) - skb->data,
			  ivlen + clen + esp_icvlen(x));
	if (unlikely(err))
		goto out_free;

	/* The IV generator derives the IV from the 64-bit sequence number. */
	memset(req->iv, 0, ivlen);
	memcpy(req->iv + ivlen - ivcopy,
	       (u8 *)&seqiv + sizeof(seqiv) - ivcopy, ivcopy);

	aead_request_set_callback(req->aead, 0, esp_output_done_cb, req);
	aead_request_set_crypt(req->aead, req->sg, req->sg,
			       ivlen + clen, req->iv);
	aead_request_set_ad(req->aead, esp_aad_len(x));

	err = crypto_aead_encrypt(req->aead);
	if (err == -EINPROGRESS)
		return err;
	if (err == -ENOSPC)
		err = NET_XMIT_DROP;
out_free:
	esp_req_free(req);
	return err;
}

int esp_output(struct xfrm_state *x, struct sk_buff *skb)
{
	struct esp_trailer t;
	struct ip_esp_hdr *esph;
	unsigned int clen;
	int nfrags;

	t.nexthdr = *skb_mac_header(skb);
	*skb_mac_header(skb) = IPPROTO_ESP;

	esp_size_trailer(x, skb, &t);
	clen = skb->len + t.len - esp_icvlen(x);
	nfrags = esp_make_writable(skb, &t);
	if (unlikely(nfrags < 0))
		return nfrags;

	esph = ip_esp_hdr(skb);
	esph->spi = x->id.spi;
	esph->seq_no = htonl(XFRM_SKB_CB(skb)->seq.output.low);

	/* The core expects the packet back starting at the network header. */
	skb_push(skb, -skb_network_offset(skb));
	return esp_encrypt(x, skb, nfrags, clen);
}
