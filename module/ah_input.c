// SPDX-License-Identifier: GPL-2.0
/*
 * AH input (RFC 4302 3.4).
 *
 * skb->data and the transport header are the AH header; the network
 * header is the (outer) IP header. On success the packet is left as the
 * xfrm mode expects it: skb->data after the AH header, and the transport
 * header where the mode wants the IP header moved to. Returns the next
 * header value, or a negative errno for the core to count: -EBADMSG means
 * the ICV did not verify.
 */
#include <crypto/hash.h>
#include <linux/net.h>
#include <linux/skbuff.h>
#include <net/xfrm.h>

#include "ah.h"
#include "layout.h"
#include "stats.h"

/*
 * Length of the ICV field in an AH header of @ah_len bytes, or -EINVAL.
 * The header holds this SA's truncated ICV or, as the in-tree ah4/ah6
 * accept, the algorithm's full one, padded to the SA's alignment: IPv4
 * with 'flag align4' pads to 4 octets and is refused 8-octet padding
 * where that differs, and the other way round.
 */
static int ah_icv_field_len(const struct ah_sa *sa, unsigned int ah_len)
{
	if (ah_len == ah_hdr_len(sa, sa->icv_trunc_len))
		return sa->icv_trunc_len;
	if (ah_len == ah_hdr_len(sa, sa->icv_full_len))
		return sa->icv_full_len;
	return -EINVAL;
}

/*
 * Where the mode wants the IP header: right before the payload in
 * transport mode; tunnel and BEET mode take the payload from there.
 */
static void ah_set_transport_header(const struct xfrm_state *x,
				    struct sk_buff *skb, int ip_len)
{
	if (x->props.mode == XFRM_MODE_TRANSPORT)
		skb_set_transport_header(skb, -ip_len);
	else
		skb_reset_transport_header(skb);
}

static int ah_input_finish(struct xfrm_state *x, struct sk_buff *skb,
			   const u8 *icv, int err)
{
	const struct ip_auth_hdr *ah = (const struct ip_auth_hdr *)skb->data;
	int ip_len = skb_network_header_len(skb);
	u8 nexthdr = ah->nexthdr;

	if (unlikely(err))
		return espah_drop(x, ESPAH_RX_CRYPTO, err);
	/* Constant time: the comparison must not tell how much matched. */
	if (unlikely(crypto_memneq(icv, ah->auth_data,
				   ah_sa(x)->icv_trunc_len)))
		return espah_drop(x, ESPAH_RX_ICV, -EBADMSG);

	__skb_pull(skb, ah_hdr_len_field(ah));
	ah_set_transport_header(x, skb, ip_len);
	return nexthdr;
}

static void ah_input_release(struct ah_req *req, int err)
{
	if (unlikely(err < 0))
		ah_req_free_sensitive(req);
	else
		ah_req_free(req);
}

static void ah_input_done(void *data, int err)
{
	struct ah_req *req = data;
	struct sk_buff *skb = req->skb;

	err = ah_input_finish(req->x, skb, req->icv, err);
	ah_input_release(req, err);
	xfrm_input_resume(skb, err);
}

ESPAH_CRYPTO_DONE(ah_input_done)

static int ah_verify(struct xfrm_state *x, struct sk_buff *skb,
		     unsigned int ah_len, unsigned int icv_len)
{
	struct ah_req *req;
	int err;

	req = ah_req_alloc(x, skb, ah_len);
	if (unlikely(!req))
		return espah_drop(x, ESPAH_RX_NOMEM, -ENOMEM);
	req->seqhi = XFRM_SKB_CB(skb)->seq.input.hi;

	err = ah_icv_headers(req, icv_len, false);
	if (unlikely(err)) {
		ah_req_free(req);
		return espah_drop(x, ESPAH_RX_BAD_HEADER, err);
	}
	err = ah_icv_digest(req, ah_input_done_cb);
	if (err == -EINPROGRESS)
		return err;
	err = ah_input_finish(x, skb, req->icv, err);
	ah_input_release(req, err);
	return err;
}

int ah_input(struct xfrm_state *x, struct sk_buff *skb)
{
	unsigned int ah_len;
	int icv_len;

	if (unlikely(!espah_rx_layout_ok(x, skb, 0)))
		return espah_drop(x, ESPAH_RX_HDR_MISMATCH, -EINVAL);
	if (unlikely(!pskb_may_pull(skb, sizeof(struct ip_auth_hdr))))
		return espah_drop(x, ESPAH_RX_TRUNCATED, -EINVAL);
	ah_len = ah_hdr_len_field((const struct ip_auth_hdr *)skb->data);
	icv_len = ah_icv_field_len(ah_sa(x), ah_len);
	if (unlikely(icv_len < 0)) {
		net_dbg_ratelimited("espah: AH SPI %08x: header length %u does not fit the SA\n",
				    ntohl(x->id.spi), ah_len);
		return espah_drop(x, ESPAH_RX_BAD_LENGTH, icv_len);
	}
	if (unlikely(!pskb_may_pull(skb, ah_len)))
		return espah_drop(x, ESPAH_RX_TRUNCATED, -EINVAL);
	/*
	 * The mode rewrites the IP header after us, so the head must not be
	 * shared with a clone (a packet tap's, say). The packet itself is
	 * only read here.
	 */
	if (unlikely(skb_unclone(skb, GFP_ATOMIC)))
		return espah_drop(x, ESPAH_RX_NOMEM, -ENOMEM);
	/* Removing the header invalidates a checksum the device computed. */
	skb->ip_summed = CHECKSUM_NONE;

	return ah_verify(x, skb, ah_len, icv_len);
}
