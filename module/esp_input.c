// SPDX-License-Identifier: GPL-2.0
/*
 * ESP decapsulation (RFC 4303 3.4).
 *
 * skb->data is the ESP header; the network header is the (outer) IP
 * header. A private linear packet is decrypted where it is; anything else
 * (a clone, page fragments a packet tap's clone may share even after the
 * stack gave this skb a private head, pages spliced from the page cache)
 * is read where it is and decrypted into fresh pages, which then replace
 * its payload (esp.h). On success the packet is left as the xfrm mode
 * expects it: skb->data at the plaintext payload, trailer and ICV gone,
 * and the transport header where the mode wants the IP header moved to.
 * Returns the next header value, or a negative errno for the core to
 * count: -EBADMSG means the ICV did not verify.
 */
#include <crypto/aead.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/esp.h>
#include <net/xfrm.h>

#include "esp.h"
#include "layout.h"
#include "stats.h"

/* Bytes between the IV and the ICV; negative if the packet is too short. */
static int esp_raw_clen(const struct xfrm_state *x, const struct sk_buff *skb)
{
	return (int)skb->len - (int)esp_hdr_len(x) - (int)esp_icvlen(x);
}

/*
 * Length of the ciphertext (payload, padding, pad length, next header), or
 * a negative errno when the packet cannot hold an ESP packet for this SA.
 */
static int esp_ciphertext_len(const struct espah_sa *sa,
			      const struct xfrm_state *x,
			      const struct sk_buff *skb)
{
	int clen = esp_raw_clen(x, skb);

	if (unlikely(clen < 2))
		return espah_sa_drop(sa, ESPAH_RX_TRUNCATED, -EINVAL);
	if (unlikely(clen % esp_blksize(x)))
		return espah_sa_drop(sa, ESPAH_RX_BAD_LENGTH, -EINVAL);
	return clen;
}

/*
 * After decryption the packet is headers, ESP header, IV and then the
 * plaintext of req->clen bytes: reads and strips padding, pad length and
 * next header.
 */
static int esp_remove_trailer(struct esp_req *req, u8 *nexthdr)
{
	struct sk_buff *skb = req->skb;
	int clen = req->clen;
	u8 tail[2];

	if (skb_copy_bits(skb, skb->len - 2, tail, 2))
		return espah_sa_drop(req->sa, ESPAH_RX_TRUNCATED, -EINVAL);
	/* The pad bytes themselves are not checked: some peers pad randomly. */
	if (unlikely(tail[0] + 2 >= clen)) {
		net_dbg_ratelimited("espah: SPI 0x%08x: pad length %u exceeds payload of %d bytes\n",
				    ntohl(req->x->id.spi), tail[0], clen - 2);
		return espah_sa_drop(req->sa, ESPAH_RX_BAD_PADDING, -EINVAL);
	}
	*nexthdr = tail[1];
	if (unlikely(pskb_trim(skb, skb->len - tail[0] - 2)))
		return espah_sa_drop(req->sa, ESPAH_RX_NOMEM, -ENOMEM);
	return 0;
}

/*
 * Where the mode wants the IP header: right before the payload in
 * transport mode (the UDP header of an encapsulated packet is dropped);
 * tunnel and BEET mode take the payload from there.
 */
static void esp_set_transport_header(const struct xfrm_state *x,
				     struct sk_buff *skb)
{
	if (x->props.mode != XFRM_MODE_TRANSPORT) {
		skb_reset_transport_header(skb);
		return;
	}
	skb_set_transport_header(skb, -(skb_network_header_len(skb) -
					esp_encap_len(x)));
}

static void esp_outer_saddr(const struct xfrm_state *x,
			    const struct sk_buff *skb, xfrm_address_t *saddr)
{
	memset(saddr, 0, sizeof(*saddr));
	if (x->props.family == AF_INET)
		saddr->a4 = ip_hdr(skb)->saddr;
	else
		saddr->in6 = ipv6_hdr(skb)->saddr;
}

/*
 * RFC 3948: the peer is wherever authenticated packets come from. Tell
 * the key manager when a NAT in between changed its address or port.
 * Transport mode: the inner checksum covers addresses the NAT rewrote, so
 * it cannot be verified (RFC 3948 3.1.2).
 */
static void esp_input_encap(struct xfrm_state *x, struct sk_buff *skb)
{
	const struct udphdr *uh = (const struct udphdr *)
		(skb_transport_header(skb) - sizeof(struct udphdr));
	xfrm_address_t saddr;

	esp_outer_saddr(x, skb, &saddr);
	if (!xfrm_addr_equal(&saddr, &x->props.saddr, x->props.family) ||
	    uh->source != READ_ONCE(x->encap->encap_sport))
		km_new_mapping(x, &saddr, uh->source);
	if (x->props.mode == XFRM_MODE_TRANSPORT)
		skb->ip_summed = CHECKSUM_UNNECESSARY;
}

