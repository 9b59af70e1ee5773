// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for whatever struct xfrm_type is registered for ESP
 * (IPPROTO_ESP, AF_INET and AF_INET6): espah, or the in-tree esp4/esp6.
 *
 * Only the public xfrm contract is used: an SA is built the way
 * xfrm_user.c builds one from "ip xfrm state add" (xfrm_state_alloc, the
 * algorithm descriptors looked up by name, xfrm_init_state), the packet is
 * handed to x->type->input() the way xfrm_input() does after
 * xfrm4_rcv_encap / xfrm6_rcv_spi / xfrm4_udp_encap_rcv have run, and the
 * result is checked against known-answer vectors (esp_vectors.h, generated
 * by scripts/gen-kunit-vectors.py) and against packets crafted here with
 * the kernel crypto API.
 *
 * Receive contract (net/xfrm/xfrm_input.c, net/ipv4/esp4.c esp_input):
 * skb->data at the ESP header, network header at the outer IP header,
 * transport header at the ESP header, the SA as the last entry of the
 * skb's sec_path, XFRM_SKB_CB(skb)->seq.input.{low,hi} in network order.
 * On success input() returns the next header (> 0) and skb->data/len
 * cover exactly the decrypted payload; -EBADMSG on an ICV mismatch.
 */

#include <kunit/test.h>
#include <kunit/resource.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/skbuff.h>
#include <linux/scatterlist.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/if_ether.h>
#include <linux/unaligned.h>
#include <linux/rtnetlink.h>
#include <crypto/aead.h>
#include <crypto/authenc.h>
#include <net/net_namespace.h>
#include <net/ip.h>
#include <net/xfrm.h>

#include "esp_vectors.h"
#include "espah_kunit_util.h"

#define ESP_HDR_LEN	8	/* SPI + sequence number */

/* ---------------------------------------------------------------------
 * SA setup and teardown
 */

static int espah_attach_enc(struct xfrm_state *x, const struct espah_kv_alg *a)
{
	struct xfrm_algo_desc *desc;
	struct xfrm_algo *p;

	desc = xfrm_ealg_get_byname(a->name, 1);
	if (!desc)
		return -ENOENT;
	p = kzalloc(sizeof(*p) + a->key_len, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	strscpy(p->alg_name, desc->name, sizeof(p->alg_name));
	p->alg_key_len = a->key_len * 8;
	if (a->key_len)
		memcpy(p->alg_key, a->key, a->key_len);
	x->ealg = p;
	x->geniv = desc->uinfo.encr.geniv;
	x->props.ealgo = desc->desc.sadb_alg_id;
	return 0;
}

static const char *espah_alg_names(const struct espah_esp_vector *v)
{
	return v->aead.name ?: v->enc.name;
}

/*
 * The AEAD an ESP type allocates for @x, as esp4/esp6 name it (espah does
 * the same): the IV generator around the AEAD, or around authenc[esn] of
 * the authentication (digest_null if none) and encryption algorithms.
 */
static void espah_sa_transform_name(const struct xfrm_state *x, char *name,
				    size_t size)
{
	size_t n = 0;

	if (x->geniv)
		n += scnprintf(name + n, size - n, "%s(", x->geniv);
	if (x->aead)
		n += scnprintf(name + n, size - n, "%s", x->aead->alg_name);
	else
		n += scnprintf(name + n, size - n, "%s(%s,%s)",
			       x->props.flags & XFRM_STATE_ESN ? "authencesn" : "authenc",
			       x->aalg ? x->aalg->alg_name : "digest_null",
			       x->ealg->alg_name);
	if (x->geniv)
		scnprintf(name + n, size - n, ")");
}

/*
 * Build and initialise an inbound ESP SA for @v.  Skips the test when the
 * kernel lacks an algorithm or the whole transform, fails it on any other
 * error: when espah is under test, an SA whose transform the crypto API
 * has must be accepted (-ENOENT or -EOPNOTSUPP from espah is a failure);
 * the in-tree types may refuse what they do not support.  The state is
 * released when the test ends.
 */
static struct xfrm_state *espah_state_new(struct kunit *test,
					  const struct espah_esp_vector *v)
{
	const struct espah_kunit_sa_id id = {
		.proto = IPPROTO_ESP, .family = v->family, .mode = v->mode,
		.esn = v->esn, .spi = v->spi, .seq_hi = v->seq_hi,
		.saddr = v->saddr, .daddr = v->daddr,
	};
	struct xfrm_state *x = espah_kunit_state_alloc(test, &id);
	int err;

	err = 0;
	if (v->aead.name)
		err = espah_kunit_attach_aead(x, &v->aead);
	if (!err && v->enc.name)
		err = espah_attach_enc(x, &v->enc);
	if (!err && v->auth.name)
		err = espah_kunit_attach_auth(x, &v->auth, true);
	if (err == -ENOENT)
		kunit_skip(test, "algorithm %s/%s not available in this kernel",
			   espah_alg_names(v), v->auth.name ?: "-");
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "building the SA algorithms");

	if (v->encap.type) {
		struct xfrm_encap_tmpl *e;

		e = kzalloc(sizeof(*e), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, e);
		e->encap_type = v->encap.type;
		e->encap_sport = htons(v->encap.sport);
		e->encap_dport = htons(v->encap.dport);
		x->encap = e;
	}

	err = xfrm_init_state(x);
	if (err == -ENOENT || err == -EOPNOTSUPP) {
		char name[CRYPTO_MAX_ALG_NAME];

		espah_sa_transform_name(x, name, sizeof(name));
		if (!crypto_has_aead(name, 0, 0))
			kunit_skip(test, "xfrm_init_state: %d: the crypto API has no %s",
				   err, name);
		if (!espah_kunit_impl_is_espah())
			kunit_skip(test, "%d: the in-tree ESP type refuses this SA (%s%s)",
				   err, name, v->encap.type ? ", UDP encapsulation" : "");
		KUNIT_ASSERT_EQ_MSG(test, err, 0,
				    "espah refused the SA although the crypto API has %s",
				    name);
	}
	KUNIT_ASSERT_EQ_MSG(test, err, 0,
			    "xfrm_init_state failed (is an ESP type registered for AF_INET%s?)",
			    v->family == 4 ? "" : "6");
	KUNIT_ASSERT_NOT_NULL(test, x->type);
	KUNIT_ASSERT_EQ(test, x->type->proto, IPPROTO_ESP);
	KUNIT_ASSERT_NOT_NULL(test, x->type->input);
	return x;
}

