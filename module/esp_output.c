// SPDX-License-Identifier: GPL-2.0
/*
 * ESP encapsulation (RFC 4303 3.3).
 *
 * The xfrm mode has already made room for the ESP header and IV between
 * the (outer) IP header and the payload: skb->data is the payload, the
 * transport header is the ESP header, and the mac header points at the
 * protocol byte that must become IPPROTO_ESP (IPPROTO_UDP with RFC 3948
 * encapsulation, where the UDP header comes first). This file fills in
 * the headers, makes the IV, appends the trailer and encrypts: in place
 * for a private linear packet with room for the trailer, otherwise from
 * where the payload is into fresh pages that then replace it (esp.h).
 * esp_offload.c encrypts at device transmit with the same code.
 */
#include <crypto/aead.h>
#include <linux/random.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/esp.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/xfrm.h>

#include "esp.h"
#include "layout.h"
#include "stats.h"

/*
 * RFC 4303 2.7: traffic flow confidentiality pads the payload up to the
 * SA's tfcpad, but never past what fits the path MTU (@mtu: the payload
 * bytes the SA can carry; 0 when unknown).
 */
static unsigned int esp_tfc_len(const struct xfrm_state *x,
				unsigned int plen, unsigned int mtu)
{
	u32 padto;

	if (!x->tfcpad || !mtu)
		return 0;
	padto = min(x->tfcpad, mtu);
	return plen < padto ? padto - plen : 0;
}

/* Sizes the trailer for a payload of @plen bytes. */
void esp_size_trailer(struct xfrm_state *x, unsigned int plen,
		      struct esp_trailer *t, unsigned int mtu)
{
	unsigned int clen;

	t->tfclen = esp_tfc_len(x, plen, mtu);
	clen = ALIGN(plen + t->tfclen + 2, esp_padalign(x));
	t->padlen = clen - plen - t->tfclen - 2;
	t->len = t->tfclen + t->padlen + 2 + esp_icvlen(x);
}

/* RFC 4303 2.4: pad bytes count 1, 2, 3, ..., then pad length, next header. */
static void esp_fill_pad(u8 *tail, const struct esp_trailer *t)
{
	unsigned int i;

	for (i = 0; i < t->padlen; i++)
		tail[i] = i + 1;
	tail[t->padlen] = t->padlen;
	tail[t->padlen + 1] = t->nexthdr;
}

/* The trailer at @tail: TFC padding (zeros), then esp_fill_pad()'s bytes. */
static void esp_fill_trailer(u8 *tail, const struct esp_trailer *t)
{
	memset(tail, 0, t->tfclen);
	esp_fill_pad(tail + t->tfclen, t);
}

/*
 * The IV for sequence number @seq. Counter-mode transforms (the kernel's
 * algorithm table names seqiv for them) need an IV never used twice with
 * the key: the 64-bit sequence number, XORed with a random per-SA salt so
 * that two SAs that share a key (manual keying does that) still differ.
 * CBC and its kind (echainiv in the table) need unpredictable IVs: random.
 */
static void esp_iv(const struct espah_sa *sa, u64 seq, u8 *iv,
		   unsigned int ivlen)
{
	switch (sa->iv_kind) {
	case ESP_IV_COUNTER:
		memset(iv, 0, ivlen);
		put_unaligned_be64(seq ^ sa->iv_salt, iv + ivlen - 8);
		break;
	case ESP_IV_RANDOM:
		get_random_bytes(iv, ivlen);
		break;
	}
}

