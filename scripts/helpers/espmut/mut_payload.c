// SPDX-License-Identifier: GPL-2.0
/*
 * Mutations of what the ICV covers, made before it is computed: the ICV
 * verifies, so the checks behind it run (RFC 4303 2.4-2.6 trailer, the
 * inner packet's lengths and checksum), and AH's own header. Also the
 * packets sealed with other keys or other ESN high bits.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "mutate.h"

/* ------------------------------------------------------ the ESP trailer */

void m_pad_extra(struct gen *g, struct spec *s, struct pkt *p)
{
	const struct xform *xf = g->b->c->xf;
	unsigned int k = 1 + sweep(g, 2, 255 / xf->align);

	/* the least padding, plus whole alignment units: still valid */
	s->pad_len = -2 - (int)k;
	muta(p, E_DELIVER);
	snprintf(p->detail, sizeof(p->detail), "+%u units", k);
}

void m_pad_field(struct gen *g, struct spec *s, struct pkt *p)
{
	s->pad_len_field = sweep(g, 3, 256);
	/* short payloads: many values run past it (rx_bad_padding) */
	s->payload_len = SMALL_PAYLOAD + rng_below(&g->r,
						   rng_chance(&g->r, 50) ? 8 : 300);
	muta(p, E_ANY);
	snprintf(p->detail, sizeof(p->detail), "pad length %d",
		 s->pad_len_field);
}

/* RFC 4303 2.4: the receiver may check the pad bytes; Linux does not. */
void m_pad_bytes(struct gen *g, struct spec *s, struct pkt *p)
{
	s->pad_fill = rng_chance(&g->r, 50) ? PAD_RANDOM : PAD_ZERO;
	s->pad_len = -2 - (int)rng_below(&g->r, 4);
	muta(p, E_DELIVER);
}

/*
 * Next header 59 after the ICV verified: ESP drops a dummy packet itself
 * (RFC 4303 2.6; espah's rx_dummy, the in-tree esp4/esp6 too); AH passes
 * it up, and IPv6 discards "no next header" without a counter (RFC 8200
 * 4.7, exthdrs.c's nodata_protocol), while IPv4 has no such protocol
 * (InUnknownProtos). Tunnel mode refuses it as an inner packet
 * (XfrmInStateModeError).
 */
static u8 nh59_expect(const struct gen *g)
{
	const struct mcase *c = g->b->c;

	if (c->mode == MODE_TUNNEL || c->xf->kind != XF_AH ||
	    c->inner_family == 4)
		return E_DROP;
	return E_SILENT;
}

void m_nexthdr(struct gen *g, struct spec *s, struct pkt *p)
{
	static const u8 nh[] = {
		59, 0, 1, 4, 6, 17, 41, 43, 44, 50, 51, 58, 60, 94, 132,
		135, 136, 253, 254, 255,
	};

	s->nexthdr = nh[sweep(g, 4, ARRAY_SIZE(nh))];
	/*
	 * Behind IPv6 a fragment header starts reassembly of the decrypted
	 * data, which ends (a queue expiring, an error) after the batch has
	 * been counted: not a fate this accounting can see.
	 */
	if (s->nexthdr == IPPROTO_FRAGMENT && g->b->c->inner_family == 6 &&
	    g->b->c->mode != MODE_TUNNEL)
		s->nexthdr = 253;
	muta(p, s->nexthdr == 59 ? nh59_expect(g) : E_ANY);
	snprintf(p->detail, sizeof(p->detail), "next header %d", s->nexthdr);
}

void m_dummy(struct gen *g, struct spec *s, struct pkt *p)
{
	s->dummy = true;
	s->payload_len = rng_below(&g->r, 300);
	muta(p, nh59_expect(g));
}

void m_tfc(struct gen *g, struct spec *s, struct pkt *p)
{
	s->tfc = 1 + rng_below(&g->r, 600);
	muta(p, E_DELIVER);
	snprintf(p->detail, sizeof(p->detail), "%u bytes", s->tfc);
}