/* ---------------------------------------------------------------------
 * Packet helpers
 */

/*
 * Offset of the ESP header in the IP packet @pkt of @len bytes (outer
 * family @family), skipping IPv6 extension headers and, with @encap, the
 * UDP header of ESP-in-UDP.  -1 if malformed.
 */
static int espah_esp_offset(const u8 *pkt, unsigned int len, int family,
			    bool encap)
{
	int off;
	u8 nh;

	off = espah_kunit_l4_offset(pkt, len, family, &nh);
	if (off < 0 || nh != (encap ? IPPROTO_UDP : IPPROTO_ESP))
		return -1;
	if (encap)
		off += sizeof(struct udphdr);
	return off <= len ? off : -1;
}

/*
 * An skb as xfrm_input() hands it to x->type->input(): the first
 * @esp_off + @esp_len bytes of the packet on the wire @pkt (the ESP part
 * may be truncated), after xfrm4_udp_encap_rcv / xfrm6_udp_encap_rcv took
 * the UDP header out of the IP length for ESP-in-UDP.
 */
static struct sk_buff *espah_rx_skb(struct kunit *test, struct xfrm_state *x,
				    const u8 *pkt, unsigned int esp_off,
				    unsigned int esp_len, u32 seq, u32 seq_hi)
{
	struct sk_buff *skb = espah_kunit_rx_skb(test, x, pkt, esp_off, esp_len,
						 seq, seq_hi);

	if (!x->encap)
		return skb;
	if (x->props.family == AF_INET)
		ip_hdr(skb)->tot_len = htons(ntohs(ip_hdr(skb)->tot_len) -
					     sizeof(struct udphdr));
	else
		ipv6_hdr(skb)->payload_len =
			htons(ntohs(ipv6_hdr(skb)->payload_len) -
			      sizeof(struct udphdr));
	return skb;
}

/* Check that skb->data/len is exactly @data/@len. */
static void espah_expect_payload(struct kunit *test, struct sk_buff *skb,
				 const u8 *data, unsigned int len)
{
	u8 *buf;

	KUNIT_ASSERT_EQ_MSG(test, skb->len, len, "decrypted payload length");
	if (!len)
		return;
	buf = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, skb_copy_bits(skb, 0, buf, len), 0);
	KUNIT_EXPECT_MEMEQ_MSG(test, buf, data, len, "decrypted payload bytes");
}

/*
 * Decapsulate @pkt (whole IP packet, @pkt_len bytes) with @x; returns the
 * input() result and, if @skbp, the skb (caller frees) else frees it.
 */
static int espah_decap(struct kunit *test, struct xfrm_state *x,
		       const struct espah_esp_vector *v, const u8 *pkt,
		       unsigned int pkt_len, unsigned int esp_len,
		       struct sk_buff **skbp)
{
	struct sk_buff *skb;
	int off, ret;

	off = espah_esp_offset(pkt, pkt_len, v->family, v->encap.type);
	KUNIT_ASSERT_GE_MSG(test, off, 0, "cannot find the ESP header");
	KUNIT_ASSERT_LE(test, off + esp_len, pkt_len);
	skb = espah_rx_skb(test, x, pkt, off, esp_len, v->seq, v->seq_hi);
	ret = espah_kunit_input(test, x, skb);
	if (ret == -EINPROGRESS) {
		if (skbp)
			*skbp = NULL;
		return ret;
	}
	if (skbp)
		*skbp = skb;
	else
		kfree_skb(skb);
	return ret;
}

/* ---------------------------------------------------------------------
 * Known-answer vectors
 */

