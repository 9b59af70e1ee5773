// SPDX-License-Identifier: GPL-2.0
/*
 * ESP GSO and GRO in software, espah's own (never esp4_offload's or
 * esp6_offload's).
 *
 * Output. With an xfrm_type_offload registered, the core lets TCP build
 * 64 KiB GSO packets through an ESP SA: xfrm_output() only marks them
 * (SKB_GSO_ESP), the type offload's encap() fills in the ESP header at
 * the core's usual place, and at device transmit the stack segments them
 * (our gso_segment: the ESP header is taken off, the inner protocol's
 * GSO cuts MSS-sized segments whose fragments still point at TCP's
 * pages) and validate_xmit_xfrm() hands each segment to our xmit(),
 * which encrypts it like the early path does: sequence numbers from the
 * core's reservation, each segment read where it is and encrypted into
 * fresh pages. Non-GSO packets take the same late path. Where the core
 * keeps the early path (UDP encapsulation, nested SAs, packets over the
 * MTU), x->type->output() runs as before.
 *
 * Input. Our gro_receive looks the SA up and feeds the packet to
 * xfrm_input() from the GRO engine; decrypted packets then go through
 * GRO again (gro_cells), so TCP receives merged segments.
 *
 * ESP hardware offload (a NIC that encrypts) is not driven: packets of
 * SAs a driver took are dropped and counted (tx_hw_offload).
 */
#include <linux/module.h>
#include <linux/skbuff.h>
#include <net/gro.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/protocol.h>
#include <net/sch_generic.h>
#include <net/xfrm.h>

#include "esp.h"
#include "layout.h"
#include "proto.h"
#include "stats.h"

static bool espah_offload = true;
module_param_named(offload, espah_offload, bool, 0444);
MODULE_PARM_DESC(offload,
		 "register ESP GSO/GRO offload (default on; off: every packet takes the core's early output path)");

/* encap() found the header elsewhere: the packet is dropped later. */
#define ESP_PROTO_MISPLACED	IPPROTO_RAW

static bool esp_offload_v4, esp_offload_v6;

bool esp_offload_registered(void)
{
	return esp_offload_v4 || esp_offload_v6;
}

/* ------------------------------------------------------------ output */

/*
 * BEET strips the inner IP header, and the core's BEET code leaves the
 * skb's inner headers unset; for the GSO packet the core marks as
 * encapsulated, the stack then reads them (qdisc_pkt_len_segs_init(), a
 * DEBUG_NET warning on 6.12 debug kernels). Point them at the inner
 * transport header, after the pseudo header that carries IPv4 options.
 * skb->data is the payload.
 */
static void esp_beet_set_inner(struct xfrm_state *x, struct sk_buff *skb,
			       u8 proto)
{
	int off = 0;
	__be16 frag;

	if (x->sel.family == AF_INET && proto == IPPROTO_BEETPH &&
	    skb_headlen(skb) >= sizeof(struct ip_beet_phdr))
		off = IPV4_BEET_PHMAXLEN +
		      ((struct ip_beet_phdr *)skb->data)->hdrlen * 8;
	else if (x->sel.family == AF_INET6)
		off = max(ipv6_skip_exthdr(skb, 0, &proto, &frag), 0);
	skb_set_inner_network_header(skb, 0);
	skb_set_inner_transport_header(skb, off);
}

/*
 * Called by the core in place of x->type->output() for packets that will
 * be encrypted at device transmit. The mode has run: skb->data is the
 * payload, the transport header the ESP header, the mac header the
 * protocol byte. encap() cannot fail, so a misplaced header is marked and
 * the packet dropped in gso_segment() or xmit().
 */
static void esp_offload_encap(struct xfrm_state *x, struct sk_buff *skb)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct ip_esp_hdr *esph;

	if (unlikely(!espah_tx_layout_ok(skb, esp_hdr_len(x)))) {
		espah_stats_count(x, ESPAH_TX_HDR_MISMATCH);
		xo->proto = ESP_PROTO_MISPLACED;
		return;
	}
	xo->proto = *skb_mac_header(skb);
	*skb_mac_header(skb) = IPPROTO_ESP;
	if (x->outer_mode.encap == XFRM_MODE_BEET)
		esp_beet_set_inner(x, skb, xo->proto);
	esph = ip_esp_hdr(skb);
	esph->spi = x->id.spi;
	esph->seq_no = htonl(XFRM_SKB_CB(skb)->seq.output.low);
	skb_push(skb, -skb_network_offset(skb));
}

