// SPDX-License-Identifier: GPL-2.0
/*
 * Mutations of the headers around ESP and AH: IPv4 options and IPv6
 * extension headers (before sealing: AH covers them), the bytes of the
 * sealed packet (truncations, bit flips, lengths, the IP header), and the
 * UDP encapsulation of RFC 3948 with what the kernel's
 * xfrm4/6_udp_encap_rcv() make of it.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "mutate.h"

/* ------------------------------------------------------ outer headers */

/* IPv4 options every receiver takes; AH keeps or zeroes them (A.1). */
/* @used: timestamps, record route and source route may come once each. */
static unsigned int v4_option(struct gen *g, u8 *o, unsigned int room,
			      unsigned int *used)
{
	unsigned int k = rng_below(&g->r, 7), n, i;

	if (k >= 3 && (*used & (1u << MIN(k, 5u))))
		k = 0;
	*used |= 1u << MIN(k, 5u);

	switch (k) {
	case 0:		/* no-op */
		o[0] = 1;
		return 1;
	case 1:		/* router alert: immutable */
		if (room < 4)
			return 0;
		memcpy(o, "\x94\x04\x00\x00", 4);
		return 4;
	case 2:		/* security (RFC 1108 basic): immutable */
		if (room < 11)
			return 0;
		memcpy(o, "\x82\x0b\xab\xcd\x00\x00\x00\x00\x00\x00\x00", 11);
		return 11;
	case 3:		/* timestamps only, room for n, mutable */
		n = 1 + rng_below(&g->r, 3);
		if (room < 4 + 4 * n)
			return 0;
		o[0] = 0x44;
		o[1] = 4 + 4 * n;
		o[2] = 5;
		o[3] = 0;
		memset(o + 4, 0, 4 * n);
		return 4 + 4 * n;
	case 4:		/* record route with room for n, mutable */
		n = 1 + rng_below(&g->r, 3);
		if (room < 3 + 4 * n)
			return 0;
		o[0] = 7;
		o[1] = 3 + 4 * n;
		o[2] = 4;
		memset(o + 3, 0, 4 * n);
		return 3 + 4 * n;
	case 5:		/* loose source route, already done: mutable */
	case 6:		/* strict */
		n = 1 + rng_below(&g->r, 2);
		if (room < 3 + 4 * n)
			return 0;
		o[0] = k == 5 ? 0x83 : 0x89;
		o[1] = 3 + 4 * n;
		o[2] = 4 + 4 * n;
		for (i = 0; i < n; i++)
			memcpy(o + 3 + 4 * i, "\x0a\x4d\x00\x01", 4);
		return 3 + 4 * n;
	}
	return 0;
}

static void pad_v4_options(struct spec *s, unsigned int len)
{
	while (len % 4)
		s->ip_opts[len++] = 0;		/* end of options */
	s->ip_opts_len = len;
}

void m_ip4_options(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int len = 0, n = 1 + rng_below(&g->r, 4), i, k, used = 0;

	for (i = 0; i < n; i++) {
		k = v4_option(g, s->ip_opts + len, 40 - len, &used);
		len += k;
	}
	if (!len)
		s->ip_opts[len++] = 1;
	pad_v4_options(s, len);
	snprintf(p->detail, sizeof(p->detail), "%u bytes", s->ip_opts_len);
}

/* Malformed option lists; some only AH's own parser sees. */
void m_ip4_options_bad(struct gen *g, struct spec *s, struct pkt *p)
{
	static const u8 bad[][8] = {
		{ 0x94, 0x00 },				/* length 0 */
		{ 0x94, 0x01 },				/* length 1 */
		{ 0x94, 0x28 },				/* past the header */
		{ 0x44, 0x08, 0x03, 0x00 },		/* timestamp ptr < 5 */
		{ 0x07, 0x07, 0x02 },			/* record route ptr < 4 */
		{ 0x83, 0x03, 0x04 },			/* empty source route */
		{ 0x83, 0x08, 0x09, 10, 77, 0, 2, 0 },	/* done, length % 4 */
		{ 0x01, 0x01, 0x01, 0x94 },		/* option cut at the end */
		{ 0x9e, 0x04, 0xff, 0xff },		/* unknown, copied */
		{ 0x1f, 0x02 },				/* unknown, 2 bytes */
		{ 0x86, 0x06, 0, 0, 0, 1 },		/* CIPSO, bad DOI */
		{ 0x94, 0x04, 0x12, 0x34 },		/* router alert, value */
	};
	unsigned int i = sweep(g, 7, ARRAY_SIZE(bad));

	memcpy(s->ip_opts, bad[i], 8);
	s->ip_opts_len = 8;
	muta(p, E_ANY);
	snprintf(p->detail, sizeof(p->detail), "list %u", i);
}