static void espah_vector_desc(const struct espah_esp_vector *v, char *desc)
{
	strscpy(desc, v->id, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(espah_esp_vectors, espah_esp_vectors, espah_vector_desc);
KUNIT_ARRAY_PARAM(espah_esp_negative, espah_esp_negative_vectors,
		  espah_vector_desc);

static unsigned int espah_esp_len(const struct espah_esp_vector *v)
{
	return v->expected_len - v->hdr_off;
}

/* Every vector decrypts to its plaintext with its next header. */
static void input_valid_vector(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	struct xfrm_state *x = espah_state_new(test, v);
	struct sk_buff *skb;
	int off, ret;

	off = espah_esp_offset(v->expected_packet, v->expected_len, v->family,
			       v->encap.type);
	KUNIT_ASSERT_EQ_MSG(test, off, (int)v->hdr_off,
			    "ESP header offset disagrees with the table");

	ret = espah_decap(test, x, v, v->expected_packet, v->expected_len,
			  espah_esp_len(v), &skb);
	if (ret == -EINPROGRESS)
		return;

	if (v->next_header == IPPROTO_NONE) {
		/* RFC 4303 2.6: dummy packets are discarded */
		KUNIT_EXPECT_LT_MSG(test, ret, 0,
				    "dummy packet (next header 59) must be dropped");
		goto out;
	}
	if (v->payload_len == 0 && ret < 0) {
		/*
		 * Only the trailer, no payload: esp4/esp6 reject this
		 * (padlen + 2 + alen >= elen), and so does espah on purpose;
		 * RFC 4303 does not forbid a payload of zero octets, so this
		 * is a refusal by choice, shown as such: a skip.
		 */
		kfree_skb(skb);
		kunit_skip(test, "empty payload rejected with %d, on purpose, as esp4/esp6 do",
			   ret);
	}
	KUNIT_ASSERT_EQ_MSG(test, ret, (int)v->next_header,
			    "input() must return the trailer's next header");
	espah_expect_payload(test, skb,
			     v->plaintext_packet + v->payload_off,
			     v->payload_len);
out:
	kfree_skb(skb);
}

/* The same packet with the last (ICV) byte flipped fails with -EBADMSG. */
static void input_icv_flipped(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	struct xfrm_state *x;
	u8 *pkt;
	int ret;

	if (!v->icv_bits)
		kunit_skip(test, "no ICV (null authentication)");
	x = espah_state_new(test, v);
	pkt = kunit_kmalloc(test, v->expected_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pkt);
	memcpy(pkt, v->expected_packet, v->expected_len);
	pkt[v->expected_len - 1] ^= 0x01;

	ret = espah_decap(test, x, v, pkt, v->expected_len, espah_esp_len(v),
			  NULL);
	KUNIT_EXPECT_EQ(test, ret, -EBADMSG);
}

/*
 * The same packet with the ESP part spread over the linear area and two
 * page fragments (split points inside the header, the IV/ciphertext and
 * the trailer/ICV): the result must be the same.
 */
static void input_nonlinear_vector(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	unsigned int esp_len = espah_esp_len(v), lin, f1, f2, i;
	const u8 *esp = v->expected_packet + v->hdr_off;
	struct xfrm_state *x = espah_state_new(test, v);
	static const unsigned int lin_split[] = { 4, 8, 13 };
	struct sk_buff *skb;
	struct page *pg;
	int ret;

	if (v->next_header == IPPROTO_NONE || !v->payload_len)
		kunit_skip(test, "no payload to compare");

	for (i = 0; i < ARRAY_SIZE(lin_split); i++) {
		lin = min(lin_split[i], esp_len);
		f1 = (esp_len - lin) / 2;
		f2 = esp_len - lin - f1;
		skb = espah_rx_skb(test, x, v->expected_packet, v->hdr_off,
				   lin, v->seq, v->seq_hi);
		if (f1) {
			pg = alloc_page(GFP_KERNEL);
			if (!pg) {
				kfree_skb(skb);
				KUNIT_ASSERT_NOT_NULL(test, pg);
			}
			memcpy(page_address(pg) + 100, esp + lin, f1);
			skb_add_rx_frag(skb, 0, pg, 100, f1, PAGE_SIZE);
		}
		if (f2) {
			pg = alloc_page(GFP_KERNEL);
			if (!pg) {
				kfree_skb(skb);
				KUNIT_ASSERT_NOT_NULL(test, pg);
			}
			memcpy(page_address(pg) + PAGE_SIZE - f2, esp + lin + f1,
			       f2);
			skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, pg,
					PAGE_SIZE - f2, f2, PAGE_SIZE);
		}
		ret = espah_kunit_input(test, x, skb);
		if (ret == -EINPROGRESS)
			return;
		KUNIT_EXPECT_EQ_MSG(test, ret, (int)v->next_header,
				    "linear %u, frags %u + %u", lin, f1, f2);
		if (ret == v->next_header)
			espah_expect_payload(test, skb,
					     v->plaintext_packet + v->payload_off,
					     v->payload_len);
		kfree_skb(skb);
	}
}

/*
 * A cloned skb (e.g. one a packet socket also holds) decrypts the same,
 * and the data the other clone sees is not modified.
 */
static void input_cloned_vector(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	struct xfrm_state *x = espah_state_new(test, v);
	unsigned int esp_len = espah_esp_len(v);
	struct sk_buff *skb, *clone;
	u8 *buf;
	int ret;

	if (v->next_header == IPPROTO_NONE || !v->payload_len)
		kunit_skip(test, "no payload to compare");
	skb = espah_rx_skb(test, x, v->expected_packet, v->hdr_off, esp_len,
			   v->seq, v->seq_hi);
	clone = skb_clone(skb, GFP_KERNEL);
	if (!clone) {
		kfree_skb(skb);
		KUNIT_ASSERT_NOT_NULL(test, clone);
	}
	ret = espah_kunit_input(test, x, clone);
	if (ret == -EINPROGRESS) {
		kfree_skb(skb);
		return;
	}
	KUNIT_EXPECT_EQ(test, ret, (int)v->next_header);
	if (ret == v->next_header)
		espah_expect_payload(test, clone,
				     v->plaintext_packet + v->payload_off,
				     v->payload_len);
	kfree_skb(clone);

	buf = kunit_kmalloc(test, esp_len, GFP_KERNEL);
	if (buf) {
		KUNIT_EXPECT_EQ(test, skb->len, esp_len);
		if (skb->len == esp_len &&
		    !skb_copy_bits(skb, 0, buf, esp_len))
			KUNIT_EXPECT_MEMEQ_MSG(test, buf,
					       v->expected_packet + v->hdr_off,
					       esp_len,
					       "the other clone's data changed");
	}
	kfree_skb(skb);
}

/*
 * A packet tap's clone keeps sharing the page frags after the stack gives
 * our skb a private head, so skb_cloned() is false while the frags are
 * shared (and skb_has_shared_frag() does not flag it). Decryption must not
 * write into them: the tap would see plaintext inside an ESP frame.
 */
static void input_tap_shared_frags(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	unsigned int esp_len = espah_esp_len(v), lin = min(8U, esp_len);
	const u8 *esp = v->expected_packet + v->hdr_off;
	struct xfrm_state *x = espah_state_new(test, v);
	struct sk_buff *skb, *tap;
	struct page *pg;
	u8 *seen;
	int ret;

	if (v->next_header == IPPROTO_NONE || !v->payload_len)
		kunit_skip(test, "no payload to compare");
	skb = espah_rx_skb(test, x, v->expected_packet, v->hdr_off, lin,
			   v->seq, v->seq_hi);
	pg = alloc_page(GFP_KERNEL);
	if (!pg) {
		kfree_skb(skb);
		KUNIT_ASSERT_NOT_NULL(test, pg);
	}
	memcpy(page_address(pg), esp + lin, esp_len - lin);
	skb_add_rx_frag(skb, 0, pg, 0, esp_len - lin, PAGE_SIZE);

	tap = skb_clone(skb, GFP_KERNEL);
	if (!tap || pskb_expand_head(skb, 0, 0, GFP_KERNEL)) {
		kfree_skb(tap);
		kfree_skb(skb);
		KUNIT_FAIL(test, "cannot set up the tap's clone");
		return;
	}
	KUNIT_EXPECT_FALSE(test, skb_cloned(skb));
	KUNIT_EXPECT_FALSE(test, skb_has_shared_frag(skb));

	ret = espah_kunit_input(test, x, skb);
	if (ret != -EINPROGRESS) {
		KUNIT_EXPECT_EQ(test, ret, (int)v->next_header);
		kfree_skb(skb);
	}
	seen = kunit_kmalloc(test, esp_len, GFP_KERNEL);
	if (seen && !skb_copy_bits(tap, 0, seen, esp_len))
		KUNIT_EXPECT_MEMEQ_MSG(test, seen, esp, esp_len,
				       "the tap's copy of the frags changed (plaintext leaked)");
	kfree_skb(tap);
}

/*
 * Every truncation of the ESP part (0 .. len - 1 octets after the ESP
 * header start) fails with a negative errno, without crashing.  Without an
 * ICV a truncated packet may decrypt to garbage, so there only the absence
 * of crashes (and KASAN reports) is checked.
 */
static void input_truncated(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	unsigned int n, len = espah_esp_len(v), accepted = 0;
	struct xfrm_state *x = espah_state_new(test, v);
	struct sk_buff *skb;
	int ret;

	for (n = 0; n < len; n++) {
		skb = espah_rx_skb(test, x, v->expected_packet, v->hdr_off, n,
				   v->seq, v->seq_hi);
		ret = espah_kunit_input(test, x, skb);
		if (ret == -EINPROGRESS)
			return;
		kfree_skb(skb);
		if (ret >= 0)
			accepted++;
		if (v->icv_bits)
			KUNIT_EXPECT_LT_MSG(test, ret, 0,
					    "truncated to %u of %u ESP octets: accepted",
					    n, len);
	}
	if (!v->icv_bits)
		kunit_info(test, "no ICV: %u of %u truncations decrypted to something",
			   accepted, len);
}

/*
 * header_len/trailer_len are part of the type's contract with the output
 * path (headroom, MTU): expect the values esp4/esp6 give.
 */
static void init_state_header_len(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	struct xfrm_state *x = espah_state_new(test, v);
	unsigned int hlen = ESP_HDR_LEN + v->iv_len;

	if (v->mode == XFRM_MODE_TUNNEL)
		hlen += v->family == 4 ? sizeof(struct iphdr) :
					 sizeof(struct ipv6hdr);
	if (v->encap.type)
		hlen += sizeof(struct udphdr);
	KUNIT_EXPECT_EQ(test, x->props.header_len, hlen);
	/* at least pad length + next header + ICV */
	KUNIT_EXPECT_GE(test, x->props.trailer_len, 2 + v->icv_bits / 8);
}

/* Corrupted packets from vectors_negative.json fail the ICV check. */
static void input_negative_vector(struct kunit *test)
{
	const struct espah_esp_vector *v = test->param_value;
	struct xfrm_state *x = espah_state_new(test, v);
	int ret;

	ret = espah_decap(test, x, v, v->expected_packet, v->expected_len,
			  espah_esp_len(v), NULL);
	KUNIT_EXPECT_EQ(test, ret, -EBADMSG);
}

/* ---------------------------------------------------------------------
 * Crafted packets: trailer edge cases
 */

/* rfc4106(gcm(aes)), 128-bit key + 4-byte salt, transport mode, IPv4 */
static const u8 espah_craft_gcm_key[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0xca, 0xfe, 0xba, 0xbe,
};

/* authenc(hmac(sha256),cbc(aes)): AES-128 and HMAC-SHA256 keys */
static const u8 espah_craft_aes_key[] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static const u8 espah_craft_hmac_key[] = {
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
	0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
};

static const u8 espah_craft_iv[16] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};