/*
 * A rejected packet: its request holds the tag that would have been
 * right, and decrypted bytes (fresh pages, or the packet itself) may be
 * plaintext of an altered genuine packet. None of it may linger.
 */
static int esp_input_rejected(struct esp_req *req, enum espah_drop why)
{
	req->flags |= ESP_REQ_WIPE;
	if (!(req->flags & ESP_REQ_OUT_OF_PLACE))
		memzero_explicit(req->skb->data + req->payload_off, req->clen);
	return espah_sa_drop(req->sa, why, req->result);
}

/* After the crypto; returns the next header or a negative errno. */
int esp_input_finish(struct esp_req *req)
{
	struct xfrm_state *x = req->x;
	struct sk_buff *skb = req->skb;
	u8 nexthdr;
	int err;

	if (unlikely(req->result == -EBADMSG))
		return esp_input_rejected(req, ESPAH_RX_ICV);
	if (unlikely(req->result))
		return esp_input_rejected(req, ESPAH_RX_CRYPTO);

	if (req->flags & ESP_REQ_OUT_OF_PLACE)
		espah_skb_replace_payload(skb, req->payload_off, &req->fresh,
					  req->clen);
	else if (!(req->flags & ESP_REQ_NO_CRYPTO))
		__skb_trim(skb, req->payload_off + req->clen);
	err = esp_remove_trailer(req, &nexthdr);
	if (unlikely(err))
		return err;
	if (x->encap)
		esp_input_encap(x, skb);

	__skb_pull(skb, esp_hdr_len(x));
	esp_set_transport_header(x, skb);
	/* RFC 4303 2.6: a dummy packet is dropped (the core counts it). */
	if (unlikely(nexthdr == IPPROTO_NONE))
		return espah_sa_drop(req->sa, ESPAH_RX_DUMMY, -EINVAL);
	return nexthdr;
}

/* The order stage's release: the packet goes on, in the SA's order. */
void esp_input_release(struct espah_order_entry *e)
{
	struct esp_req *req = container_of(e, struct esp_req, order);
	struct sk_buff *skb = req->skb;
	int nexthdr;

	if (e->held)
		espah_sa_count_path(req->sa, ESPAH_RX_HELD);
	nexthdr = esp_input_finish(req);
	esp_req_put(req);
	xfrm_input_resume(skb, nexthdr);
}

/* Source and destination: the AD, then the packet from the IV's end. */
static int esp_map_in_place(struct esp_req *req)
{
	unsigned int icvlen = esp_icvlen(req->x);
	int n;

	sg_init_table(req->sg_src, esp_req_src_nsg(req));
	sg_set_buf(req->sg_src, req->ad_src, esp_ad_len(req->x));
	n = esp_req_map_skb(req, req->sg_src + 1, req->payload_off,
			    req->clen + icvlen);
	if (unlikely(n < 0))
		return n;
	sg_mark_end(&req->sg_src[n]);
	aead_request_set_crypt(req->aead, req->sg_src, req->sg_src,
			       req->clen + icvlen, req->iv);
	return 0;
}

/*
 * Source: the AD, the packet where it is. Destination: a copy of the AD
 * and fresh pages for the plaintext, with room after it for the four
 * bytes authencesn keeps there while it works.
 */
static int esp_map_out_of_place(struct esp_req *req)
{
	unsigned int icvlen = esp_icvlen(req->x);
	unsigned int ad_len = esp_ad_len(req->x);
	unsigned int dlen = req->clen + max(icvlen, 4U);
	int n, err;

	err = espah_fresh_alloc(&req->fresh, dlen, ESPAH_FRESH_RX);
	if (unlikely(err))
		return err;
	sg_init_table(req->sg_src, esp_req_src_nsg(req));
	sg_set_buf(req->sg_src, req->ad_src, ad_len);
	n = esp_req_map_skb(req, req->sg_src + 1, req->payload_off,
			    req->clen + icvlen);
	if (unlikely(n < 0))
		return n;
	sg_mark_end(&req->sg_src[n]);

	sg_init_table(req->sg_dst, esp_req_dst_nsg(req));
	memcpy(req->ad_dst, req->ad_src, ad_len);
	sg_set_buf(req->sg_dst, req->ad_dst, ad_len);
	n = 1 + espah_fresh_to_sg(&req->fresh, req->sg_dst + 1, dlen);
	sg_mark_end(&req->sg_dst[n - 1]);

	aead_request_set_crypt(req->aead, req->sg_src, req->sg_dst,
			       req->clen + icvlen, req->iv);
	req->flags |= ESP_REQ_OUT_OF_PLACE;
	return 0;
}