/* Appends an extension header of @len bytes (a multiple of 8). */
static u8 *ext_add(struct spec *s, u8 type, unsigned int len)
{
	u8 *h = s->ext + s->ext_len;

	if (!s->ext_len)
		s->ext_nh = type;
	else
		s->ext[s->ext_last] = type;
	memset(h, 0, len);
	h[1] = type == IPPROTO_FRAGMENT ? 0 : len / 8 - 1;
	s->ext_last = s->ext_len;
	s->ext_len += len;
	return h;
}

/*
 * Hop-by-hop or destination options: one to three 4-byte options
 * (unknown and skipped, unknown and "may change en route", or a router
 * alert), then Pad1 or PadN: at most 7 bytes of padding, zeros (Linux
 * refuses more, RFC 4942 2.1.9.5).
 */
static void ext_options(struct gen *g, struct spec *s, u8 type)
{
	unsigned int k = 1 + rng_below(&g->r, 3), pad = (8 - (2 + 4 * k) % 8) % 8;
	unsigned int len = 2 + 4 * k + pad, off = 2, i;
	u8 *h = ext_add(s, type, len);

	for (i = 0; i < k; i++, off += 4) {
		switch (rng_below(&g->r, 3)) {
		case 0:
			h[off] = 0x1e;			/* skip, immutable */
			break;
		case 1:
			h[off] = 0x3e;			/* skip, may change */
			g->mutable_off = s->ext_len - len + off + 2;
			g->mutable_len = 2;
			break;
		default:
			h[off] = type == IPPROTO_HOPOPTS ? 5 : 0x1e;
			break;
		}
		h[off + 1] = 2;
		h[off + 2] = h[off] == 5 ? 0 : 0xab;
		h[off + 3] = h[off] == 5 ? 0 : 0xcd;
	}
	if (pad == 1) {
		h[off] = 0;				/* Pad1 */
	} else if (pad) {
		h[off] = 1;				/* PadN */
		h[off + 1] = pad - 2;
	}
}

/*
 * A routing header with no segment left: passed by (type 2, Mobile IPv6's,
 * is discarded unless MIP6 processed it: a malformed case).
 */
static void ext_routing(struct gen *g, struct spec *s)
{
	static const u8 types[] = { 0, 253 };
	u8 *h = ext_add(s, IPPROTO_ROUTING, 24);

	h[2] = types[rng_below(&g->r, ARRAY_SIZE(types))];
	h[3] = 0;
	h[8] = 0xfd;
	h[9] = 0x77;
	h[23] = 9;
}

void m_ip6_exthdrs(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int k = sweep(g, 8, 6);

	g->mutable_len = 0;
	if (k & 1)
		ext_options(g, s, IPPROTO_HOPOPTS);
	if (k >= 2)
		ext_options(g, s, IPPROTO_DSTOPTS);
	if (k >= 3)
		ext_routing(g, s);
	if (k >= 4)
		ext_options(g, s, IPPROTO_DSTOPTS);
	if (!s->ext_len)
		ext_options(g, s, IPPROTO_DSTOPTS);
	snprintf(p->detail, sizeof(p->detail), "chain %u, %u bytes", k,
		 s->ext_len);
}

/* After sealing: an option that may change en route did; still valid. */
void m_ip6_exthdrs_post(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int off = p->lay.ip + IP6_HLEN + g->mutable_off;

	if (!g->mutable_len || !rng_chance(&g->r, 50))
		return;
	p->frame[off] ^= 0xa5;
	strncat(p->detail, ", en route", sizeof(p->detail) - strlen(p->detail) - 1);
}