static const struct espah_esp_vector espah_craft_gcm_sa = {
	.id = "crafted-rfc4106-transport-ipv4",
	.family = 4, .inner_family = 4, .mode = XFRM_MODE_TRANSPORT,
	.spi = 0x00001234, .seq = 7,
	.saddr = { 192, 0, 2, 1 }, .daddr = { 192, 0, 2, 2 },
	.aead = { .name = "rfc4106(gcm(aes))", .key = espah_craft_gcm_key,
		  .key_len = sizeof(espah_craft_gcm_key), .bits = 128 },
	.icv_bits = 128, .iv_len = 8,
};

static const struct espah_esp_vector espah_craft_gcm_esn_sa = {
	.id = "crafted-rfc4106-esn-transport-ipv4",
	.family = 4, .inner_family = 4, .mode = XFRM_MODE_TRANSPORT,
	.spi = 0x00001235, .seq = 0xfffffff0, .seq_hi = 0x00000003,
	.esn = true,
	.saddr = { 192, 0, 2, 1 }, .daddr = { 192, 0, 2, 2 },
	.aead = { .name = "rfc4106(gcm(aes))", .key = espah_craft_gcm_key,
		  .key_len = sizeof(espah_craft_gcm_key), .bits = 128 },
	.icv_bits = 128, .iv_len = 8,
};

