// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the header arithmetic between the xfrm modes and the ESP
 * and AH types (issue 9): for every mode, outer and inner family, the
 * header length the type sets must be what the core's mode function
 * (pktgen_xfrm_outer_mode_output(), the real xfrm_outer_mode_output())
 * needs to put the ESP/AH header exactly in front of the payload; and a
 * packet whose header sits elsewhere must be dropped and counted, never
 * read or written out of place.
 *
 * Tunnel mode needs an xfrm route to run the core's mode function; its
 * header length is checked against the formula here and end to end in
 * scripts/guest/e2e-crossfam.sh.
 */

#include <kunit/test.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/xfrm.h>

#include "espah.h"
#include "espah_kunit_util.h"

#define LAYOUT_HEADROOM		256
#define LAYOUT_PAYLOAD		32
#define LAYOUT_SPI		0x4c41
/* rfc4106(gcm(aes)): ESP header and the 8-byte explicit IV */
#define LAYOUT_ESP_HDR		(8 + 8)
/* hmac(sha256) truncated to 128 bits: 12 + 16, padded to 8 octets */
#define LAYOUT_AH_HDR		32

static const u8 layout_key[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
				   13, 14, 15, 16, 17, 18, 19, 20 };
static const u8 layout_auth_key[32] = { 0x42 };
static const u8 layout_v4_a[4] = { 10, 12, 0, 1 }, layout_v4_b[4] = { 10, 12, 0, 2 };
static const u8 layout_v6_a[16] = { 0xfd, 0, 0, 0x12, [15] = 1 };
static const u8 layout_v6_b[16] = { 0xfd, 0, 0, 0x12, [15] = 2 };

struct layout_case {
	const char *name;
	u8 proto;
	u8 mode;
	u8 outer;		/* 4 or 6 */
	u8 inner;
	/* four NOPs in the inner IPv4 header */
	bool options;
	/*
	 * Added to the header length after the type set it, so that the mode
	 * puts the header elsewhere: -20 is issue 9's BEET bug.
	 */
	int skew;
};

#define CASE(n, p, m, o, i, opt, sk) \
	{ .name = n, .proto = p, .mode = m, .outer = o, .inner = i, \
	  .options = opt, .skew = sk }

static const struct layout_case layout_cases[] = {
	CASE("esp-transport-4", IPPROTO_ESP, XFRM_MODE_TRANSPORT, 4, 4, false, 0),
	CASE("esp-transport-6", IPPROTO_ESP, XFRM_MODE_TRANSPORT, 6, 6, false, 0),
	CASE("esp-transport-4-options", IPPROTO_ESP, XFRM_MODE_TRANSPORT, 4, 4, true, 0),
	CASE("esp-beet-4in4", IPPROTO_ESP, XFRM_MODE_BEET, 4, 4, false, 0),
	CASE("esp-beet-6in6", IPPROTO_ESP, XFRM_MODE_BEET, 6, 6, false, 0),
	CASE("esp-beet-4in6", IPPROTO_ESP, XFRM_MODE_BEET, 6, 4, false, 0),
	CASE("esp-beet-6in4", IPPROTO_ESP, XFRM_MODE_BEET, 4, 6, false, 0),
	CASE("esp-beet-4in4-options", IPPROTO_ESP, XFRM_MODE_BEET, 4, 4, true, 0),
	CASE("esp-beet-4in6-options", IPPROTO_ESP, XFRM_MODE_BEET, 6, 4, true, 0),
	/* issue 9: the header length without the IPv6/IPv4 difference */
	CASE("esp-beet-4in6-header-len-short", IPPROTO_ESP, XFRM_MODE_BEET, 6, 4, false, -20),
	CASE("esp-transport-4-header-len-long", IPPROTO_ESP, XFRM_MODE_TRANSPORT, 4, 4, false, 4),
	CASE("ah-transport-4", IPPROTO_AH, XFRM_MODE_TRANSPORT, 4, 4, false, 0),
	CASE("ah-transport-6", IPPROTO_AH, XFRM_MODE_TRANSPORT, 6, 6, false, 0),
	CASE("ah-beet-4in4", IPPROTO_AH, XFRM_MODE_BEET, 4, 4, false, 0),
	CASE("ah-beet-6in6", IPPROTO_AH, XFRM_MODE_BEET, 6, 6, false, 0),
	CASE("ah-beet-4in6", IPPROTO_AH, XFRM_MODE_BEET, 6, 4, false, 0),
	CASE("ah-beet-6in4", IPPROTO_AH, XFRM_MODE_BEET, 4, 6, false, 0),
	CASE("ah-beet-4in6-options", IPPROTO_AH, XFRM_MODE_BEET, 6, 4, true, 0),
	CASE("ah-beet-4in6-header-len-short", IPPROTO_AH, XFRM_MODE_BEET, 6, 4, false, -20),
};