void m_ip6_exthdrs_bad(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int k = sweep(g, 9, 10);
	u8 *h;

	muta(p, E_ANY);
	snprintf(p->detail, sizeof(p->detail), "case %u", k);
	switch (k) {
	case 0:		/* hop-by-hop after destination options */
		ext_options(g, s, IPPROTO_DSTOPTS);
		ext_options(g, s, IPPROTO_HOPOPTS);
		break;
	case 1:		/* option running past its header */
		h = ext_add(s, IPPROTO_DSTOPTS, 8);
		h[2] = 0x1e;
		h[3] = 20;
		break;
	case 2:		/* unknown option: discard */
	case 3:		/* discard and ICMP */
		h = ext_add(s, IPPROTO_DSTOPTS, 8);
		h[2] = k == 2 ? 0x5e : 0x9e;
		h[3] = 4;
		break;
	case 4:		/* type 0 route with a segment left */
		ext_routing(g, s);
		s->ext[s->ext_last + 2] = 0;
		s->ext[s->ext_last + 3] = 1;
		break;
	case 5:		/* unknown route type with a segment left */
		ext_routing(g, s);
		s->ext[s->ext_last + 2] = 253;
		s->ext[s->ext_last + 3] = 1;
		break;
	case 6:		/* atomic fragment header before ESP or AH */
		h = ext_add(s, IPPROTO_FRAGMENT, 8);
		h[7] = 0x42;
		p->expect_reasm = 1;	/* counted as reassembled */
		break;
	case 7:		/* jumbo payload option without a jumbogram */
		h = ext_add(s, IPPROTO_HOPOPTS, 8);
		h[2] = 0xc2;
		h[3] = 4;
		h[7] = 0x80;
		break;
	case 8:		/* header length beyond the packet */
		h = ext_add(s, IPPROTO_DSTOPTS, 8);
		h[1] = 200;
		h[2] = 1;
		h[3] = 4;
		break;
	case 9:		/* Mobile IPv6 route, done, but not by us */
		ext_routing(g, s);
		s->ext[s->ext_last + 2] = 2;
		break;
	}
}

/* Fields AH zeroes, set before sealing (ESP covers none of them). */
void m_outer_fields(struct gen *g, struct spec *s, struct pkt *p)
{
	s->v4_tos = rng_u32(&g->r);
	s->v4_ttl = rng_u32(&g->r);
	s->v4_frag = rng_chance(&g->r, 50) ? 0x4000 : 0;
	s->v4_id = rng_u32(&g->r);
	s->v6_tclass = rng_u32(&g->r);
	s->v6_flow = rng_u32(&g->r);
	s->v6_hlim = rng_u32(&g->r);
}

/* ------------------------------------------- UDP encapsulation helpers */

static void set16(u8 *f, u16 v)
{
	f[0] = v >> 8;
	f[1] = v;
}

static void encap_fix_csum(struct gen *g, struct pkt *p, bool zero)
{
	u8 *udp = p->frame + p->lay.udp;
	u16 ulen = udp[4] << 8 | udp[5];

	if (zero) {
		set16(udp + 6, 0);
		return;
	}
	/* recompute over what the length field claims, as far as there is */
	{
		u8 src[16], dst[16];
		unsigned int alen = inner_addrs(g->b->c, 1, src, dst);
		unsigned int n = MIN((unsigned int)ulen, p->len - p->lay.udp);
		u32 sum;
		u16 c;

		set16(udp + 6, 0);
		sum = csum_add(csum_add(0, src, alen), dst, alen);
		sum += IPPROTO_UDP + ulen;
		sum = csum_add(sum, udp, n);
		c = csum_fold(sum);
		set16(udp + 6, c ? c : 0xffff);
	}
}

static void fix_ip_len_only(struct gen *g, struct pkt *p)
{
	u8 *ip = p->frame + p->lay.ip;
	unsigned int len = p->len - p->lay.ip;

	if (g->b->c->family == 4) {
		set16(ip + 2, len);
		fix_ip4_csum(ip);
	} else {
		set16(ip + 4, len - IP6_HLEN);
	}
}

/* The UDP payload as the encap socket would get it: E_NONESP's hash. */
static void expect_nonesp(struct pkt *p, unsigned int ulen)
{
	unsigned int n = ulen > UDP_HLEN ? ulen - UDP_HLEN : 0;

	if (p->lay.udp + UDP_HLEN + n > p->len)
		n = p->len - p->lay.udp - UDP_HLEN;
	p->nonesp_hash = fnv1a(p->frame + p->lay.udp + UDP_HLEN, n) | 1;
}

/*
 * What the UDP-encapsulation socket does with a datagram of @ulen bytes
 * (xfrm4/6_udp_encap_rcv): 8 bytes of payload or fewer, or a zero SPI,
 * is IKE's, handed to the socket; a longer one goes to ESP, except that
 * one shorter than the IP header plus 8 is dropped without a counter
 * ("packet is too small!?!": they compare against the IP header length,
 * 40 for IPv6 whatever its extension headers).
 */