static const struct espah_esp_vector espah_craft_cbc_sa = {
	.id = "crafted-cbc-aes-hmac-sha256-transport-ipv4",
	.family = 4, .inner_family = 4, .mode = XFRM_MODE_TRANSPORT,
	.spi = 0x00001236, .seq = 9,
	.saddr = { 192, 0, 2, 1 }, .daddr = { 192, 0, 2, 2 },
	.enc = { .name = "cbc(aes)", .key = espah_craft_aes_key,
		 .key_len = sizeof(espah_craft_aes_key) },
	.auth = { .name = "hmac(sha256)", .key = espah_craft_hmac_key,
		  .key_len = sizeof(espah_craft_hmac_key), .bits = 128 },
	.icv_bits = 128, .iv_len = 16,
};

/* What goes inside the encryption: payload || pad || pad length || nh */
struct espah_craft {
	const u8 *payload;
	unsigned int payload_len;
	const u8 *pad;			/* NULL: RFC 4303 default 1, 2, 3, ... */
	unsigned int pad_bytes;		/* pad octets actually present */
	u8 pad_len;			/* value of the pad length field */
	u8 next_header;
};

static struct crypto_aead *espah_craft_tfm(struct kunit *test,
					   const struct espah_esp_vector *sa)
{
	struct crypto_aead *tfm;
	int err;

	if (sa->aead.name) {
		tfm = crypto_alloc_aead(sa->aead.name, 0, 0);
		if (IS_ERR(tfm))
			kunit_skip(test, "%s: %ld", sa->aead.name, PTR_ERR(tfm));
		err = crypto_aead_setkey(tfm, sa->aead.key, sa->aead.key_len);
		if (!err)
			err = crypto_aead_setauthsize(tfm, sa->aead.bits / 8);
	} else {
		char name[CRYPTO_MAX_ALG_NAME];
		struct crypto_authenc_key_param *param;
		struct rtattr *rta;
		unsigned int klen;
		u8 *key;

		snprintf(name, sizeof(name), "authenc(%s,%s)", sa->auth.name,
			 sa->enc.name);
		tfm = crypto_alloc_aead(name, 0, 0);
		if (IS_ERR(tfm))
			kunit_skip(test, "%s: %ld", name, PTR_ERR(tfm));
		/* the authenc key blob, as esp_init_authenc builds it */
		klen = RTA_SPACE(sizeof(*param)) + sa->auth.key_len +
		       sa->enc.key_len;
		key = kunit_kzalloc(test, klen, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, key);
		rta = (struct rtattr *)key;
		rta->rta_type = CRYPTO_AUTHENC_KEYA_PARAM;
		rta->rta_len = RTA_LENGTH(sizeof(*param));
		param = RTA_DATA(rta);
		param->enckeylen = cpu_to_be32(sa->enc.key_len);
		memcpy(key + RTA_SPACE(sizeof(*param)), sa->auth.key,
		       sa->auth.key_len);
		memcpy(key + RTA_SPACE(sizeof(*param)) + sa->auth.key_len,
		       sa->enc.key, sa->enc.key_len);
		err = crypto_aead_setkey(tfm, key, klen);
		if (!err)
			err = crypto_aead_setauthsize(tfm, sa->auth.bits / 8);
	}
	if (err) {
		crypto_free_aead(tfm);
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "crafting tfm setup");
	}
	return tfm;
}