/* The next sequence number of the core's reservation (see xfrm_replay.c). */
static u64 esp_offload_seq(struct xfrm_offload *xo, struct sk_buff *skb,
			   struct ip_esp_hdr *esph)
{
	u32 seq = xo->seq.low;

	if (xo->flags & XFRM_GSO_SEGMENT) {
		/* the segments share xo: each takes the next number */
		esph->seq_no = htonl(seq);
		xo->seq.low += skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1;
	}
	if (xo->seq.low < seq)
		xo->seq.hi++;
	return seq + ((u64)xo->seq.hi << 32);
}

/* A device that encrypts itself would get a packet it must not. */
static bool esp_offload_hw(struct xfrm_state *x, struct sk_buff *skb,
			   netdev_features_t features)
{
	return x->xso.dev == skb->dev &&
	       ((features & NETIF_F_HW_ESP) ||
		(skb->dev->gso_partial_features & NETIF_F_HW_ESP));
}

/* The MTU TFC padding fills to, from the route the packet leaves by. */
static unsigned int esp_offload_mtu(struct xfrm_state *x, struct sk_buff *skb)
{
	struct dst_entry *dst = skb_dst(skb);

	return dst ? xfrm_state_mtu(x, dst_mtu(dst)) : 0;
}

/*
 * Whether the packet leaves through a qdisc. Without one (veth and other
 * virtual devices by default) __dev_queue_xmit() validates the packet on
 * the spot and takes a packet the validation kept back for one it failed
 * to send: the sender would resend data that did leave. Such packets are
 * therefore never held back for order, only left to asynchronous crypto
 * when it goes that way.
 */
static bool esp_offload_queued(struct sk_buff *skb)
{
	struct netdev_queue *txq = skb_get_tx_queue(skb->dev, skb);

	/* a queue always has a qdisc: noop or noqueue at least */
	return rcu_dereference_bh(txq->qdisc)->enqueue;
}

static unsigned int esp_late_flags(struct sk_buff *skb)
{
	return esp_offload_queued(skb) ? ESP_REQ_LATE :
					 ESP_REQ_LATE | ESP_REQ_DIRECT;
}

/*
 * At device transmit (validate_xmit_xfrm): the core has pulled skb->data
 * to the payload with the header length we set; the transport header is
 * the ESP header. Returns 0 with the packet ready, -EINPROGRESS when the
 * order stage will send it on (dev_queue_xmit()), or an errno: the
 * core drops the packet.
 */
static int esp_offload_xmit(struct xfrm_state *x, struct sk_buff *skb,
			    netdev_features_t features)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct espah_sa *sa = espah_sa_find(x);
	struct ip_esp_hdr *esph;
	struct esp_trailer t;
	u64 seq;
	int err;

	if (unlikely(!xo || !sa || xo->proto == ESP_PROTO_MISPLACED))
		return -EINVAL;
	/* encrypted by esp_gso_segment() already */
	if (xo->flags & XFRM_XMIT)
		return 0;
	if (unlikely(esp_offload_hw(x, skb, features))) {
		net_warn_ratelimited("espah: SPI 0x%08x: ESP hardware offload is not supported; dropped\n",
				     ntohl(x->id.spi));
		return espah_sa_drop(sa, ESPAH_TX_HW_OFFLOAD, -EOPNOTSUPP);
	}
	if (unlikely(skb_is_gso(skb) ||
		     !espah_tx_header_ok(skb, esp_hdr_len(x))))
		return espah_sa_drop(sa, ESPAH_TX_HDR_MISMATCH, -EINVAL);

	espah_sa_count_path(sa, ESPAH_TX_LATE);
	if (xo->flags & XFRM_GSO_SEGMENT)
		espah_sa_count_path(sa, ESPAH_TX_GSO_SEGMENTS);
	esph = ip_esp_hdr(skb);
	seq = esp_offload_seq(xo, skb, esph);
	t.nexthdr = xo->proto;
	esp_size_trailer(x, skb->len, &t, esp_offload_mtu(x, skb));

	skb_push(skb, -skb_network_offset(skb));
	err = esp_encrypt_skb(sa, x, skb, &t, seq, esp_late_flags(skb));
	if (err)
		return err;
	secpath_reset(skb);
	if (skb_needs_linearize(skb, skb->dev->features) &&
	    __skb_linearize(skb))
		return espah_sa_drop(sa, ESPAH_TX_NOMEM, -ENOMEM);
	return 0;
}