static void encap_classify(struct gen *g, struct pkt *p, unsigned int ulen)
{
	const u8 *udp = p->frame + p->lay.udp;
	unsigned int iphl = g->b->c->family == 4 ?
			    (p->frame[p->lay.ip] & 0xf) * 4 : IP6_HLEN;

	if (ulen < UDP_HLEN || p->lay.udp + ulen > p->len)
		return;				/* UDP's own errors */
	if (ulen - UDP_HLEN <= 8 || !(udp[8] | udp[9] | udp[10] | udp[11])) {
		p->expect = E_NONESP;
		expect_nonesp(p, ulen);
	} else if (ulen < iphl + UDP_HLEN) {
		p->expect = E_SILENT;
	}
}

/* ------------------------------------------------------ after sealing */

static unsigned int ip_hlen(const struct gen *g)
{
	return g->b->c->family == 4 ? IP4_HLEN : IP6_HLEN;
}

/* Every length the frame can be cut to, lengths fixed up or not. */
void m_trunc(struct gen *g, struct spec *s, struct pkt *p)
{
	s->payload_len = SMALL_PAYLOAD;
}

void m_trunc_post(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int iplen = p->len - p->lay.ip;
	unsigned int v = sweep(g, 11, 2 * iplen), cut = v / 2;
	bool fix = v & 1;

	p->len = p->lay.ip + cut;
	if (fix && cut >= p->lay.l4 - p->lay.ip + (p->lay.udp ? UDP_HLEN : 0))
		fix_outer(g->b, p);
	else
		fix = false;
	forge(p, "%u", cut);
	if (fix && p->lay.udp)
		encap_classify(g, p, p->len - p->lay.udp);
	snprintf(p->detail, sizeof(p->detail), "%u of %u bytes%s", cut, iplen,
		 fix ? ", lengths fixed" : "");
}

void m_flip_icv(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int bit = sweep(g, 12, p->lay.icv_len * 8);

	p->frame[p->lay.icv + bit / 8] ^= 1 << (bit % 8);
	forge(p, "bit %u", bit);
}

/* A bit the ICV covers: ESP or AH header, IV, ciphertext, payload. */
void m_flip_body(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int from = p->lay.xh, len = p->len - from, bit;

	do {
		bit = rng_below(&g->r, len * 8);
	} while (from + bit / 8 >= p->lay.icv &&
		 from + bit / 8 < p->lay.icv + p->lay.icv_len &&
		 g->b->c->xf->kind == XF_AH);
	p->frame[from + bit / 8] ^= 1 << (bit % 8);
	forge(p, "bit %u", bit);
}

void m_spi(struct gen *g, struct spec *s, struct pkt *p)
{
	static const u32 v[] = { 0, 1, 255, 256, 0xffffffff, 0x80000000 };
	unsigned int i = sweep(g, 13, ARRAY_SIZE(v) + 2);

	if (i < ARRAY_SIZE(v))
		s->spi = v[i];
	else
		s->spi ^= i == ARRAY_SIZE(v) ? 1 : rng_u32(&g->r) | 1;
	forge(p, "spi 0x%08x", s->spi);
}

/* RFC 3948: in UDP, SPI 0 is the non-ESP marker: an IKE packet. */
void m_spi_post(struct gen *g, struct spec *s, struct pkt *p)
{
	if (s->spi || !p->lay.udp)
		return;
	p->expect = E_NONESP;
	expect_nonesp(p, p->len - p->lay.udp);
}

void m_ip_len(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int len = p->len - p->lay.ip, hl = ip_hlen(g), v;
	const unsigned int vals[] = {
		0, 1, hl - 1, hl, hl + 1, len - 1, len + 1, len + 100, 0xffff,
		len - 8, p->lay.xh - p->lay.ip + 4,
	};
	u8 *ip = p->frame + p->lay.ip;

	v = vals[sweep(g, 14, ARRAY_SIZE(vals))];
	if (g->b->c->family == 4) {
		set16(ip + 2, v);
		fix_ip4_csum(ip);
	} else {
		v = v >= IP6_HLEN ? v - IP6_HLEN : v;
		set16(ip + 4, v);
	}
	forge(p, "%u", v);
	if (v == (g->b->c->family == 4 ? len : len - IP6_HLEN)) {
		p->klass = K_AUTH;
		p->expect = E_DELIVER;
	}
}