/* See esp_tx_in_place() in esp_output.c: the same rule. */
static bool esp_rx_in_place(const struct sk_buff *skb)
{
	return !skb_cloned(skb) && !skb_is_nonlinear(skb);
}

/*
 * Sets up the decryption, counting the path it takes. ESP-NULL
 * (espah_sa::esp_null) has none: the packet is its plaintext, taken as it
 * is, and nothing is written.
 */
static int esp_rx_map(struct esp_req *req, bool in_place)
{
	enum espah_path path = ESPAH_RX_INPLACE;
	int err = 0;

	if (req->sa->esp_null) {
		req->flags |= ESP_REQ_NO_CRYPTO;
		path = ESPAH_RX_NULL;
	} else if (in_place) {
		err = esp_map_in_place(req);
	} else {
		err = esp_map_out_of_place(req);
		path = ESPAH_RX_OUT_OF_PLACE;
	}
	if (likely(!err))
		espah_sa_count_path(req->sa, path);
	return err;
}

static struct esp_req *esp_rx_req(struct espah_sa *sa, struct xfrm_state *x,
				  struct sk_buff *skb, int clen)
{
	const struct ip_esp_hdr *esph = ip_esp_hdr(skb);
	struct esp_req *req;
	int nsg;

	nsg = espah_skb_nsg(skb);
	if (unlikely(nsg < 0))
		return NULL;
	req = esp_req_get(sa, x, skb, 2 + nsg + ESPAH_FRESH_MAX);
	if (unlikely(!req))
		return NULL;
	req->payload_off = esp_hdr_len(x);
	req->clen = clen;
	req->order.seq = (u64)ntohl(XFRM_SKB_CB(skb)->seq.input.hi) << 32 |
			 ntohl(XFRM_SKB_CB(skb)->seq.input.low);
	memcpy(req->iv, esph + 1, esp_ivlen(x));
	esp_req_fill_ad(req, esph->spi, esph->seq_no,
			XFRM_SKB_CB(skb)->seq.input.hi);
	aead_request_set_ad(req->aead, esp_ad_len(x));
	return req;
}

int esp_input(struct xfrm_state *x, struct sk_buff *skb)
{
	struct espah_sa *sa = espah_sa_find(x);
	struct esp_req *req;
	bool in_place;
	int clen, err;

	if (unlikely(!sa))
		return -EINVAL;
	if (unlikely(!espah_rx_layout_ok(x, skb, esp_encap_len(x))))
		return espah_sa_drop(sa, ESPAH_RX_HDR_MISMATCH, -EINVAL);
	if (unlikely(!pskb_may_pull(skb, esp_hdr_len(x))))
		return espah_sa_drop(sa, ESPAH_RX_TRUNCATED, -EINVAL);
	clen = esp_ciphertext_len(sa, x, skb);
	if (unlikely(clen < 0))
		return clen;

	in_place = esp_rx_in_place(skb);
	/* Replacing the payload needs the skb's shared info to ourselves. */
	if (!in_place && skb_cloned(skb)) {
		if (unlikely(pskb_expand_head(skb, 0, 0, GFP_ATOMIC)))
			return espah_sa_drop(sa, ESPAH_RX_NOMEM, -ENOMEM);
		espah_sa_count_path(sa, ESPAH_RX_HEAD_COPY);
	}
	/* Decryption invalidates any checksum the device computed. */
	skb->ip_summed = CHECKSUM_NONE;

	req = esp_rx_req(sa, x, skb, clen);
	if (unlikely(!req))
		return espah_sa_drop(sa, ESPAH_RX_NOMEM, -ENOMEM);
	err = esp_rx_map(req, in_place);
	if (unlikely(err)) {
		esp_req_put(req);
		return espah_sa_drop(sa, ESPAH_RX_NOMEM, err);
	}

	/* no queue, no worker: only a truly asynchronous AEAD resumes it */
	if (espah_input_must_stay_inline(x, skb))
		req->flags |= ESP_REQ_DIRECT;
	err = esp_crypt_run(req, ESPAH_RX, skb->len);
	if (err == -EINPROGRESS)
		return err;
	if (unlikely(err == -ENOBUFS)) {
		esp_req_put(req);
		return err;
	}
	err = esp_input_finish(req);
	esp_req_put(req);
	return err;
}