/*
 * Only a NIC that decrypted the packet itself calls this (CRYPTO_DONE),
 * and espah drives no such NIC.
 */
static int esp_offload_input_tail(struct xfrm_state *x, struct sk_buff *skb)
{
	return espah_drop(x, ESPAH_RX_HW_OFFLOAD, -EOPNOTSUPP);
}

const struct xfrm_type_offload espah_esp_type_offload = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.input_tail	= esp_offload_input_tail,
	.xmit		= esp_offload_xmit,
	.encap		= esp_offload_encap,
};

/* ------------------------------------------------------------ GSO */

static struct sk_buff *esp_gso_inner(struct sk_buff *skb, u8 proto,
				     unsigned short family,
				     netdev_features_t features)
{
	const struct net_offload *ops;

	__skb_pull(skb, skb_transport_offset(skb));
#if IS_ENABLED(CONFIG_IPV6)
	if (family == AF_INET6)
		ops = rcu_dereference(inet6_offloads[proto]);
	else
#endif
		ops = rcu_dereference(inet_offloads[proto]);
	if (unlikely(!ops || !ops->callbacks.gso_segment))
		return ERR_PTR(-EPROTONOSUPPORT);
	return ops->callbacks.gso_segment(skb, features);
}

/* Tunnel mode: the inner IP packet starts right after the IV. */
static struct sk_buff *esp_gso_tunnel(struct xfrm_state *x,
				      struct sk_buff *skb,
				      netdev_features_t features)
{
	const struct xfrm_mode *inner = xfrm_ip2inner_mode(x,
							   xfrm_offload(skb)->proto);

	return skb_eth_gso_segment(skb, features,
				   inner->family == AF_INET6 ?
				   htons(ETH_P_IPV6) : htons(ETH_P_IP));
}

/*
 * BEET: the payload is the inner transport header, after the pseudo
 * header that carries IPv4 options; the outer family's GSO cuts it.
 * espah_mode_room() put the room for the pseudo header (and the IPv6/IPv4
 * difference) into the header length: take it back out.
 */
static struct sk_buff *esp_gso_beet(struct xfrm_state *x, struct sk_buff *skb,
				    netdev_features_t features)
{
	u8 proto = xfrm_offload(skb)->proto;
	bool outer6 = x->props.family == AF_INET6;
	__be16 frag;
	int off;

	skb->transport_header += x->props.header_len - espah_mode_room(x);
	if (x->sel.family == AF_INET) {
		if (proto == IPPROTO_BEETPH) {
			const struct ip_beet_phdr *ph = (void *)skb->data;

			if (!pskb_may_pull(skb, sizeof(*ph)))
				return ERR_PTR(-EINVAL);
			skb->transport_header += IPV4_BEET_PHMAXLEN +
						 ph->hdrlen * 8;
			proto = ph->nexthdr;
		}
		if (proto == IPPROTO_TCP)
			skb_shinfo(skb)->gso_type |= outer6 ? SKB_GSO_TCPV6 :
							      SKB_GSO_TCPV4;
	} else {
		off = ipv6_skip_exthdr(skb, 0, &proto, &frag);
		if (off < 0)
			return ERR_PTR(-EINVAL);
		skb->transport_header += off;
		if (proto == IPPROTO_TCP && !outer6)
			skb_shinfo(skb)->gso_type |= SKB_GSO_TCPV4;
	}
	if (proto == IPPROTO_IPIP || proto == IPPROTO_IPV6)
		skb_shinfo(skb)->gso_type |= outer6 ? SKB_GSO_IPXIP6 :
						      SKB_GSO_IPXIP4;
	return esp_gso_inner(skb, proto, x->props.family, features);
}

static struct sk_buff *esp_gso_mode(struct xfrm_state *x, struct sk_buff *skb,
				    netdev_features_t features)
{
	switch (x->outer_mode.encap) {
	case XFRM_MODE_TUNNEL:
		return esp_gso_tunnel(x, skb, features);
	case XFRM_MODE_TRANSPORT:
		skb->transport_header += x->props.header_len;
		return esp_gso_inner(skb, xfrm_offload(skb)->proto,
				     x->props.family, features);
	case XFRM_MODE_BEET:
		return esp_gso_beet(x, skb, features);
	}
	return ERR_PTR(-EOPNOTSUPP);
}