/* RFC 3948 2.1: the UDP header in front of the ESP header. */
static struct ip_esp_hdr *esp_push_udp_header(struct xfrm_state *x,
					      struct sk_buff *skb,
					      unsigned int trailer_len)
{
	/* UDP header to the end, trailer included; skb->data is the payload */
	unsigned int len = skb->data - skb_transport_header(skb) + skb->len +
			   trailer_len;
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

/*
 * Encryption at device transmit happens after the stack set the IP
 * length and checksum: they must count the trailer too.
 */
static void esp_fix_ip_len(const struct xfrm_state *x, struct sk_buff *skb)
{
	if (x->props.family == AF_INET6) {
		ipv6_hdr(skb)->payload_len =
			htons(skb->len - skb_network_offset(skb) -
			      sizeof(struct ipv6hdr));
	} else {
		ip_hdr(skb)->tot_len = htons(skb->len - skb_network_offset(skb));
		ip_send_check(ip_hdr(skb));
	}
}

/*
 * After the crypto: the ciphertext replaces the payload (out of place),
 * the UDP checksum and, at device transmit, the IP length are set.
 * Returns the crypto's result, counted when it failed.
 */
int esp_output_finish(struct esp_req *req)
{
	struct sk_buff *skb = req->skb;
	struct xfrm_state *x = req->x;

	if (req->flags & ESP_REQ_FINISHED)
		return req->result;
	req->flags |= ESP_REQ_FINISHED;
	if (unlikely(req->result)) {
		espah_sa_count_drop(req->sa, ESPAH_TX_CRYPTO);
		return req->result;
	}
	if (req->flags & ESP_REQ_OUT_OF_PLACE)
		espah_skb_replace_payload(skb, req->payload_off, &req->fresh,
					  req->clen + esp_icvlen(x));
	else if (req->flags & ESP_REQ_TRAILER_FRAG)
		espah_skb_append_fresh(skb, &req->fresh);
	esp_finish_udp_checksum(x, skb);
	if (req->flags & ESP_REQ_LATE)
		esp_fix_ip_len(x, skb);
	return 0;
}

/*
 * Sends a packet encrypted after its device transmit let it go, without
 * the xfrm metadata (a NIC with ESP offload would take it as a request),
 * through dev_queue_xmit() again: the transmit validation lets it pass.
 * Not through the core's xfrm_dev_resume(): when the device is busy that
 * parks the packet on a per-CPU backlog, and while that backlog is not
 * empty validate_xmit_xfrm() returns every ESP packet of the CPU
 * unencrypted, which a device without a qdisc then sends as it is. The
 * packets behind this one in the SA's order were held back too; packets
 * of the SA the qdisc holds ahead of it can leave before it.
 */
void esp_output_resume_late(struct espah_sa *sa, struct xfrm_state *x,
			    struct sk_buff *skb, int err)
{
	if (unlikely(err)) {
		XFRM_INC_STATS(xs_net(x), LINUX_MIB_XFRMOUTSTATEPROTOERROR);
		kfree_skb(skb);
		return;
	}
	espah_sa_count_path(sa, ESPAH_TX_REQUEUED);
	skb_push(skb, skb->data - skb_mac_header(skb));
	secpath_reset(skb);
	dev_queue_xmit(skb);
}

/* The order stage's release: the packet goes on, in the SA's order. */
void esp_output_release(struct espah_order_entry *e)
{
	struct esp_req *req = container_of(e, struct esp_req, order);
	struct espah_sa *sa = req->sa;
	struct xfrm_state *x = req->x;
	struct sk_buff *skb = req->skb;
	bool late = req->flags & ESP_REQ_LATE;
	int err;

	if (e->held)
		espah_sa_count_path(req->sa, ESPAH_TX_HELD);
	err = esp_output_finish(req);
	esp_req_put(req);
	if (late)
		esp_output_resume_late(sa, x, skb, err);
	else
		/* A SYN-ACK or time-wait reply's skb->sk is not a full socket. */
		xfrm_output_resume(skb_to_full_sk(skb), skb, err);
}

/*
 * A private linear packet with room for the trailer is encrypted where it
 * is. Anything else is read where it is: a clone shares its head with
 * someone (TCP's retransmit queue, a tap), and page fragments may be a
 * socket's, a splice's page cache or a zerocopy sender's, whatever the
 * skb's flags say.
 */
static bool esp_tx_in_place(const struct sk_buff *skb,
			    const struct esp_trailer *t)
{
	return !skb_cloned(skb) && !skb_is_nonlinear(skb) &&
	       skb_tailroom(skb) >= t->len;
}

/* Source: AD, payload, trailer; destination: the same, in place. */
static int esp_map_in_place(struct esp_req *req, const struct esp_trailer *t)
{
	struct sk_buff *skb = req->skb;
	unsigned int ad_len = esp_ad_len(req->x);
	int n;

	esp_fill_trailer(skb_put(skb, t->len), t);
	sg_init_table(req->sg_src, esp_req_src_nsg(req));
	sg_set_buf(req->sg_src, req->ad_src, ad_len);
	n = esp_req_map_skb(req, req->sg_src + 1, req->payload_off,
			    req->clen + esp_icvlen(req->x));
	if (unlikely(n < 0))
		return n;
	sg_mark_end(&req->sg_src[n]);
	aead_request_set_crypt(req->aead, req->sg_src, req->sg_src, req->clen,
			       req->iv);
	return 0;
}

/* TFC padding is zeros: read from the zero page, as often as it takes. */
static int esp_map_zeros(struct scatterlist *sg, unsigned int len)
{
	int n = 0;

	while (len) {
		unsigned int chunk = min_t(unsigned int, len, PAGE_SIZE);

		sg_set_page(&sg[n++], ZERO_PAGE(0), chunk, 0);
		len -= chunk;
	}
	return n;
}

/*
 * Source: AD, the payload where it is, TFC zeros, the padding built in
 * the request. Destination: a copy of the AD and fresh pages for the
 * ciphertext and the ICV.
 */
static int esp_map_out_of_place(struct esp_req *req,
				const struct esp_trailer *t)
{
	struct sk_buff *skb = req->skb;
	unsigned int ad_len = esp_ad_len(req->x);
	unsigned int plen = skb->len - req->payload_off;
	unsigned int dlen = req->clen + esp_icvlen(req->x);
	int n, m, err;

	err = espah_fresh_alloc(&req->fresh, dlen, ESPAH_FRESH_TX);
	if (unlikely(err))
		return err;
	esp_fill_pad(req->tail, t);

	sg_init_table(req->sg_src, esp_req_src_nsg(req));
	sg_set_buf(req->sg_src, req->ad_src, ad_len);
	n = 1;
	m = esp_req_map_skb(req, req->sg_src + n, req->payload_off, plen);
	if (unlikely(m < 0))
		return m;
	n += m;
	n += esp_map_zeros(req->sg_src + n, t->tfclen);
	sg_set_buf(&req->sg_src[n++], req->tail, t->padlen + 2);
	sg_mark_end(&req->sg_src[n - 1]);

	sg_init_table(req->sg_dst, esp_req_dst_nsg(req));
	memcpy(req->ad_dst, req->ad_src, ad_len);
	sg_set_buf(req->sg_dst, req->ad_dst, ad_len);
	n = 1 + espah_fresh_to_sg(&req->fresh, req->sg_dst + 1, dlen);
	sg_mark_end(&req->sg_dst[n - 1]);

	aead_request_set_crypt(req->aead, req->sg_src, req->sg_dst, req->clen,
			       req->iv);
	req->flags |= ESP_REQ_OUT_OF_PLACE;
	return 0;
}

/*
 * ESP-NULL (espah_sa::esp_null) needs no crypto: the payload is sent as
 * it is, only read, and just the trailer is written, into the tailroom of
 * a private linear packet or else into a fresh fragment that follows the
 * payload (esp_output_finish()). A packet that cannot take one more
 * fragment takes the crypto path, which copies.
 */
static bool esp_null_fits(const struct sk_buff *skb,
			  const struct esp_trailer *t, bool in_place)
{
	return in_place ||
	       (t->len <= PAGE_SIZE && !skb_has_frag_list(skb) &&
		skb_shinfo(skb)->nr_frags < MAX_SKB_FRAGS);
}

static int esp_map_null(struct esp_req *req, const struct esp_trailer *t,
			bool in_place)
{
	u8 *tail;
	int err;

	if (in_place) {
		tail = skb_put(req->skb, t->len);
	} else {
		err = espah_fresh_alloc(&req->fresh, t->len, ESPAH_FRESH_TX);
		if (unlikely(err))
			return err;
		tail = page_address(req->fresh.frag[0].page) +
		       req->fresh.frag[0].off;
		req->flags |= ESP_REQ_TRAILER_FRAG;
	}
	esp_fill_trailer(tail, t);
	req->flags |= ESP_REQ_NO_CRYPTO;
	return 0;
}

/* Scatterlist entries a packet needs at most, in either list. */
static int esp_tx_nsg(struct sk_buff *skb, const struct esp_trailer *t)
{
	int n = espah_skb_nsg(skb);

	if (unlikely(n < 0))
		return n;
	return 2 + n + DIV_ROUND_UP(t->tfclen, PAGE_SIZE) + ESPAH_FRESH_MAX;
}

static enum espah_path esp_tx_path(const struct esp_req *req)
{
	if (req->flags & ESP_REQ_NO_CRYPTO)
		return ESPAH_TX_NULL;
	if (req->flags & ESP_REQ_OUT_OF_PLACE)
		return ESPAH_TX_OUT_OF_PLACE;
	return ESPAH_TX_INPLACE;
}

/*
 * Sets up the encryption of @skb: skb->data at the network header, the
 * ESP header (after the UDP header, if any) filled in but for the IV, the
 * payload from the IV's end to the end of the packet, sized for trailer
 * @t; @seq is the 64-bit sequence number. Returns the request, ready to
 * run, or an ERR_PTR (counted) when the packet must be dropped.
 */
struct esp_req *esp_encrypt_prepare(struct espah_sa *sa,
				    struct xfrm_state *x, struct sk_buff *skb,
				    const struct esp_trailer *t, u64 seq,
				    unsigned int flags)
{
	bool in_place = esp_tx_in_place(skb, t);
	struct ip_esp_hdr *esph;
	struct esp_req *req;
	int nsg, err;

	/* Replacing the payload needs the skb's shared info to ourselves. */
	if (!in_place && skb_cloned(skb)) {
		if (unlikely(pskb_expand_head(skb, 0, 0, GFP_ATOMIC)))
			return ERR_PTR(espah_sa_drop(sa, ESPAH_TX_NOMEM, -ENOMEM));
		espah_sa_count_path(sa, ESPAH_TX_HEAD_COPY);
	}
	nsg = esp_tx_nsg(skb, t);
	if (unlikely(nsg < 0))
		return ERR_PTR(espah_sa_drop(sa, ESPAH_TX_NOMEM, nsg));
	req = esp_req_get(sa, x, skb, nsg);
	if (unlikely(!req))
		return ERR_PTR(espah_sa_drop(sa, ESPAH_TX_NOMEM, -ENOMEM));
	req->flags = flags;
	req->order.seq = seq;

	esph = (struct ip_esp_hdr *)(skb_transport_header(skb) +
				     esp_encap_len(x));
	req->payload_off = (u8 *)(esph + 1) + esp_ivlen(x) - skb->data;
	req->clen = skb->len - req->payload_off + t->len - esp_icvlen(x);
	esp_iv(sa, seq, req->iv, esp_ivlen(x));
	memcpy(esph + 1, req->iv, esp_ivlen(x));
	esp_req_fill_ad(req, esph->spi, esph->seq_no, htonl(seq >> 32));
	aead_request_set_ad(req->aead, esp_ad_len(x));

	if (sa->esp_null && esp_null_fits(skb, t, in_place))
		err = esp_map_null(req, t, in_place);
	else if (in_place)
		err = esp_map_in_place(req, t);
	else
		err = esp_map_out_of_place(req, t);
	if (unlikely(err)) {
		esp_req_put(req);
		return ERR_PTR(espah_sa_drop(sa, ESPAH_TX_NOMEM, err));
	}
	espah_sa_count_path(sa, esp_tx_path(req));
	return req;
}

/*
 * Encrypts @skb as esp_encrypt_prepare() describes. Returns 0 when done
 * (the packet is ready), -EINPROGRESS when the release callback will send
 * it on, or a negative errno (counted) when the packet must be dropped.
 */
int esp_encrypt_skb(struct espah_sa *sa, struct xfrm_state *x,
		    struct sk_buff *skb, struct esp_trailer *t, u64 seq,
		    unsigned int flags)
{
	struct esp_req *req;
	int err;

	req = esp_encrypt_prepare(sa, x, skb, t, seq, flags);
	if (IS_ERR(req))
		return PTR_ERR(req);
	err = esp_crypt_run(req, ESPAH_TX, skb->len);
	if (err == -EINPROGRESS)
		return err;
	if (err == -ENOBUFS) {
		esp_req_put(req);
		return err;
	}
	err = esp_output_finish(req);
	esp_req_put(req);
	/* A full queue is congestion, not a broken SA. */
	return err == -ENOSPC ? NET_XMIT_DROP : err;
}

/* On the early path the route is the SA's bundle: its MTU is cached. */
static unsigned int esp_output_mtu(struct xfrm_state *x, struct sk_buff *skb)
{
	struct xfrm_dst *xdst = (struct xfrm_dst *)skb_dst(skb);

	return xdst ? xfrm_state_mtu(x, xdst->child_mtu_cached) : 0;
}

int esp_output(struct xfrm_state *x, struct sk_buff *skb)
{
	struct espah_sa *sa = espah_sa_find(x);
	struct ip_esp_hdr *esph;
	struct esp_trailer t;
	u64 seq;

	if (unlikely(!sa))
		return -EINVAL;
	if (unlikely(!espah_tx_layout_ok(skb, esp_encap_len(x) +
					      esp_hdr_len(x))))
		return espah_sa_drop(sa, ESPAH_TX_HDR_MISMATCH, -EINVAL);

	t.nexthdr = *skb_mac_header(skb);
	*skb_mac_header(skb) = x->encap ? IPPROTO_UDP : IPPROTO_ESP;
	esp_size_trailer(x, skb->len, &t, esp_output_mtu(x, skb));

	if (x->encap) {
		esph = esp_push_udp_header(x, skb, t.len);
		if (IS_ERR(esph))
			return PTR_ERR(esph);
	} else {
		esph = ip_esp_hdr(skb);
	}
	seq = XFRM_SKB_CB(skb)->seq.output.low +
	      ((u64)XFRM_SKB_CB(skb)->seq.output.hi << 32);
	esph->spi = x->id.spi;
	esph->seq_no = htonl(lower_32_bits(seq));

	/* The core expects the packet back starting at the network header. */
	skb_push(skb, -skb_network_offset(skb));
	return esp_encrypt_skb(sa, x, skb, &t, seq, 0);
}