void m_ip_ihl(struct gen *g, struct spec *s, struct pkt *p)
{
	u8 *ip = p->frame + p->lay.ip;
	unsigned int ihl = sweep(g, 15, 16);

	if (ihl == (ip[0] & 0xf))
		ihl = (ihl + 1) & 0xf;
	ip[0] = 0x40 | ihl;
	if (ihl >= 5)
		fix_ip4_csum(ip);
	forge(p, "ihl %u", ihl);
}

void m_ip_csum(struct gen *g, struct spec *s, struct pkt *p)
{
	p->frame[p->lay.ip + 10] ^= 1 + rng_below(&g->r, 255);
	forge(p, "%s", "header checksum");
}

void m_ip_version(struct gen *g, struct spec *s, struct pkt *p)
{
	static const u8 v[] = { 0, 4, 5, 6, 7, 15 };
	u8 *ip = p->frame + p->lay.ip;
	u8 ver = v[sweep(g, 16, ARRAY_SIZE(v))];

	if (ver == ip[0] >> 4)
		ver = 0;
	ip[0] = (ip[0] & 0xf) | ver << 4;
	if (g->b->c->family == 4)
		fix_ip4_csum(ip);
	forge(p, "version %u", ver);
}

void m_ip_proto(struct gen *g, struct spec *s, struct pkt *p)
{
	static const u8 v[] = { 50, 51, 17, 255, 4, 41, 6 };
	u8 *ip = p->frame + p->lay.ip;
	u8 *proto = p->frame + p->lay.nh_off;
	u8 pr = v[sweep(g, 17, ARRAY_SIZE(v))];

	if (pr == *proto)
		pr = 255;
	*proto = pr;
	if (g->b->c->family == 4)
		fix_ip4_csum(ip);
	forge(p, "protocol %u", pr);
}

/* What ESP does not cover, or AH zeroes, changed in transit: delivered. */
void m_outer_benign(struct gen *g, struct spec *s, struct pkt *p)
{
	u8 *ip = p->frame + p->lay.ip;
	bool ah = g->b->c->xf->kind == XF_AH;

	if (g->b->c->family == 4) {
		ip[1] = rng_u32(&g->r);			/* TOS and ECN */
		ip[8] = rng_u32(&g->r);			/* TTL */
		ip[6] ^= 0x40;				/* DF */
		if (!ah) {
			ip[4] = rng_u32(&g->r);		/* ID */
			ip[5] = rng_u32(&g->r);
		}
		fix_ip4_csum(ip);
	} else {
		ip[0] = 0x60 | (rng_u32(&g->r) & 0xf);
		ip[1] = rng_u32(&g->r);
		ip[2] = rng_u32(&g->r);
		ip[3] = rng_u32(&g->r);
		ip[7] = rng_u32(&g->r);
	}
}

/* Bytes after the IP packet in the frame (Ethernet padding). */
void m_trailer(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int n = 1 + rng_below(&g->r, 64);

	if (p->len + n > FRAME_MAX)
		return;
	memset(p->frame + p->len, 0xee, n);
	p->len += n;
	snprintf(p->detail, sizeof(p->detail), "%u bytes", n);
}

/* --------------------------------------------------- UDP encapsulation */

/* Any ESP-in-UDP packet whose lengths agree meets encap_classify(). */
void encap_fate(struct gen *g, struct pkt *p)
{
	const u8 *ip = p->frame + p->lay.ip, *udp = p->frame + p->lay.udp;
	unsigned int iplen = g->b->c->family == 4 ? ip[2] << 8 | ip[3] :
			     (ip[4] << 8 | ip[5]) + IP6_HLEN;
	unsigned int ulen = udp[4] << 8 | udp[5];

	if (!p->lay.udp || p->expect == E_NONESP || p->expect == E_SILENT ||
	    p->len < p->lay.udp + UDP_HLEN ||
	    iplen != p->len - p->lay.ip || ulen != p->len - p->lay.udp)
		return;
	encap_classify(g, p, ulen);
}