static bool espah_gso_encrypt = true;
module_param_named(gso_encrypt, espah_gso_encrypt, bool, 0644);
MODULE_PARM_DESC(gso_encrypt,
		 "encrypt a GSO packet's segments as a batch right after segmenting, spread over the CPUs (default on; off: one by one at device transmit)");

/* Where a GSO packet's headers start, from its mac header. */
struct esp_gso_offsets {
	unsigned int outer_ip;
	unsigned int esp;
};

/*
 * Sets up the encryption of segment number @i: skb->data at the mac
 * header, the outer IP and ESP headers at @off, as every segment copied
 * them from the GSO packet. Leaves skb->data at the outer IP header.
 */
static struct esp_req *esp_seg_prepare(struct espah_sa *sa,
				       struct xfrm_state *x,
				       struct sk_buff *seg,
				       const struct esp_gso_offsets *off,
				       unsigned int i)
{
	struct xfrm_offload *xo = xfrm_offload(seg);
	struct ip_esp_hdr *esph;
	struct esp_trailer t;
	unsigned int hdr_end;
	u64 seq;

	/*
	 * The inner GSO code of tunnel mode pointed the network header at
	 * the inner IP header, which is about to become ciphertext.
	 */
	seg->network_header = seg->mac_header + off->outer_ip;
	esph = (struct ip_esp_hdr *)(skb_mac_header(seg) + off->esp);
	hdr_end = (u8 *)esph + esp_hdr_len(x) - seg->data;
	if (unlikely(hdr_end > skb_headlen(seg)))
		return ERR_PTR(espah_sa_drop(sa, ESPAH_TX_HDR_MISMATCH, -EINVAL));
	seg->transport_header = (u8 *)esph - seg->head;
	/*
	 * A segment held back for order leaves without the outer GSO code's
	 * touch-up: give it the IPv4 ID that code would (its checksum and
	 * length are set after encryption).
	 */
	if (x->props.family == AF_INET)
		ip_hdr(seg)->id = htons(ntohs(ip_hdr(seg)->id) + i);
	espah_sa_count_path(sa, ESPAH_TX_LATE);
	espah_sa_count_path(sa, ESPAH_TX_GSO_SEGMENTS);
	seq = esp_offload_seq(xo, seg, esph);
	t.nexthdr = xo->proto;
	esp_size_trailer(x, seg->len - hdr_end, &t, esp_offload_mtu(x, seg));
	__skb_pull(seg, skb_network_offset(seg));
	return esp_encrypt_prepare(sa, x, seg, &t, seq, ESP_REQ_LATE);
}

/*
 * A segment's crypto is done: the ciphertext replaces its payload and
 * skb->data goes back to the mac header, where the outer GSO code that
 * called us expects it (it then sets the IP length and ID again).
 */
void esp_seg_finish(struct esp_req *req)
{
	struct sk_buff *seg = req->skb;

	req->result = esp_output_finish(req);
	skb_push(seg, seg->data - skb_mac_header(seg));
}

/*
 * A segment whose crypto went asynchronous, done after its batch left
 * (no qdisc: nothing to keep order with): it goes out on its own.
 */
void esp_seg_send_orphan(struct esp_req *req)
{
	struct espah_sa *sa = req->sa;
	struct sk_buff *seg = req->skb;
	struct xfrm_state *x = req->x;
	int err = req->result;

	esp_req_put(req);
	esp_output_resume_late(sa, x, seg, err);
}

/*
 * Holds segment @req back for order: it joins the SA's release queue
 * behind the packets still in flight and leaves when they have (through
 * esp_output_release(), into the qdisc again).
 * Returns false when it is still the caller's to drop: the queue is full
 * (counted) and the segment is done.
 */
static bool esp_seg_hold(struct esp_req *req, enum esp_seg_state s)
{
	struct espah_order *o = &req->sa->order[ESPAH_TX];

	if (!espah_order_enter(o, &req->order, esp_output_release)) {
		espah_sa_count_drop(req->sa, ESPAH_TX_OVERLOAD);
		return s == ESP_SEG_ASYNC && esp_seg_give_up(req, ESP_SEG_ORPHAN);
	}
	if (s == ESP_SEG_DONE || !esp_seg_give_up(req, ESP_SEG_QUEUED))
		esp_order_done_deferred(req);
	return true;
}

