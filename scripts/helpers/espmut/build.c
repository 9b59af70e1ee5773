// SPDX-License-Identifier: GPL-2.0
/*
 * Valid packets for a case's SA, with the knobs of struct spec turned:
 * the inner UDP datagram carrying the marker, ESP (RFC 4303) or AH
 * (RFC 4302) around it, the outer IP header with its options or
 * extension headers, and the UDP encapsulation (RFC 3948).
 *
 * AH's ICV is computed over a copy of the headers in the form RFC 4302
 * 3.3.3 gives (appendix A): IPv4 TOS, flags and fragment offset, TTL and
 * checksum zeroed, mutable options zeroed whole; IPv6 traffic class, flow
 * label and hop limit zeroed, the data of options that may change en
 * route zeroed.
 */
#include <arpa/inet.h>
#include <string.h>

#include "espmut.h"

static const u8 o4_src[4] = { 10, 77, 0, 1 }, o4_dst[4] = { 10, 77, 0, 2 };
static const u8 i4_src[4] = { 10, 78, 0, 1 }, i4_dst[4] = { 10, 78, 0, 2 };
static const u8 o6_src[16] = { 0xfd, 0x77, [15] = 1 };
static const u8 o6_dst[16] = { 0xfd, 0x77, [15] = 2 };
static const u8 i6_src[16] = { 0xfd, 0x78, [15] = 1 };
static const u8 i6_dst[16] = { 0xfd, 0x78, [15] = 2 };

