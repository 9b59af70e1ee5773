// SPDX-License-Identifier: GPL-2.0
/*
 * AH output (RFC 4302 3.1, 3.3).
 *
 * The xfrm mode has already made room for the AH header between the
 * (outer) IP header and the payload: skb->data is the payload, the
 * transport header is the AH header, and the mac header points at the
 * protocol byte that must become IPPROTO_AH. The head is ours (the core
 * unclones it before the mode writes it); the payload is only read, so
 * page fragments a socket or sendfile still owns stay untouched.
 */
#include <crypto/hash.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <net/ah.h>
#include <net/inet_sock.h>
#include <net/xfrm.h>

#include "ah.h"
#include "layout.h"
#include "stats.h"

static void ah_fill_header(struct xfrm_state *x, struct sk_buff *skb,
			   unsigned int ah_len)
{
	struct ip_auth_hdr *ah = ip_auth_hdr(skb);

	ah->nexthdr = *skb_mac_header(skb);
	*skb_mac_header(skb) = IPPROTO_AH;
	ah->hdrlen = (ah_len >> 2) - 2;
	ah->reserved = 0;
	ah->spi = x->id.spi;
	ah->seq_no = htonl(XFRM_SKB_CB(skb)->seq.output.low);
	/*
	 * The ICV is hashed as zeros, and so is the padding after it: the
	 * in-tree ah4/ah6 leave whatever the buffer held there.
	 */
	memset(ah->auth_data, 0, ah_len - sizeof(*ah));
}

/* The length field counts the AH header now, and the ICV covers it. */
static void ah_set_ip_len(const struct xfrm_state *x, struct sk_buff *skb)
{
	if (x->props.family == AF_INET6)
		ipv6_hdr(skb)->payload_len =
			htons(skb->len - sizeof(struct ipv6hdr));
	else
		ip_hdr(skb)->tot_len = htons(skb->len);
}

static void ah_output_finish(struct ah_req *req)
{
	memcpy(ip_auth_hdr(req->skb)->auth_data, req->icv,
	       ah_sa(req->x)->icv_trunc_len);
}

static void ah_output_done(void *data, int err)
{
	struct ah_req *req = data;
	struct sk_buff *skb = req->skb;

	if (likely(!err))
		ah_output_finish(req);
	else
		espah_stats_count(req->x, ESPAH_TX_CRYPTO);
	ah_req_free(req);
	/* A SYN-ACK or time-wait reply's skb->sk is not a full socket. */
	xfrm_output_resume(skb_to_full_sk(skb), skb, err);
}

ESPAH_CRYPTO_DONE(ah_output_done)

/*
 * Headers our own stack built that AH cannot authenticate (a routing
 * header of a type whose final form it does not know) fail here; the core
 * counts them as XfrmOutStateProtoError.
 */
static int ah_sign(struct xfrm_state *x, struct sk_buff *skb,
		   unsigned int ah_len)
{
	struct ah_req *req;
	int err;

	req = ah_req_alloc(x, skb, ah_len);
	if (unlikely(!req))
		return espah_drop(x, ESPAH_TX_NOMEM, -ENOMEM);
	req->seqhi = htonl(XFRM_SKB_CB(skb)->seq.output.hi);

	err = ah_icv_headers(req, ah_sa(x)->icv_trunc_len, true);
	if (unlikely(err))
		goto out_free;
	err = ah_icv_digest(req, ah_output_done_cb);
	if (err == -EINPROGRESS)
		return err;
	if (likely(!err)) {
		ah_output_finish(req);
	} else {
		espah_stats_count(x, ESPAH_TX_CRYPTO);
		if (err == -ENOSPC)
			err = NET_XMIT_DROP;
	}
out_free:
	ah_req_free(req);
	return err;
}

int ah_output(struct xfrm_state *x, struct sk_buff *skb)
{
	const struct ah_sa *sa = ah_sa(x);
	unsigned int ah_len = ah_hdr_len(sa, sa->icv_trunc_len);

	if (unlikely(!espah_tx_layout_ok(skb, ah_len)))
		return espah_drop(x, ESPAH_TX_HDR_MISMATCH, -EINVAL);
	ah_fill_header(x, skb, ah_len);
	/* The core expects the packet back starting at the network header. */
	skb_push(skb, -skb_network_offset(skb));
	ah_set_ip_len(x, skb);
	return ah_sign(x, skb, ah_len);
}