/*
 * Encrypts the segments of one GSO packet, some (as espah_parallel says)
 * on other CPUs, and waits for them: the batch leaves in order, encrypted,
 * and validate_xmit_xfrm() lets it pass (XFRM_XMIT). Behind a qdisc the
 * order holds against the SA's other packets too: from the first segment
 * whose crypto went asynchronous, or from the start if packets of the SA
 * are still in flight, segments wait in the SA's release queue. Without
 * a qdisc a segment that went asynchronous is sent alone when done. One
 * that fails is dropped (counted). @xo is the GSO packet's, which its
 * segments share (the packet holds it until the caller is done).
 */
static struct sk_buff *esp_gso_encrypt(struct xfrm_state *x,
				       struct xfrm_offload *xo,
				       struct sk_buff *segs,
				       const struct esp_gso_offsets *off)
{
	struct espah_sa *sa = espah_sa_find(x);
	struct esp_req *first = NULL, **tail = &first, *req;
	struct sk_buff *seg, *next, *head = NULL, **link = &head;
	enum esp_seg_state s;
	unsigned int i = 0;
	bool queued, hold;

	if (unlikely(!sa)) {
		kfree_skb_list(segs);
		return ERR_PTR(-EINVAL);
	}
	queued = esp_offload_queued(segs);
	hold = queued && READ_ONCE(sa->order[ESPAH_TX].len);
	skb_list_walk_safe(segs, seg, next) {
		req = esp_seg_prepare(sa, x, seg, off, i++);
		if (IS_ERR(req)) {
			skb_mark_not_on_list(seg);
			kfree_skb(seg);
			continue;
		}
		*tail = req;
		tail = &req->next_seg;
		esp_seg_start(req, espah_parallel_wanted(seg->len, 0));
	}
	while ((req = first)) {
		first = req->next_seg;
		seg = req->skb;
		skb_mark_not_on_list(seg);
		s = esp_seg_settle(req);
		if (s == ESP_SEG_ASYNC && queued)
			hold = true;
		if (hold) {
			if (esp_seg_hold(req, s))
				continue;
		} else if (s == ESP_SEG_ASYNC &&
			   esp_seg_give_up(req, ESP_SEG_ORPHAN)) {
			continue;
		} else if (likely(!req->result)) {
			*link = seg;
			link = &seg->next;
			esp_req_put(req);
			continue;
		}
		kfree_skb(seg);
		esp_req_put(req);
	}
	xo->flags |= XFRM_XMIT;
	return head ?: ERR_PTR(-EINPROGRESS);
}

/*
 * Segments a GSO packet that encap() prepared. The segments keep pointing
 * at the original's page fragments (scatter-gather stays on: they are
 * read where they are), but their checksums are computed now, before
 * encryption hides them from any checksum offload. Then the segments are
 * encrypted as a batch (esp_gso_encrypt()), unless the device claims ESP
 * offload features: there xmit() does it one by one.
 */
/*
 * The core counted a GSO packet as one in the SA's lifetime
 * (xfrm_output_one()); each of its segments is an ESP packet, and packet
 * limits (limit packet-soft/hard, an IKE daemon's life_packets) count them.
 */
static void esp_gso_count_segments(struct xfrm_state *x, struct sk_buff *skb)
{
	unsigned int segs = skb_shinfo(skb)->gso_segs;

	if (segs <= 1)
		return;
	spin_lock_bh(&x->lock);
	x->curlft.packets += segs - 1;
	spin_unlock_bh(&x->lock);
}