static void layout_case_desc(const struct layout_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(layout, layout_cases, layout_case_desc);

static unsigned int layout_proto_hdr(u8 proto)
{
	return proto == IPPROTO_ESP ? LAYOUT_ESP_HDR : LAYOUT_AH_HDR;
}

static unsigned int layout_ip_len(u8 family)
{
	return family == 4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/* An initialised SA of the registered ESP or AH type. */
static struct xfrm_state *layout_state(struct kunit *test, u8 proto, u8 mode,
				       u8 outer, u8 inner)
{
	const struct espah_kunit_sa_id id = {
		.proto = proto, .family = outer, .mode = mode,
		.spi = LAYOUT_SPI,
		.saddr = outer == 4 ? layout_v4_a : layout_v6_a,
		.daddr = outer == 4 ? layout_v4_b : layout_v6_b,
	};
	const struct espah_kv_alg gcm = {
		.name = "rfc4106(gcm(aes))", .key = layout_key,
		.key_len = sizeof(layout_key), .bits = 128,
	};
	const struct espah_kv_alg hmac = {
		.name = "hmac(sha256)", .key = layout_auth_key,
		.key_len = sizeof(layout_auth_key), .bits = 128,
	};
	struct xfrm_state *x = espah_kunit_state_alloc(test, &id);
	int err;

	x->sel.family = inner == 4 ? AF_INET : AF_INET6;
	if (proto == IPPROTO_ESP)
		err = espah_kunit_attach_aead(x, &gcm);
	else
		err = espah_kunit_attach_auth(x, &hmac, false);
	KUNIT_ASSERT_EQ(test, err, 0);
	err = xfrm_init_state(x);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "xfrm_init_state");
	KUNIT_ASSERT_EQ(test, x->type->proto, proto);
	return x;
}

/*
 * An inner UDP packet as the stack hands it to xfrm_output(): skb->data at
 * the IP header, the transport header at the UDP header.
 */
static struct sk_buff *layout_inner_skb(struct kunit *test,
					const struct layout_case *c)
{
	unsigned int optlen = c->options ? 4 : 0;
	unsigned int ip_len = layout_ip_len(c->inner) + optlen;
	unsigned int len = ip_len + sizeof(struct udphdr) + LAYOUT_PAYLOAD;
	struct sk_buff *skb;
	u8 *p;

	skb = alloc_skb(LAYOUT_HEADROOM + len + 64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_reserve(skb, LAYOUT_HEADROOM);
	p = skb_put_zero(skb, len);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, ip_len);
	memset(skb->cb, 0, sizeof(skb->cb));
	if (c->inner == 4) {
		struct iphdr *iph = (struct iphdr *)p;

		iph->version = 4;
		iph->ihl = ip_len / 4;
		iph->ttl = 64;
		iph->protocol = IPPROTO_UDP;
		iph->tot_len = htons(len);
		memcpy(&iph->saddr, layout_v4_a, 4);
		memcpy(&iph->daddr, layout_v4_b, 4);
		memset(p + sizeof(*iph), IPOPT_NOP, optlen);
		iph->check = ip_fast_csum(p, iph->ihl);
		skb->protocol = htons(ETH_P_IP);
		/* the MTU check needs a route; the packet is small */
		IPCB(skb)->flags |= IPSKB_XFRM_TUNNEL_SIZE;
	} else {
		struct ipv6hdr *ip6h = (struct ipv6hdr *)p;

		ip6h->version = 6;
		ip6h->nexthdr = IPPROTO_UDP;
		ip6h->hop_limit = 64;
		ip6h->payload_len = htons(len - sizeof(*ip6h));
		memcpy(&ip6h->saddr, layout_v6_a, 16);
		memcpy(&ip6h->daddr, layout_v6_b, 16);
		skb->protocol = htons(ETH_P_IPV6);
		skb->ignore_df = 1;
	}
	return skb;
}

static void layout_free_skb(void *skb)
{
	kfree_skb(skb);
}

static u64 layout_drops(struct kunit *test, struct xfrm_state *x,
			enum espah_drop why)
{
	return espah_kunit_drop_count(test, x, why);
}

/*
 * The core's mode function with the type's header length puts the header
 * right in front of the payload; the type's output() then builds the
 * packet. With a header length that disagrees with the mode (issue 9's
 * bug), output() must refuse and count the packet without touching it.
 */
static void layout_mode_output_agrees(struct kunit *test)
{
	const struct layout_case *c = test->param_value;
	unsigned int hdr = layout_proto_hdr(c->proto);
	struct xfrm_state *x;
	struct sk_buff *skb;
	u64 before = 0;
	int err;

	x = layout_state(test, c->proto, c->mode, c->outer, c->inner);
	x->props.header_len += c->skew;
	skb = layout_inner_skb(test, c);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, layout_free_skb, skb), 0);

	err = pktgen_xfrm_outer_mode_output(x, skb);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "the core's mode output failed");
	KUNIT_EXPECT_EQ_MSG(test, (int)(skb->data - skb_transport_header(skb)),
			    (int)hdr + c->skew,
			    "header_len %d: the mode put the %s header %d bytes before the payload",
			    x->props.header_len,
			    c->proto == IPPROTO_ESP ? "ESP" : "AH",
			    (int)(skb->data - skb_transport_header(skb)));

	/*
	 * The in-tree types have no guard: they write the header where the
	 * skewed length says, and the kernel crashes (seen on the debug
	 * kernel with impl=intree): skip before output().
	 */
	if (c->skew && !espah_kunit_impl_is_espah())
		kunit_skip(test, "the in-tree types have no guard");
	if (c->skew)
		before = layout_drops(test, x, ESPAH_TX_HDR_MISMATCH);
	XFRM_SKB_CB(skb)->seq.output.low = 1;
	XFRM_SKB_CB(skb)->seq.output.hi = 0;
	err = x->type->output(x, skb);
	if (err == -EINPROGRESS) {
		/* the completion owns the skb now */
		kunit_remove_action(test, layout_free_skb, skb);
		kunit_skip(test, "output went asynchronous");
	}
	if (!c->skew) {
		KUNIT_EXPECT_EQ(test, err, 0);
		KUNIT_EXPECT_EQ(test, *(__be32 *)(skb_transport_header(skb) +
				(c->proto == IPPROTO_ESP ? 0 : 4)),
				htonl(LAYOUT_SPI));
		return;
	}
	KUNIT_EXPECT_EQ(test, err, -EINVAL);
	KUNIT_EXPECT_EQ(test, layout_drops(test, x, ESPAH_TX_HDR_MISMATCH),
			before + 1);
}

