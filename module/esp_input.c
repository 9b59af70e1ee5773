// SPDX-License-Identifier: GPL-2.0
/*
 * ESP decapsulation (RFC 4303 3.4).
 *
 * skb->data is the ESP header; the network header is the (outer) IP
 * header. On success the packet is left as the xfrm mode expects it:
 * skb->data at the decrypted payload, trailer and ICV trimmed, and the
 * transport header where the mode wants the IP header moved to. Returns
 * the next header value, or a negative errno for the core to count:
 * -EBADMSG means the ICV did not verify.
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
static int esp_ciphertext_len(const struct xfrm_state *x,
			      const struct sk_buff *skb)
{
	int clen = esp_raw_clen(x, skb);

	if (unlikely(clen < 2))
		return espah_drop(x, ESPAH_RX_TRUNCATED, -EINVAL);
	if (unlikely(clen % esp_blksize(x)))
		return espah_drop(x, ESPAH_RX_BAD_LENGTH, -EINVAL);
	return clen;
}

/*
 * Decryption writes plaintext over the packet, so the packet must be
 * memory no other skb can see. A clone shares the head; page frags may be
 * shared with a packet tap even when the head is private (a tap's clone
 * keeps its frag references after the stack copies our head), and
 * skb_has_shared_frag() does not flag that case. So only a private linear
 * skb is decrypted as it is; anything else is copied by skb_cow_data().
 */
static int esp_make_private(struct sk_buff *skb)
{
	struct sk_buff *trailer;

	if (!skb_cloned(skb) && !skb_is_nonlinear(skb))
		return 1;
	return skb_cow_data(skb, 0, &trailer);
}

static int esp_remove_trailer(const struct xfrm_state *x, struct sk_buff *skb,
			      u8 *nexthdr)
{
	unsigned int icvlen = esp_icvlen(x);
	int clen = esp_raw_clen(x, skb);
	u8 tail[2];

	if (skb_copy_bits(skb, skb->len - icvlen - 2, tail, 2))
		return espah_drop(x, ESPAH_RX_TRUNCATED, -EINVAL);
	/* The pad bytes themselves are not checked: some peers pad randomly. */
	if (unlikely(tail[0] + 2 >= clen)) {
		net_dbg_ratelimited("espah: SPI 0x%08x: pad length %u exceeds payload of %d bytes\n",
				    ntohl(x->id.spi), tail[0], clen - 2);
		return espah_drop(x, ESPAH_RX_BAD_PADDING, -EINVAL);
	}
	*nexthdr = tail[1];
	if (unlikely(pskb_trim(skb, skb->len - icvlen - tail[0] - 2)))
		return espah_drop(x, ESPAH_RX_NOMEM, -ENOMEM);
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

static int esp_input_finish(struct xfrm_state *x, struct sk_buff *skb,
			    int err)
{
	u8 nexthdr;

	if (unlikely(err == -EBADMSG))
		return espah_drop(x, ESPAH_RX_ICV, err);
	if (unlikely(err))
		return espah_drop(x, ESPAH_RX_CRYPTO, err);
	err = esp_remove_trailer(x, skb, &nexthdr);
	if (unlikely(err))
		return err;
	if (x->encap)
		esp_input_encap(x, skb);

	__skb_pull(skb, esp_hdr_len(x));
	esp_set_transport_header(x, skb);
	/* RFC 4303 2.6: a dummy packet is dropped (the core counts it). */
	if (unlikely(nexthdr == IPPROTO_NONE))
		return espah_drop(x, ESPAH_RX_DUMMY, -EINVAL);
	return nexthdr;
}

/*
 * A rejected packet's request holds the tag that would have been right
 * (and AEAD state derived from the key): wipe it, so that a heap leak
 * elsewhere cannot hand an attacker a forgery.
 */
static void esp_input_release(struct esp_req *req, int err)
{
	if (unlikely(err))
		esp_req_free_sensitive(req);
	else
		esp_req_free(req);
}

static void esp_input_done(void *data, int err)
{
	struct esp_req *req = data;
	struct xfrm_state *x = req->x;
	struct sk_buff *skb = req->skb;

	esp_input_release(req, err);
	xfrm_input_resume(skb, esp_input_finish(x, skb, err));
}

ESPAH_CRYPTO_DONE(esp_input_done)

static int esp_decrypt(struct xfrm_state *x, struct sk_buff *skb,
		       int nfrags, int clen)
{
	unsigned int icvlen = esp_icvlen(x);
	unsigned int ivlen = esp_ivlen(x);
	const struct ip_esp_hdr *esph;
	struct esp_req *req;
	int err;

	req = esp_req_alloc(x, skb, nfrags + 1);
	if (unlikely(!req))
		return espah_drop(x, ESPAH_RX_NOMEM, -ENOMEM);

	esph = ip_esp_hdr(skb);
	req->aad.spi = esph->spi;
	if (x->props.flags & XFRM_STATE_ESN) {
		req->aad.seq[0] = XFRM_SKB_CB(skb)->seq.input.hi;
		req->aad.seq[1] = esph->seq_no;
	} else {
		req->aad.seq[0] = esph->seq_no;
	}

	err = esp_req_map(req, sizeof(*esph), ivlen + clen + icvlen);
	if (unlikely(err)) {
		esp_req_free(req);
		return espah_drop(x, ESPAH_RX_CRYPTO, err);
	}

	aead_request_set_callback(req->aead, 0, esp_input_done_cb, req);
	aead_request_set_crypt(req->aead, req->sg, req->sg,
			       ivlen + clen + icvlen, req->iv);
	aead_request_set_ad(req->aead, esp_aad_len(x));

	err = crypto_aead_decrypt(req->aead);
	if (err == -EINPROGRESS)
		return err;
	esp_input_release(req, err);
	return esp_input_finish(x, skb, err);
}

int esp_input(struct xfrm_state *x, struct sk_buff *skb)
{
	int nfrags, clen;

	if (unlikely(!espah_rx_layout_ok(x, skb, esp_encap_len(x))))
		return espah_drop(x, ESPAH_RX_HDR_MISMATCH, -EINVAL);
	if (unlikely(!pskb_may_pull(skb, esp_hdr_len(x))))
		return espah_drop(x, ESPAH_RX_TRUNCATED, -EINVAL);
	clen = esp_ciphertext_len(x, skb);
	if (unlikely(clen < 0))
		return clen;

	nfrags = esp_make_private(skb);
	if (unlikely(nfrags < 0))
		return espah_drop(x, ESPAH_RX_NOMEM, nfrags);
	/* Decryption invalidates any checksum the device computed. */
	skb->ip_summed = CHECKSUM_NONE;

	return esp_decrypt(x, skb, nfrags, clen);
}