static struct sk_buff *esp_gso_segment(struct sk_buff *skb,
				       netdev_features_t features)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct ip_esp_hdr *esph;
	struct sk_buff *segs;
	struct xfrm_state *x;
	struct esp_gso_offsets off;
	struct sec_path *sp;

	if (!xo || !(skb_shinfo(skb)->gso_type & SKB_GSO_ESP))
		return ERR_PTR(-EINVAL);
	sp = skb_sec_path(skb);
	x = sp->xvec[sp->len - 1];
	esph = ip_esp_hdr(skb);
	if (xo->proto == ESP_PROTO_MISPLACED || esph->spi != x->id.spi)
		return ERR_PTR(-EINVAL);
	if (!pskb_may_pull(skb, esp_hdr_len(x)))
		return ERR_PTR(-EINVAL);
	esp_gso_count_segments(x, skb);
	off.outer_ip = skb_network_header(skb) - skb_mac_header(skb);
	off.esp = (u8 *)ip_esp_hdr(skb) - skb_mac_header(skb);
	__skb_pull(skb, esp_hdr_len(x));
	skb->encap_hdr_csum = 1;
	xo->flags |= XFRM_GSO_SEGMENT;
	segs = esp_gso_mode(x, skb, features & ~(NETIF_F_CSUM_MASK |
						   NETIF_F_SCTP_CRC |
						   NETIF_F_HW_ESP |
						   NETIF_F_GSO_ESP));
	if (IS_ERR_OR_NULL(segs) || !READ_ONCE(espah_gso_encrypt) ||
	    (skb->dev->features & NETIF_F_HW_ESP))
		return segs;
	/* the segments share the GSO packet's xfrm_offload, and xo->seq */
	return esp_gso_encrypt(x, xo, segs, &off);
}

/* ------------------------------------------------------------ GRO */

static struct xfrm_state *esp_gro_lookup(struct sk_buff *skb, __be32 spi,
					 unsigned short family)
{
	const xfrm_address_t *daddr = family == AF_INET6 ?
		(const xfrm_address_t *)&ipv6_hdr(skb)->daddr :
		(const xfrm_address_t *)&ip_hdr(skb)->daddr;
	struct xfrm_state *x;

	x = espah_input_state_lookup(dev_net(skb->dev), skb->mark, daddr, spi,
				     IPPROTO_ESP, family);
	/* the non-GRO path counts and audits a state of the wrong direction */
	if (x && !espah_state_is_inbound(x)) {
		xfrm_state_put(x);
		x = NULL;
	}
	return x;
}

/* Puts the state the packet is for into its sec_path, once. */
static bool esp_gro_attach_state(struct sk_buff *skb, __be32 spi,
				 unsigned short family)
{
	struct xfrm_offload *xo = xfrm_offload(skb);
	struct sec_path *sp;
	struct xfrm_state *x;

	if (xo && (xo->flags & CRYPTO_DONE))
		return true;
	sp = secpath_set(skb);
	if (!sp || sp->len == XFRM_MAX_DEPTH)
		return false;
	x = esp_gro_lookup(skb, spi, family);
	if (!x)
		return false;
	skb->mark = xfrm_smark_get(skb->mark, x);
	sp->xvec[sp->len++] = x;
	sp->olen++;
	espah_stats_path(x, ESPAH_RX_GRO);
	return xfrm_offload(skb);
}

/* IPv6: the offset of the next-header byte that says ESP (or UDP). */
static int esp6_gro_nhoff(struct sk_buff *skb, int esp_off)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	const struct ipv6_opt_hdr *eh;
	int off = sizeof(*ip6h), nhoff = offsetof(struct ipv6hdr, nexthdr);
	u8 nh = ip6h->nexthdr;

	while (nh != IPPROTO_ESP && nh != IPPROTO_UDP) {
		if (off + (int)sizeof(*eh) > esp_off)
			return 0;
		eh = (const void *)((const u8 *)ip6h + off);
		nhoff = off;
		nh = eh->nexthdr;
		off += ipv6_optlen(eh);
	}
	return nhoff;
}

static void esp_gro_set_cb(struct sk_buff *skb, __be32 seq,
			   unsigned short family, int nhoff)
{
	XFRM_SPI_SKB_CB(skb)->family = family;
	XFRM_SPI_SKB_CB(skb)->seq = seq;
#if IS_ENABLED(CONFIG_IPV6)
	if (family == AF_INET6) {
		IP6CB(skb)->nhoff = nhoff;
		XFRM_TUNNEL_SKB_CB(skb)->tunnel.ip6 = NULL;
		XFRM_SPI_SKB_CB(skb)->daddroff = offsetof(struct ipv6hdr, daddr);
		return;
	}
#endif
	XFRM_TUNNEL_SKB_CB(skb)->tunnel.ip4 = NULL;
	XFRM_SPI_SKB_CB(skb)->daddroff = offsetof(struct iphdr, daddr);
}