/*
 * Build a whole IPv4 ESP packet for @sa around @c, encrypted with the
 * kernel crypto API directly (no geniv: the IV is chosen here).
 *
 * AEAD (RFC 4106): the rfc4106 template wants assoclen = AAD + 8 octets of
 * IV, with the IV also in the buffer right after the AAD and in req->iv;
 * the AAD is SPI || seq (8), or SPI || seq_hi || seq (12) with ESN
 * (RFC 4106 5; this is what esp_input builds through seqiv).
 * authenc (RFC 4303 + 2104): the ICV covers SPI || seq || IV || ciphertext,
 * i.e. assoclen = 8 + ivlen, cipher IV in req->iv.
 */
static u8 *craft_esp_aead_packet(struct kunit *test,
				 const struct espah_esp_vector *sa,
				 const struct espah_craft *c,
				 unsigned int *pkt_len)
{
	unsigned int ivlen = sa->iv_len, icvlen = sa->icv_bits / 8;
	unsigned int aadlen = sa->aead.name && sa->esn ? 12 : 8;
	unsigned int ptlen = c->payload_len + c->pad_bytes + 2;
	unsigned int buflen = aadlen + ivlen + ptlen + icvlen;
	unsigned int hl = sizeof(struct iphdr), i;
	struct aead_request *req;
	struct crypto_aead *tfm;
	struct scatterlist sg;
	DECLARE_CRYPTO_WAIT(wait);
	u8 *buf, *pt, *pkt, *p;
	struct iphdr *iph;
	u8 iv[16];
	int err;

	tfm = espah_craft_tfm(test, sa);
	KUNIT_ASSERT_EQ(test, crypto_aead_ivsize(tfm), ivlen);

	buf = kunit_kzalloc(test, buflen, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	p = buf;
	put_unaligned_be32(sa->spi, p);
	p += 4;
	if (aadlen == 12) {
		put_unaligned_be32(sa->seq_hi, p);
		p += 4;
	}
	put_unaligned_be32(sa->seq, p);
	p += 4;
	memcpy(p, espah_craft_iv, ivlen);
	p += ivlen;
	pt = p;
	if (c->payload_len)
		memcpy(p, c->payload, c->payload_len);
	p += c->payload_len;
	for (i = 0; i < c->pad_bytes; i++)
		*p++ = c->pad ? c->pad[i] : i + 1;
	*p++ = c->pad_len;
	*p++ = c->next_header;

	req = aead_request_alloc(tfm, GFP_KERNEL);
	if (!req) {
		crypto_free_aead(tfm);
		KUNIT_ASSERT_NOT_NULL(test, req);
	}
	memcpy(iv, espah_craft_iv, ivlen);
	sg_init_one(&sg, buf, buflen);
	aead_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				  crypto_req_done, &wait);
	aead_request_set_crypt(req, &sg, &sg, ptlen, iv);
	aead_request_set_ad(req, aadlen + ivlen);
	err = crypto_wait_req(crypto_aead_encrypt(req), &wait);
	aead_request_free(req);
	crypto_free_aead(tfm);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "crafting: encrypt");

	/* IPv4 header || SPI || seq || IV || ciphertext || ICV */
	*pkt_len = hl + ESP_HDR_LEN + ivlen + ptlen + icvlen;
	pkt = kunit_kzalloc(test, *pkt_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pkt);
	iph = (struct iphdr *)pkt;
	iph->version = 4;
	iph->ihl = hl / 4;
	iph->tot_len = htons(*pkt_len);
	iph->ttl = 64;
	iph->protocol = IPPROTO_ESP;
	memcpy(&iph->saddr, sa->saddr, 4);
	memcpy(&iph->daddr, sa->daddr, 4);
	iph->check = ip_fast_csum(iph, iph->ihl);
	p = pkt + hl;
	put_unaligned_be32(sa->spi, p);
	put_unaligned_be32(sa->seq, p + 4);
	memcpy(p + ESP_HDR_LEN, espah_craft_iv, ivlen);
	memcpy(p + ESP_HDR_LEN + ivlen, pt, ptlen + icvlen);
	return pkt;
}

static u8 *espah_craft_payload(struct kunit *test, unsigned int len)
{
	u8 *p = kunit_kmalloc(test, len ?: 1, GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, p);
	for (i = 0; i < len; i++)
		p[i] = 0x40 + i;
	return p;
}

/* Craft, decapsulate, return input()'s result; on success check payload. */
static int espah_craft_run(struct kunit *test,
			   const struct espah_esp_vector *sa,
			   const struct espah_craft *c)
{
	struct xfrm_state *x = espah_state_new(test, sa);
	unsigned int len, esp_len;
	struct sk_buff *skb;
	u8 *pkt;
	int ret;

	pkt = craft_esp_aead_packet(test, sa, c, &len);
	esp_len = len - sizeof(struct iphdr);
	ret = espah_decap(test, x, sa, pkt, len, esp_len, &skb);
	if (ret == -EINPROGRESS)
		return ret;
	if (ret >= 0 && ret == c->next_header)
		espah_expect_payload(test, skb, c->payload, c->payload_len);
	kfree_skb(skb);
	return ret;
}