void m_ct_unaligned(struct gen *g, struct spec *s, struct pkt *p)
{
	const struct xform *xf = g->b->c->xf;

	/* the least padding plus 1 .. align-1 bytes */
	s->pad_len = -100 - (int)(1 + rng_below(&g->r, xf->align - 1));
	muta(p, xf->block > 1 ? E_DROP : E_ANY);
}

/* -------------------------------------------------- inside the plaintext */

void m_inner_udp_len(struct gen *g, struct spec *s, struct pkt *p)
{
	static const int d[] = {
		-1, 1, -4, 4, -40, 64, -48, -47, -49, 0x7fff, -2, 8,
	};
	unsigned int i = sweep(g, 5, ARRAY_SIZE(d) + 8);
	int ulen = UDP_HLEN + s->payload_len;

	if (i < ARRAY_SIZE(d))
		s->inner_udp_len_delta = d[i];
	else		/* absolute lengths 0 .. 7, and 8: header only */
		s->inner_udp_len_delta = (int)(i - ARRAY_SIZE(d)) - ulen;
	if (ulen + s->inner_udp_len_delta > 65535)
		s->inner_udp_len_delta = 65535 - ulen;
	muta(p, E_ANY);
	snprintf(p->detail, sizeof(p->detail), "udp length %+d",
		 s->inner_udp_len_delta);
}

void m_inner_ip_len(struct gen *g, struct spec *s, struct pkt *p)
{
	static const int d[] = { -1, 1, -8, 8, -28, -60, 100, 30000, -1000 };

	s->inner_ip_len_delta = d[sweep(g, 6, ARRAY_SIZE(d))];
	s->tfc = rng_chance(&g->r, 50) ? 16 : 0;
	muta(p, E_ANY);
	snprintf(p->detail, sizeof(p->detail), "ip length %+d",
		 s->inner_ip_len_delta);
}

void m_inner_csum(struct gen *g, struct spec *s, struct pkt *p)
{
	const struct mcase *c = g->b->c;
	bool unnecessary = c->encap && c->mode == MODE_TRANSPORT;

	s->inner_csum = rng_chance(&g->r, 50) ? CSUM_ZERO : CSUM_BAD;
	if (unnecessary)
		muta(p, E_ANY);
	else if (s->inner_csum == CSUM_ZERO && c->inner_family == 4)
		muta(p, E_DELIVER);
	else
		muta(p, E_DROP);
	snprintf(p->detail, sizeof(p->detail), "%s",
		 s->inner_csum == CSUM_ZERO ? "zero" : "bad");
}

void m_wrong_key(struct gen *g, struct spec *s, struct pkt *p)
{
	s->wrong_key = true;
	forge(p, "%s", "other keys");
}

/* ------------------------------------------------------ the AH header */

void m_ah_len(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int v = sweep(g, 10, 256);

	s->ah_len_field = v;
	muta(p, E_ANY);
	snprintf(p->detail, sizeof(p->detail), "length %u", v);
}

/*
 * The algorithm's whole ICV where the SA truncates: espah takes it (its
 * whole ICV field zeroed for the computation, RFC 4302 3.3.3.2.1); the
 * in-tree ah4/ah6 zero only the truncated length and so refuse it.
 */
void m_ah_full_icv(struct gen *g, struct spec *s, struct pkt *p)
{
	s->ah_full_icv = true;
	muta(p, g->b->intree ? E_ANY : E_DELIVER);
}

/* The padding after AH's ICV: any bytes, covered by the ICV (3.3.3.2.1). */
void m_ah_pad(struct gen *g, struct spec *s, struct pkt *p)
{
	s->ah_pad_random = true;
	muta(p, E_DELIVER);
}

void m_ah_reserved(struct gen *g, struct spec *s, struct pkt *p)
{
	s->ah_reserved = 1 + rng_below(&g->r, 255);
	muta(p, E_ANY);
}