/*
 * From the GRO engine: an ESP packet (or ESP in UDP, where the kernel
 * supports GRO for it) goes to xfrm_input(), which owns it from then on.
 * Anything we cannot take goes back to the normal receive path.
 */
static struct sk_buff *esp_gro_receive(struct sk_buff *skb,
				       unsigned short family)
{
	int offset = skb_gro_offset(skb);
	int encap_type = espah_gro_encap_type(skb);
	int nhoff = 0;
	__be32 spi, seq;

	if (!pskb_pull(skb, offset))
		return NULL;
	if (xfrm_parse_spi(skb, IPPROTO_ESP, &spi, &seq) != 0)
		goto out;
	if (family == AF_INET6) {
		nhoff = esp6_gro_nhoff(skb, offset);
		if (!nhoff)
			goto out;
	}
	if (!esp_gro_attach_state(skb, spi, family))
		goto out_reset;
	xfrm_offload(skb)->flags |= XFRM_GRO;
	esp_gro_set_cb(skb, seq, family, nhoff);
	xfrm_input(skb, IPPROTO_ESP, spi, encap_type);
	return ERR_PTR(-EINPROGRESS);

out_reset:
	secpath_reset(skb);
out:
	skb_push(skb, offset);
	NAPI_GRO_CB(skb)->same_flow = 0;
	NAPI_GRO_CB(skb)->flush = 1;
	return NULL;
}

static struct sk_buff *esp4_gro_receive(struct list_head *head,
					struct sk_buff *skb)
{
	return esp_gro_receive(skb, AF_INET);
}

static struct sk_buff *esp6_gro_receive(struct list_head *head,
					struct sk_buff *skb)
{
	return esp_gro_receive(skb, AF_INET6);
}

static const struct net_offload espah_esp4_offload = {
	.callbacks = {
		.gro_receive = esp4_gro_receive,
		.gso_segment = esp_gso_segment,
	},
};

static const struct net_offload espah_esp6_offload = {
	.callbacks = {
		.gro_receive = esp6_gro_receive,
		.gso_segment = esp_gso_segment,
	},
};

/* ------------------------------------------------------------ registration */

static int esp_offload_add_proto(unsigned short family)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (family == AF_INET6)
		return inet6_add_offload(&espah_esp6_offload, IPPROTO_ESP);
#endif
	return inet_add_offload(&espah_esp4_offload, IPPROTO_ESP);
}

static void esp_offload_del_proto(unsigned short family)
{
#if IS_ENABLED(CONFIG_IPV6)
	if (family == AF_INET6) {
		inet6_del_offload(&espah_esp6_offload, IPPROTO_ESP);
		return;
	}
#endif
	inet_del_offload(&espah_esp4_offload, IPPROTO_ESP);
}

/*
 * Takes the type offload and the protocol offload slots of @family, or
 * neither: if another module (esp4_offload, esp6_offload) holds one, say
 * what to unload, as for the types.
 */
static int esp_offload_claim(unsigned short family)
{
	int err;

	err = espah_claim_type_offload(&espah_esp_type_offload, family);
	if (err)
		return err;
	if (esp_offload_add_proto(family)) {
		espah_release_type_offload(&espah_esp_type_offload, family);
		pr_err("espah: the IPv%d ESP GSO/GRO hooks are taken by another module; unload it first: rmmod %s\n",
		       family == AF_INET6 ? 6 : 4,
		       family == AF_INET6 ? "esp6_offload" : "esp4_offload");
		return -EBUSY;
	}
	return 0;
}

static void esp_offload_release(unsigned short family)
{
	esp_offload_del_proto(family);
	espah_release_type_offload(&espah_esp_type_offload, family);
}

int esp_offload_init(void)
{
	int err;

	if (!espah_offload)
		return 0;
	err = esp_offload_claim(AF_INET);
	if (err)
		return err;
	esp_offload_v4 = true;
#if IS_ENABLED(CONFIG_IPV6)
	err = esp_offload_claim(AF_INET6);
	if (err) {
		esp_offload_release(AF_INET);
		esp_offload_v4 = false;
		return err;
	}
	esp_offload_v6 = true;
#endif
	return 0;
}

void esp_offload_exit(void)
{
	if (esp_offload_v6)
		esp_offload_release(AF_INET6);
	if (esp_offload_v4)
		esp_offload_release(AF_INET);
	esp_offload_v4 = false;
	esp_offload_v6 = false;
}