struct tunnel_case {
	u8 proto, outer;
};

static const struct tunnel_case tunnel_cases[] = {
	{ IPPROTO_ESP, 4 }, { IPPROTO_ESP, 6 }, { IPPROTO_AH, 4 }, { IPPROTO_AH, 6 },
};

static void tunnel_case_desc(const struct tunnel_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s-tunnel-outer%u",
		 c->proto == IPPROTO_ESP ? "esp" : "ah", c->outer);
}

KUNIT_ARRAY_PARAM(tunnel, tunnel_cases, tunnel_case_desc);

/* Tunnel mode: the outer header and ours, for either inner family. */
static void layout_tunnel_header_len(struct kunit *test)
{
	const struct tunnel_case *c = test->param_value;
	u8 inner;

	for (inner = 4; inner <= 6; inner += 2) {
		struct xfrm_state *x = layout_state(test, c->proto,
						    XFRM_MODE_TUNNEL,
						    c->outer, inner);

		KUNIT_EXPECT_EQ(test, x->props.header_len,
				(int)(layout_proto_hdr(c->proto) +
				      layout_ip_len(c->outer)));
	}
}

/*
 * Input: the core hands the type the packet with skb->data and the
 * transport header at the ESP/AH header. A packet laid out otherwise is
 * dropped and counted.
 */