void m_udp_len(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int len = p->len - p->lay.udp;
	const unsigned int vals[] = {
		0, 7, 8, 9, 12, 16, 17, len - 1, len + 1, 0xffff, len - 4,
		len / 2,
	};
	unsigned int v = vals[sweep(g, 18, ARRAY_SIZE(vals))];
	u8 *udp = p->frame + p->lay.udp;

	set16(udp + 4, v);
	encap_fix_csum(g, p, g->b->c->family == 4 && rng_chance(&g->r, 50));
	forge(p, "udp length %u", v);
	encap_classify(g, p, v);
}

void m_udp_csum(struct gen *g, struct spec *s, struct pkt *p)
{
	bool zero = rng_chance(&g->r, 50);
	u8 *udp = p->frame + p->lay.udp;

	if (zero) {
		set16(udp + 6, 0);
		/* RFC 768 no checksum: IPv4 only; IPv6 needs one (8200 8.1) */
		if (g->b->c->family == 6)
			forge(p, "%s", "checksum");
	} else {
		udp[6] ^= 0x11;
		forge(p, "%s", "checksum");
	}
	snprintf(p->detail, sizeof(p->detail), "%s", zero ? "zero" : "bad");
}

void m_udp_sport(struct gen *g, struct spec *s, struct pkt *p)
{
	u8 *udp = p->frame + p->lay.udp;
	u16 port = 1024 + rng_below(&g->r, 60000);

	set16(udp, port);
	encap_fix_csum(g, p, false);
	snprintf(p->detail, sizeof(p->detail), "port %u", port);
}

void m_udp_dport(struct gen *g, struct spec *s, struct pkt *p)
{
	set16(p->frame + p->lay.udp + 2, ENCAP_PORT + 1);
	encap_fix_csum(g, p, false);
	forge(p, "%s", "port 4501");
}

/* 4 zero bytes after the UDP header: an IKE packet, for the socket. */
void m_nonesp_marker(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int at = p->lay.udp + UDP_HLEN;

	if (p->len + 4 > FRAME_MAX)
		return;
	memmove(p->frame + at + 4, p->frame + at, p->len - at);
	memset(p->frame + at, 0, 4);
	p->len += 4;
	fix_ip_len_only(g, p);
	set16(p->frame + p->lay.udp + 4, p->len - p->lay.udp);
	encap_fix_csum(g, p, false);
	p->klass = K_FORG;
	p->expect = E_NONESP;
	expect_nonesp(p, p->len - p->lay.udp);
}

void m_keepalive(struct gen *g, struct spec *s, struct pkt *p)
{
	p->len = p->lay.udp + UDP_HLEN + 1;
	p->frame[p->len - 1] = 0xff;
	fix_ip_len_only(g, p);
	set16(p->frame + p->lay.udp + 4, UDP_HLEN + 1);
	encap_fix_csum(g, p, false);
	p->klass = K_FORG;
	p->expect = E_SILENT;
}

void m_ike_short(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int n = 2 + rng_below(&g->r, 7);

	p->len = p->lay.udp + UDP_HLEN + n;
	p->frame[p->lay.udp + UDP_HLEN] |= 0x80;	/* no zero marker */
	fix_ip_len_only(g, p);
	set16(p->frame + p->lay.udp + 4, UDP_HLEN + n);
	encap_fix_csum(g, p, false);
	p->klass = K_FORG;
	p->expect = E_NONESP;
	expect_nonesp(p, UDP_HLEN + n);
	snprintf(p->detail, sizeof(p->detail), "%u bytes", n);
}

/* ESP-in-UDP to a plain SA, or plain ESP to an encapsulating one. */
void m_encap_mismatch(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int at = p->lay.l4;
	u8 *proto = p->frame + p->lay.nh_off;

	if (p->lay.udp) {
		memmove(p->frame + at, p->frame + at + UDP_HLEN,
			p->len - at - UDP_HLEN);
		p->len -= UDP_HLEN;
		*proto = IPPROTO_ESP;
		p->lay.udp = 0;
	} else {
		if (p->len + UDP_HLEN > FRAME_MAX)
			return;
		memmove(p->frame + at + UDP_HLEN, p->frame + at, p->len - at);
		p->len += UDP_HLEN;
		*proto = IPPROTO_UDP;
		p->lay.udp = at;
		set16(p->frame + at, ENCAP_PORT);
		set16(p->frame + at + 2, ENCAP_PORT);
		set16(p->frame + at + 4, p->len - at);
		encap_fix_csum(g, p, false);
	}
	fix_ip_len_only(g, p);
	forge(p, "%s", "encapsulation");
}