static void espah_expect_accepted(struct kunit *test,
				  const struct espah_esp_vector *sa,
				  unsigned int payload_len,
				  const u8 *pad, unsigned int pad_bytes)
{
	struct espah_craft c = {
		.payload = espah_craft_payload(test, payload_len),
		.payload_len = payload_len,
		.pad = pad,
		.pad_bytes = pad_bytes,
		.pad_len = pad_bytes,
		.next_header = IPPROTO_UDP,
	};

	KUNIT_EXPECT_EQ(test, espah_craft_run(test, sa, &c), IPPROTO_UDP);
}

static void input_gcm_pad_len_0(struct kunit *test)
{
	/* 10 + 0 + 2 = 12: 4-octet aligned without padding */
	espah_expect_accepted(test, &espah_craft_gcm_sa, 10, NULL, 0);
}

static void input_gcm_pad_len_255(struct kunit *test)
{
	/* 3 + 255 + 2 = 260 */
	espah_expect_accepted(test, &espah_craft_gcm_sa, 3, NULL, 255);
}

static void input_gcm_pad_nonmonotonic(struct kunit *test)
{
	static const u8 pad[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0xff };

	/*
	 * RFC 4303 2.4 default padding is 1, 2, 3, ...; Linux does not check
	 * the pad contents and neither may the type under test (interop).
	 */
	espah_expect_accepted(test, &espah_craft_gcm_sa, 8, pad, sizeof(pad));
}

static void input_gcm_pad_len_exceeds_payload(struct kunit *test)
{
	struct espah_craft c = {
		.payload = espah_craft_payload(test, 6),
		.payload_len = 6,
		.pad_bytes = 0,
		.next_header = IPPROTO_UDP,
	};
	static const u8 bad[] = { 7, 8, 9, 50, 255 };
	unsigned int i;

	/* 6 octets before the trailer; a pad length >= 7 reaches past them */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		c.pad_len = bad[i];
		KUNIT_EXPECT_LT_MSG(test, espah_craft_run(test,
							  &espah_craft_gcm_sa,
							  &c), 0,
				    "pad length %u with 6 payload octets",
				    bad[i]);
	}
}

static void input_gcm_next_header_none(struct kunit *test)
{
	struct espah_craft c = {
		.payload = espah_craft_payload(test, 10),
		.payload_len = 10,
		.next_header = IPPROTO_NONE,
	};

	/* RFC 4303 2.6: a dummy packet is silently discarded */
	KUNIT_EXPECT_LT(test, espah_craft_run(test, &espah_craft_gcm_sa, &c),
			0);
}

static void input_gcm_next_header_any(struct kunit *test)
{
	static const u8 nhs[] = { IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_IPV6,
				  IPPROTO_ICMPV6, 143, 253, 255 };
	struct espah_craft c = {
		.payload = espah_craft_payload(test, 22),
		.payload_len = 22,
	};
	unsigned int i;

	/* the next header is returned as is, whatever it is */
	for (i = 0; i < ARRAY_SIZE(nhs); i++) {
		c.next_header = nhs[i];
		KUNIT_EXPECT_EQ(test, espah_craft_run(test, &espah_craft_gcm_sa,
						      &c), (int)nhs[i]);
	}
}

static void input_gcm_truncated(struct kunit *test)
{
	const struct espah_esp_vector *sa = &espah_craft_gcm_sa;
	struct espah_craft c = {
		.payload = espah_craft_payload(test, 33),
		.payload_len = 33,
		.pad_bytes = 1,
		.pad_len = 1,
		.next_header = IPPROTO_UDP,
	};
	struct xfrm_state *x = espah_state_new(test, sa);
	unsigned int len, n, hl = sizeof(struct iphdr);
	struct sk_buff *skb;
	u8 *pkt;
	int ret;

	pkt = craft_esp_aead_packet(test, sa, &c, &len);
	for (n = 0; n < len - hl; n++) {
		skb = espah_rx_skb(test, x, pkt, hl, n, sa->seq, sa->seq_hi);
		ret = espah_kunit_input(test, x, skb);
		if (ret == -EINPROGRESS)
			return;
		kfree_skb(skb);
		KUNIT_EXPECT_LT_MSG(test, ret, 0, "truncated to %u octets", n);
	}
	/* and the whole packet is fine */
	skb = espah_rx_skb(test, x, pkt, hl, len - hl, sa->seq, sa->seq_hi);
	ret = espah_kunit_input(test, x, skb);
	if (ret == -EINPROGRESS)
		return;
	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, ret, IPPROTO_UDP);
}

static void input_gcm_esn_accepted(struct kunit *test)
{
	espah_expect_accepted(test, &espah_craft_gcm_esn_sa, 18, NULL, 2);
}

/* The high sequence bits are authenticated: a wrong seq_hi fails the ICV. */
static void input_gcm_esn_wrong_seq_hi(struct kunit *test)
{
	const struct espah_esp_vector *sa = &espah_craft_gcm_esn_sa;
	struct espah_craft c = {
		.payload = espah_craft_payload(test, 18),
		.payload_len = 18,
		.pad_bytes = 2,
		.pad_len = 2,
		.next_header = IPPROTO_UDP,
	};
	struct xfrm_state *x = espah_state_new(test, sa);
	unsigned int len, hl = sizeof(struct iphdr);
	struct sk_buff *skb;
	u8 *pkt;
	int ret;

	pkt = craft_esp_aead_packet(test, sa, &c, &len);
	skb = espah_rx_skb(test, x, pkt, hl, len - hl, sa->seq,
			   sa->seq_hi + 1);
	ret = espah_kunit_input(test, x, skb);
	if (ret == -EINPROGRESS)
		return;
	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, ret, -EBADMSG);
}

