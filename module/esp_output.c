// SPDX-License-Identifier: GPL-2.0
/*
 * ESP encapsulation (RFC 4303 3.3).
 *
 * The xfrm mode has already made room for the ESP header and IV between
 * the (outer) IP header and the payload: skb->data is the payload, the
 * transport header is the ESP header, and the mac header points at the
 * protocol byte that must become IPPROTO_ESP (IPPROTO_UDP with RFC 3948
 * encapsulation, where the UDP header comes first). This file appends the
 * trailer, fills in the headers and encrypts in place.
 */
#include <crypto/aead.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/esp.h>
#include <net/ip.h>
#include <net/inet_sock.h>
#include <net/ip6_checksum.h>
#include <net/xfrm.h>

#include "esp.h"
#include "layout.h"
#include "stats.h"

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

/* RFC 3948 2.1: the UDP header in front of the ESP header. */
static struct ip_esp_hdr *esp_push_udp_header(struct xfrm_state *x,
					      struct sk_buff *skb)
{
	unsigned int len = skb->len - skb_transport_offset(skb);
	struct udphdr *uh = udp_hdr(skb);

	if (unlikely(len + sizeof(struct iphdr) > IP_MAX_MTU))
		return ERR_PTR(espah_drop(x, ESPAH_TX_TOO_BIG, -EMSGSIZE));
	/* A key manager may move the SA to a new port (NAT mapping change). */
	spin_lock_bh(&x->lock);
	uh->source = x->encap->encap_sport;
	uh->dest = x->encap->encap_dport;
	spin_unlock_bh(&x->lock);
	uh->len = htons(len);
	uh->check = 0;
	return (struct ip_esp_hdr *)(uh + 1);
}

/*
 * IPv4 may send a zero UDP checksum (RFC 3948 2.1); IPv6 may not (RFC 8200
 * 8.1), and the checksum covers the ciphertext, so it comes last.
 */
static void esp_finish_udp_checksum(const struct xfrm_state *x,
				    struct sk_buff *skb)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct udphdr *uh = udp_hdr(skb);
	int off = skb_transport_offset(skb);
	__wsum csum;

	if (!x->encap || x->props.family != AF_INET6)
		return;
	csum = skb_checksum(skb, off, skb->len - off, 0);
	uh->check = csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
				    skb->len - off, IPPROTO_UDP, csum);
	if (!uh->check)
		uh->check = CSUM_MANGLED_0;
}

static void esp_output_done(void *data, int err)
{
	struct esp_req *req = data;
	struct xfrm_state *x = req->x;
	struct sk_buff *skb = req->skb;

	esp_req_free(req);
	if (!err)
		esp_finish_udp_checksum(x, skb);
	else
		espah_stats_count(x, ESPAH_TX_CRYPTO);
	/* A SYN-ACK or time-wait reply's skb->sk is not a full socket. */
	xfrm_output_resume(skb_to_full_sk(skb), skb, err);
}

ESPAH_CRYPTO_DONE(esp_output_done)

static int esp_encrypt(struct xfrm_state *x, struct sk_buff *skb,
		       struct ip_esp_hdr *esph, int nfrags, unsigned int clen)
{
	unsigned int ivlen = esp_ivlen(x);
	u64 seq = XFRM_SKB_CB(skb)->seq.output.low +
		  ((u64)XFRM_SKB_CB(skb)->seq.output.hi << 32);
	__be64 seqiv = cpu_to_be64(seq);
	unsigned int ivcopy = min_t(unsigned int, ivlen, sizeof(seqiv));
	struct esp_req *req;
	int err;

	req = esp_req_alloc(x, skb, nfrags + 1);
	if (unlikely(!req))
		return espah_drop(x, ESPAH_TX_NOMEM, -ENOMEM);

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
	if (!err)
		esp_finish_udp_checksum(x, skb);
out_free:
	esp_req_free(req);
	if (unlikely(err))
		espah_stats_count(x, ESPAH_TX_CRYPTO);
	/* A full crypto queue is congestion, not a broken SA. */
	if (err == -ENOSPC)
		err = NET_XMIT_DROP;
	return err;
}

int esp_output(struct xfrm_state *x, struct sk_buff *skb)
{
	struct esp_trailer t;
	struct ip_esp_hdr *esph;
	unsigned int clen;
	int nfrags;

	if (unlikely(!espah_tx_layout_ok(skb, esp_encap_len(x) +
					      esp_hdr_len(x))))
		return espah_drop(x, ESPAH_TX_HDR_MISMATCH, -EINVAL);

	t.nexthdr = *skb_mac_header(skb);
	*skb_mac_header(skb) = x->encap ? IPPROTO_UDP : IPPROTO_ESP;

	esp_size_trailer(x, skb, &t);
	clen = skb->len + t.len - esp_icvlen(x);
	nfrags = esp_make_writable(skb, &t);
	if (unlikely(nfrags < 0))
		return espah_drop(x, ESPAH_TX_NOMEM, nfrags);

	esph = x->encap ? esp_push_udp_header(x, skb) : ip_esp_hdr(skb);
	if (IS_ERR(esph))
		return PTR_ERR(esph);
	esph->spi = x->id.spi;
	esph->seq_no = htonl(XFRM_SKB_CB(skb)->seq.output.low);

	/* The core expects the packet back starting at the network header. */
	skb_push(skb, -skb_network_offset(skb));
	return esp_encrypt(x, skb, esph, nfrags, clen);
}