static void put16(u8 *p, u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(u8 *p, u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

u32 fnv1a(const u8 *data, unsigned int len)
{
	u32 h = 2166136261u;
	unsigned int i;

	for (i = 0; i < len; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

u32 payload_sum(u64 pkt_id, const u8 *data, unsigned int len)
{
	u32 h = fnv1a((const u8 *)&pkt_id, sizeof(pkt_id));
	unsigned int i;

	for (i = 0; i < len; i++)
		h = (h ^ data[i]) * 16777619u;
	return h;
}

u32 csum_add(u32 sum, const u8 *data, unsigned int len)
{
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (data[i] << 8) | data[i + 1];
	if (len & 1)
		sum += data[len - 1] << 8;
	return sum;
}

u16 csum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

void fix_ip4_csum(u8 *ip)
{
	unsigned int hl = (ip[0] & 0xf) * 4;

	put16(ip + 10, 0);
	put16(ip + 10, csum_fold(csum_add(0, ip, hl)));
}

/* The addresses the inner datagram is between; returns their length. */
unsigned int inner_addrs(const struct mcase *c, int outer, u8 *src, u8 *dst)
{
	int fam = outer ? c->family : c->inner_family;
	bool in = !outer && c->mode != MODE_TRANSPORT;

	if (fam == 4) {
		memcpy(src, in ? i4_src : o4_src, 4);
		memcpy(dst, in ? i4_dst : o4_dst, 4);
		return 4;
	}
	memcpy(src, in ? i6_src : o6_src, 16);
	memcpy(dst, in ? i6_dst : o6_dst, 16);
	return 16;
}

/* UDP checksum over @len bytes of datagram with a pseudo header. */
static u16 udp_csum(const u8 *src, const u8 *dst, unsigned int alen,
		    const u8 *udp, unsigned int len)
{
	u32 sum = csum_add(0, src, alen);
	u16 c;

	sum = csum_add(sum, dst, alen);
	sum += IPPROTO_UDP + len;
	sum = csum_add(sum, udp, len);
	c = csum_fold(sum);
	return c ? c : 0xffff;
}

void spec_default(const struct build_ctx *b, struct spec *s, u64 seq)
{
	memset(s, 0, sizeof(*s));
	s->spi = b->c->spi;
	s->seq = seq;
	s->payload_len = sizeof(struct marker);
	s->pad_len = -1;
	s->pad_len_field = -1;
	s->nexthdr = -1;
	s->ah_len_field = -1;
	s->v4_ttl = 64;
	s->v4_frag = 0x4000;		/* DF */
	s->v6_hlim = 64;
}

static void fill_random(u8 *p, unsigned int len, struct rng *r)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		p[i] = rng_u32(r);
}

/*
 * The payload: the marker, then bytes derived from the packet id. The
 * marker promises what the receiver gets: @deliver bytes, the sum over
 * those after the marker.
 */
static void build_payload(const struct build_ctx *b, struct pkt *p,
			  u8 *pl, unsigned int len, unsigned int deliver)
{
	struct marker m;
	unsigned int i, ms = sizeof(m);
	u64 x = p->id * 0x9e3779b97f4a7c15ull + 1;

	for (i = ms; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pl[i] = x;
	}
	memcpy(m.magic, MARK_MAGIC, sizeof(m.magic));
	m.run = b->run;
	m.klass = p->klass;
	m.case_id = b->c->id;
	m.len = deliver;
	m.pkt_id = p->id;
	m.sum = payload_sum(p->id, pl + ms, deliver > ms ? deliver - ms : 0);
	m.reserved = 0;
	memcpy(pl, &m, MIN(len, ms));
	p->mk = m;
}

static unsigned int ip4_header(u8 *ip, const struct spec *s, u8 proto,
			       const u8 *src, const u8 *dst,
			       unsigned int optlen)
{
	ip[0] = 0x40 | ((IP4_HLEN + optlen) / 4);
	ip[1] = s->v4_tos;
	put16(ip + 4, s->v4_id);
	put16(ip + 6, s->v4_frag);
	ip[8] = s->v4_ttl;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	return IP4_HLEN + optlen;
}

static unsigned int ip6_header(u8 *ip, const struct spec *s, u8 nh,
			       const u8 *src, const u8 *dst)
{
	put32(ip, 0x60000000u | (u32)s->v6_tclass << 20 | (s->v6_flow & 0xfffff));
	ip[6] = nh;
	ip[7] = s->v6_hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	return IP6_HLEN;
}

/*
 * The inner packet: a UDP datagram to the marker port, in tunnel mode
 * behind an IP header of the inner family. Returns its length; *deliver
 * is what of its payload a receiver would hand to the socket.
 */
static unsigned int build_inner(const struct build_ctx *b, const struct spec *s,
				struct pkt *p, u8 *out, struct rng *r)
{
	const struct mcase *c = b->c;
	unsigned int iphl = 0, alen, ulen, clen, deliver, plen = s->payload_len;
	u8 src[16], dst[16], *udp;
	int l;

	if (s->dummy) {
		fill_random(out, plen, r);
		return plen;
	}
	alen = inner_addrs(c, 0, src, dst);
	if (c->mode == MODE_TUNNEL)
		iphl = c->inner_family == 4 ? IP4_HLEN : IP6_HLEN;
	udp = out + iphl;
	ulen = UDP_HLEN + plen;
	l = (int)ulen + s->inner_udp_len_delta;
	if (l < 0)
		l = 0;
	/*
	 * A shorter length field: the kernel trims the datagram to it. Over
	 * IPv6, 0 is taken as "the rest of the packet" (RFC 2675 jumbograms;
	 * udp6 does so for any packet).
	 */
	clen = MIN(ulen, (unsigned int)l);
	if (!l && (c->mode == MODE_TUNNEL || c->mode == MODE_BEET ?
		   c->inner_family : c->family) == 6)
		clen = ulen;
	deliver = clen >= UDP_HLEN ? clen - UDP_HLEN : 0;
	build_payload(b, p, udp + UDP_HLEN, plen, deliver);
	put16(udp, MARK_SPORT);
	put16(udp + 2, MARK_PORT);
	put16(udp + 4, l);
	put16(udp + 6, 0);
	if (s->inner_csum == CSUM_OK || s->inner_csum == CSUM_BAD)
		put16(udp + 6, udp_csum(src, dst, alen, udp, MAX(clen, UDP_HLEN)));
	if (s->inner_csum == CSUM_BAD)
		udp[7] ^= 0x5a;
	if (c->mode != MODE_TUNNEL)
		return ulen;

	l = iphl + ulen + s->inner_ip_len_delta;
	if (c->inner_family == 4) {
		struct spec is = *s;

		is.v4_frag = 0;
		is.v4_tos = 0;
		ip4_header(out, &is, IPPROTO_UDP, src, dst, 0);
		put16(out + 2, l);
		fix_ip4_csum(out);
	} else {
		ip6_header(out, s, IPPROTO_UDP, src, dst);
		put16(out + 4, l - IP6_HLEN);
	}
	return iphl + ulen;
}

/* The next header ESP or AH names: what the mode puts behind it. */
static u8 natural_nexthdr(const struct mcase *c)
{
	if (c->mode == MODE_TUNNEL)
		return c->inner_family == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	return IPPROTO_UDP;
}

/*
 * Outer IP header, options or extension headers, and the UDP
 * encapsulation header. Returns the offset of the ESP or AH header.
 */
static unsigned int build_outer(const struct build_ctx *b, const struct spec *s,
				struct pkt *p, u8 proto)
{
	const struct mcase *c = b->c;
	u8 *f = p->frame, src[16], dst[16];
	unsigned int off = ETH_HLEN_;

	memcpy(f, b->dst_mac, 6);
	memcpy(f + 6, b->src_mac, 6);
	put16(f + 12, c->family == 4 ? 0x0800 : 0x86dd);
	inner_addrs(c, 1, src, dst);
	p->lay.ip = off;
	if (c->encap)
		proto = IPPROTO_UDP;
	if (c->family == 4) {
		p->lay.nh_off = off + 9;
		off += ip4_header(f + off, s, proto, src, dst, s->ip_opts_len);
		memcpy(f + off - s->ip_opts_len, s->ip_opts, s->ip_opts_len);
	} else if (s->ext_len) {
		off += ip6_header(f + off, s, s->ext_nh, src, dst);
		memcpy(f + off, s->ext, s->ext_len);
		/* the last extension header names ESP, AH or UDP */
		p->lay.nh_off = off + s->ext_last;
		f[p->lay.nh_off] = proto;
		off += s->ext_len;
	} else {
		p->lay.nh_off = off + 6;
		off += ip6_header(f + off, s, proto, src, dst);
	}
	p->lay.l4 = off;
	p->lay.udp = 0;
	if (c->encap) {
		p->lay.udp = off;
		put16(f + off, ENCAP_PORT);
		put16(f + off + 2, ENCAP_PORT);
		off += UDP_HLEN;
	}
	p->lay.xh = off;
	return off;
}

/* Outer lengths and checksums for the frame as it is now. */
void fix_outer(const struct build_ctx *b, struct pkt *p)
{
	const struct mcase *c = b->c;
	u8 *f = p->frame, *ip = f + p->lay.ip;
	unsigned int len = p->len - p->lay.ip;

	if (c->family == 4) {
		put16(ip + 2, len);
		fix_ip4_csum(ip);
	} else {
		put16(ip + 4, len - IP6_HLEN);
	}
	if (p->lay.udp) {
		u8 src[16], dst[16];
		unsigned int alen = inner_addrs(c, 1, src, dst);
		u8 *udp = f + p->lay.udp;
		unsigned int ulen = p->len - p->lay.udp;

		put16(udp + 4, ulen);
		put16(udp + 6, 0);
		put16(udp + 6, udp_csum(src, dst, alen, udp, ulen));
	}
}

static int build_esp(const struct build_ctx *b, const struct spec *s,
		     struct pkt *p, struct rng *r)
{
	const struct mcase *c = b->c;
	const struct xform *xf = c->xf;
	unsigned int off, in_len, body, pad, i;
	struct sa_crypto *sc = s->wrong_key ? b->sc_wrong : b->sc;
	u8 *f = p->frame, *esph, *pt;
	u8 nh;

	off = build_outer(b, s, p, IPPROTO_ESP);
	esph = f + off;
	put32(esph, s->spi);
	put32(esph + 4, (u32)s->seq);
	p->lay.iv = off + ESP_HLEN;
	fill_random(f + p->lay.iv, xf->iv_len, r);
	p->lay.ct = p->lay.iv + xf->iv_len;
	pt = f + p->lay.ct;

	in_len = build_inner(b, s, p, pt, r);
	fill_random(pt + in_len, s->tfc, r);
	body = in_len + s->tfc;
	if (s->pad_len >= 0)
		pad = s->pad_len;
	else
		pad = (xf->align - (body + 2) % xf->align) % xf->align;
	if (p->lay.ct + body + pad + 2 + xf->icv_len > FRAME_MAX)
		return -1;
	for (i = 0; i < pad; i++)
		pt[body + i] = s->pad_fill == PAD_RFC ? i + 1 :
			       s->pad_fill == PAD_ZERO ? 0 : rng_u32(r);
	nh = s->nexthdr >= 0 ? s->nexthdr :
	     s->dummy ? IPPROTO_NONE : natural_nexthdr(c);
	pt[body + pad] = s->pad_len_field >= 0 ? s->pad_len_field : pad;
	pt[body + pad + 1] = nh;
	p->lay.ct_len = body + pad + 2;
	p->lay.icv = p->lay.ct + p->lay.ct_len;
	p->lay.icv_len = xf->icv_len;
	p->lay.end = p->lay.icv + xf->icv_len;
	p->len = p->lay.end;
	if (esp_seal(sc, esph, (u32)(s->seq >> 32) + s->esn_hi_delta,
		     f + p->lay.iv, pt, p->lay.ct_len, f + p->lay.icv))
		return -1;
	fix_outer(b, p);
	return 0;
}

/* RFC 4302 A.1: the options no router changes. */
static bool ah4_option_immutable(u8 type)
{
	return type == 0x82 || type == 0x85 || type == 0x86 || type == 0x94 ||
	       type == 0x95;
}

static void ah4_zero_mutable(u8 *ip)
{
	unsigned int hl = (ip[0] & 0xf) * 4, off = IP4_HLEN, len;

	ip[1] = 0;
	put16(ip + 6, 0);
	ip[8] = 0;
	put16(ip + 10, 0);
	while (off < hl) {
		if (ip[off] == 0)		/* end of options */
			break;
		if (ip[off] == 1) {		/* no-op */
			off++;
			continue;
		}
		len = off + 1 < hl ? ip[off + 1] : 0;
		if (len < 2 || off + len > hl)
			break;			/* malformed: left as is */
		if (!ah4_option_immutable(ip[off]))
			memset(ip + off, 0, len);
		off += len;
	}
}

/* Options headers: the data of an option whose type has 0x20 set. */
static void ah6_zero_options(u8 *eh, unsigned int len)
{
	unsigned int off = 2;

	while (off < len) {
		if (eh[off] == 0) {		/* Pad1 */
			off++;
			continue;
		}
		if (off + 2 > len || off + 2 + eh[off + 1] > len)
			return;
		if (eh[off] & 0x20)
			memset(eh + off + 2, 0, eh[off + 1]);
		off += 2 + eh[off + 1];
	}
}

static void ah6_zero_mutable(u8 *ip, unsigned int hdrs_len)
{
	unsigned int off = IP6_HLEN, len;
	u8 nh = ip[6];

	ip[0] &= 0xf0;
	ip[1] = 0;
	put16(ip + 2, 0);
	ip[7] = 0;
	while (off < hdrs_len) {
		if (nh == IPPROTO_AH)
			break;
		len = nh == IPPROTO_FRAGMENT ? 8 : (ip[off + 1] + 1) * 8;
		if (off + len > hdrs_len)
			break;
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_DSTOPTS)
			ah6_zero_options(ip + off, len);
		nh = ip[off];
		off += len;
	}
}

void ah_zero_mutable(int family, u8 *ip, unsigned int hdrs_len)
{
	if (family == 4)
		ah4_zero_mutable(ip);
	else
		ah6_zero_mutable(ip, hdrs_len);
}

static unsigned int ah_hdr_len(const struct mcase *c, bool full)
{
	unsigned int align = c->family == 4 && c->align4 ? 4 : 8;
	unsigned int icv = full ? c->xf->icv_full : c->xf->icv_len;

	return (AH_HLEN + icv + align - 1) / align * align;
}

static int build_ah(const struct build_ctx *b, const struct spec *s,
		    struct pkt *p, struct rng *r)
{
	static u8 scratch[FRAME_MAX];
	const struct mcase *c = b->c;
	unsigned int off, ahlen, icvf, in_len;
	struct sa_crypto *sc = s->wrong_key ? b->sc_wrong : b->sc;
	u8 *f = p->frame, *ah, mac[64];

	off = build_outer(b, s, p, IPPROTO_AH);
	ah = f + off;
	ahlen = ah_hdr_len(c, s->ah_full_icv);
	icvf = s->ah_full_icv ? c->xf->icv_full : c->xf->icv_len;
	memset(ah, 0, ahlen);
	if (s->ah_pad_random)
		fill_random(ah + AH_HLEN + icvf, ahlen - AH_HLEN - icvf, r);
	ah[0] = s->nexthdr >= 0 ? s->nexthdr :
		s->dummy ? IPPROTO_NONE : natural_nexthdr(c);
	ah[1] = s->ah_len_field >= 0 ? s->ah_len_field : ahlen / 4 - 2;
	ah[2] = s->ah_reserved;
	put32(ah + 4, s->spi);
	put32(ah + 8, (u32)s->seq);
	p->lay.icv = off + AH_HLEN;
	p->lay.icv_len = icvf;
	p->lay.ct = off + ahlen;
	in_len = build_inner(b, s, p, f + p->lay.ct, r);
	fill_random(f + p->lay.ct + in_len, s->tfc, r);
	p->lay.ct_len = in_len + s->tfc;
	p->lay.end = p->lay.ct + p->lay.ct_len;
	p->len = p->lay.end;
	fix_outer(b, p);

	memcpy(scratch, f + p->lay.ip, p->len - p->lay.ip);
	ah_zero_mutable(c->family, scratch, off - p->lay.ip);
	if (ah_mac(sc, scratch, p->len - p->lay.ip, c->esn,
		   (u32)(s->seq >> 32) + s->esn_hi_delta, mac))
		return -1;
	memcpy(f + p->lay.icv, mac, icvf);
	if (c->family == 4)
		fix_ip4_csum(f + p->lay.ip);
	return 0;
}

int build_packet(const struct build_ctx *b, const struct spec *s,
		 struct pkt *p, struct rng *r)
{
	memset(&p->lay, 0, sizeof(p->lay));
	p->seq = s->seq;
	if (b->c->xf->kind == XF_AH)
		return build_ah(b, s, p, r);
	return build_esp(b, s, p, r);
}