static void input_cbc_hmac_pad_len_0(struct kunit *test)
{
	/* 14 + 0 + 2 = 16: one AES block */
	espah_expect_accepted(test, &espah_craft_cbc_sa, 14, NULL, 0);
}

static void input_cbc_hmac_pad_len_255(struct kunit *test)
{
	/* 15 + 255 + 2 = 272 = 17 blocks */
	espah_expect_accepted(test, &espah_craft_cbc_sa, 15, NULL, 255);
}

static void input_cbc_hmac_pad_nonmonotonic(struct kunit *test)
{
	static const u8 pad[] = { 0x55, 0x01, 0x00, 0x99, 0xff, 0x10 };

	/* 8 + 6 + 2 = 16 */
	espah_expect_accepted(test, &espah_craft_cbc_sa, 8, pad, sizeof(pad));
}

static void input_cbc_hmac_pad_len_exceeds_payload(struct kunit *test)
{
	struct espah_craft c = {
		.payload = espah_craft_payload(test, 14),
		.payload_len = 14,
		.next_header = IPPROTO_UDP,
	};
	static const u8 bad[] = { 15, 16, 100, 255 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		c.pad_len = bad[i];
		KUNIT_EXPECT_LT_MSG(test, espah_craft_run(test,
							  &espah_craft_cbc_sa,
							  &c), 0,
				    "pad length %u with 14 payload octets",
				    bad[i]);
	}
}

static void input_cbc_hmac_next_header_none(struct kunit *test)
{
	struct espah_craft c = {
		.payload = espah_craft_payload(test, 14),
		.payload_len = 14,
		.next_header = IPPROTO_NONE,
	};

	KUNIT_EXPECT_LT(test, espah_craft_run(test, &espah_craft_cbc_sa, &c),
			0);
}

static void espah_suite_exit(struct kunit_suite *suite)
{
	/* let the xfrm state GC run, so kmemleak sees the states freed */
	xfrm_flush_gc();
}

static struct kunit_case espah_esp_vectors_cases[] = {
	KUNIT_CASE_PARAM(input_valid_vector, espah_esp_vectors_gen_params),
	KUNIT_CASE_PARAM(input_icv_flipped, espah_esp_vectors_gen_params),
	KUNIT_CASE_PARAM(input_nonlinear_vector, espah_esp_vectors_gen_params),
	KUNIT_CASE_PARAM(input_cloned_vector, espah_esp_vectors_gen_params),
	KUNIT_CASE_PARAM(input_tap_shared_frags, espah_esp_vectors_gen_params),
	KUNIT_CASE_PARAM(init_state_header_len, espah_esp_vectors_gen_params),
	{}
};

static struct kunit_suite espah_esp_vectors_suite = {
	.name = "espah_esp_vectors",
	.suite_exit = espah_suite_exit,
	.test_cases = espah_esp_vectors_cases,
};

static struct kunit_case espah_esp_negative_cases[] = {
	KUNIT_CASE_PARAM(input_negative_vector, espah_esp_negative_gen_params),
	{}
};

static struct kunit_suite espah_esp_negative_suite = {
	.name = "espah_esp_negative",
	.suite_exit = espah_suite_exit,
	.test_cases = espah_esp_negative_cases,
};

static struct kunit_case espah_esp_truncation_cases[] = {
	KUNIT_CASE_PARAM(input_truncated, espah_esp_vectors_gen_params),
	KUNIT_CASE(input_gcm_truncated),
	{}
};

static struct kunit_suite espah_esp_truncation_suite = {
	.name = "espah_esp_truncation",
	.suite_exit = espah_suite_exit,
	.test_cases = espah_esp_truncation_cases,
};

static struct kunit_case espah_esp_trailer_cases[] = {
	KUNIT_CASE(input_gcm_pad_len_0),
	KUNIT_CASE(input_gcm_pad_len_255),
	KUNIT_CASE(input_gcm_pad_nonmonotonic),
	KUNIT_CASE(input_gcm_pad_len_exceeds_payload),
	KUNIT_CASE(input_gcm_next_header_none),
	KUNIT_CASE(input_gcm_next_header_any),
	KUNIT_CASE(input_gcm_esn_accepted),
	KUNIT_CASE(input_gcm_esn_wrong_seq_hi),
	KUNIT_CASE(input_cbc_hmac_pad_len_0),
	KUNIT_CASE(input_cbc_hmac_pad_len_255),
	KUNIT_CASE(input_cbc_hmac_pad_nonmonotonic),
	KUNIT_CASE(input_cbc_hmac_pad_len_exceeds_payload),
	KUNIT_CASE(input_cbc_hmac_next_header_none),
	{}
};

static struct kunit_suite espah_esp_trailer_suite = {
	.name = "espah_esp_trailer",
	.suite_exit = espah_suite_exit,
	.test_cases = espah_esp_trailer_cases,
};

kunit_test_suites(&espah_esp_vectors_suite, &espah_esp_negative_suite,
		  &espah_esp_truncation_suite, &espah_esp_trailer_suite);

MODULE_DESCRIPTION("KUnit known-answer tests for the registered ESP xfrm type");
MODULE_LICENSE("GPL");