static void layout_input_misplaced_header(struct kunit *test)
{
	static const u8 pkt[20 + 32] = { 0x45, 0, 0, 52, 0, 0, 0, 0, 64,
					 IPPROTO_ESP, 0, 0, 10, 12, 0, 1,
					 10, 12, 0, 2, 0, 0, 0x4c, 0x41 };
	struct xfrm_state *x;
	struct sk_buff *skb;
	int err;

	if (!espah_kunit_impl_is_espah())
		kunit_skip(test, "espah's guard and counter");
	x = layout_state(test, IPPROTO_ESP, XFRM_MODE_TRANSPORT, 4, 4);
	skb = espah_kunit_rx_skb(test, x, pkt, 20, 32, 1, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, layout_free_skb, skb), 0);
	skb_set_transport_header(skb, 4);
	err = espah_kunit_input(test, x, skb);
	KUNIT_EXPECT_EQ(test, err, -EINVAL);
	KUNIT_EXPECT_EQ(test, layout_drops(test, x, ESPAH_RX_HDR_MISMATCH), 1);
}

/* An SA for ESP in UDP fed a packet without the UDP header. */
static void layout_input_missing_udp(struct kunit *test)
{
	static const u8 pkt[20 + 32] = { 0x45, 0, 0, 52, 0, 0, 0, 0, 64,
					 IPPROTO_ESP, 0, 0, 10, 12, 0, 1,
					 10, 12, 0, 2, 0, 0, 0x4c, 0x41 };
	struct xfrm_encap_tmpl *e;
	struct xfrm_state *x;
	struct sk_buff *skb;
	int err;

	if (!espah_kunit_impl_is_espah())
		kunit_skip(test, "espah's guard and counter");
	x = layout_state(test, IPPROTO_ESP, XFRM_MODE_TRANSPORT, 4, 4);
	e = kzalloc(sizeof(*e), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e);
	e->encap_type = UDP_ENCAP_ESPINUDP;
	e->encap_sport = htons(4500);
	e->encap_dport = e->encap_sport;
	x->encap = e;
	skb = espah_kunit_rx_skb(test, x, pkt, 20, 32, 1, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, layout_free_skb, skb), 0);
	err = espah_kunit_input(test, x, skb);
	KUNIT_EXPECT_EQ(test, err, -EINVAL);
	KUNIT_EXPECT_EQ(test, layout_drops(test, x, ESPAH_RX_HDR_MISMATCH), 1);
}

/* BEET without a selector family cannot be laid out: refused. */
static void layout_beet_unspec_selector_refused(struct kunit *test)
{
	const struct espah_kunit_sa_id id = {
		.proto = IPPROTO_ESP, .family = 6, .mode = XFRM_MODE_BEET,
		.spi = LAYOUT_SPI, .saddr = layout_v6_a, .daddr = layout_v6_b,
	};
	const struct espah_kv_alg gcm = {
		.name = "rfc4106(gcm(aes))", .key = layout_key,
		.key_len = sizeof(layout_key), .bits = 128,
	};
	struct xfrm_state *x;

	if (!espah_kunit_impl_is_espah())
		kunit_skip(test, "the in-tree type takes it and WARNs on input");
	x = espah_kunit_state_alloc(test, &id);
	x->sel.family = AF_UNSPEC;
	KUNIT_ASSERT_EQ(test, espah_kunit_attach_aead(x, &gcm), 0);
	KUNIT_EXPECT_EQ(test, xfrm_init_state(x), -EINVAL);
}

static struct kunit_case espah_layout_cases[] = {
	KUNIT_CASE_PARAM(layout_mode_output_agrees, layout_gen_params),
	KUNIT_CASE_PARAM(layout_tunnel_header_len, tunnel_gen_params),
	KUNIT_CASE(layout_input_misplaced_header),
	KUNIT_CASE(layout_input_missing_udp),
	KUNIT_CASE(layout_beet_unspec_selector_refused),
	{}
};

static struct kunit_suite espah_layout_suite = {
	.name = "espah_layout",
	.test_cases = espah_layout_cases,
};

kunit_test_suite(espah_layout_suite);
