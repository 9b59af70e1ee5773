// SPDX-License-Identifier: GPL-2.0
/*
 * The mutations, and the sequence numbers they use.
 *
 * Each packet gets one mutation. A mutation turns knobs before the packet
 * is sealed ("pre": the ICV covers the change, so the checks behind the
 * ICV are reached: pad length, next header, lengths inside the
 * ciphertext), changes bytes after ("post": the ICV no longer matches
 * what it covers, or the change is in what it does not cover), or
 * changes how the packet travels (fragments, the TX ring). It also says
 * what must become of the packet: delivered, dropped, either.
 *
 * Sequence numbers: every packet takes a number above all used before,
 * so a packet that must be delivered is never a replay, whatever became
 * of the packets before it. The receiver's window top is then somewhere
 * between the last number that must have been accepted (acc_top) and
 * the last one used (issued); probes into the window are chosen so that
 * their fate is the same anywhere in that range. The packets go out in
 * order from one CPU and the crypto is synchronous, so the receiver sees
 * them in that order.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "espmut.h"

/* What a case offers; a mutation needs all of .need and none of .avoid. */
enum {
	F_ESP = 1 << 0, F_AH = 1 << 1, F_ENCAP = 1 << 2, F_V4 = 1 << 3,
	F_V6 = 1 << 4, F_TUNNEL = 1 << 5, F_TRANSPORT = 1 << 6,
	F_BEET = 1 << 7, F_ESN = 1 << 8, F_BLOCK = 1 << 9,
	F_NOENCAP = 1 << 10, F_FRAG = 1 << 11,
};

#define SAVED_MAX	8
#define GAPS_MAX	64
#define PENDING_MAX	4
#define SMALL_PAYLOAD	(sizeof(struct marker))

struct saved {
	u64 id, seq;
	unsigned int len;
	struct layout lay;
	u8 frame[2048];
};

struct probe {
	u64 seq;
	u8 expect;
	const char *why;
};

struct gen {
	const struct build_ctx *b;
	struct rng r;
	unsigned int feat;
	unsigned int flags;
	u64 issued;		/* highest sequence number used */
	u64 acc_top;		/* highest that must have been accepted */
	u64 gaps[GAPS_MAX];	/* skipped numbers, never sent */
	unsigned int ngaps;
	struct probe pending[PENDING_MAX];
	unsigned int npending;
	struct saved saved[SAVED_MAX];
	unsigned int nsaved;
	unsigned int sweep[64];
	unsigned int frag_seq;
	/* where a pre mutation left something the post half changes */
	unsigned int mutable_off, mutable_len;
};

struct mutation {
	const char *name;
	unsigned int weight;
	unsigned int need, avoid;
	void (*pre)(struct gen *g, struct spec *s, struct pkt *p);
	void (*post)(struct gen *g, struct spec *s, struct pkt *p);
	/*
	 * Leaves the IP, UDP and AH headers as valid ones: the packet may
	 * come in IP fragments whatever must become of it, and reassembles
	 * (a frag list: the transform's error paths on one).
	 */
	bool fragok;
};

/* ----------------------------------------------------------------- rng */

void rng_seed(struct rng *r, u64 seed)
{
	r->s = seed ? seed : 0x853c49e6748fea9bull;
}

/* splitmix64 */
static u64 rng_u64(struct rng *r)
{
	u64 z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

u32 rng_u32(void *r)
{
	return rng_u64(r) >> 32;
}

u32 rng_below(struct rng *r, u32 n)
{
	return n ? (u32)(((u64)rng_u32(r) * n) >> 32) : 0;
}

bool rng_chance(struct rng *r, unsigned int percent)
{
	return rng_below(r, 100) < percent;
}

static unsigned int sweep(struct gen *g, unsigned int slot, unsigned int n)
{
	return g->sweep[slot]++ % n;
}

/* ------------------------------------------------------ sequence numbers */

static u64 window(const struct gen *g)
{
	return g->b->c->replay_window;
}

static u64 seq_fresh(struct gen *g)
{
	return ++g->issued;
}

static void gap_add(struct gen *g, u64 seq)
{
	unsigned int i;

	for (i = 0; i < g->ngaps; i++)
		if (g->gaps[i] == seq)
			return;
	if (g->ngaps < GAPS_MAX)
		g->gaps[g->ngaps++] = seq;
	else
		g->gaps[rng_below(&g->r, GAPS_MAX)] = seq;
}

/* Jumps ahead; remembers a few of the numbers skipped if @gaps. */
static u64 seq_jump(struct gen *g, u64 by, bool gaps)
{
	u64 from = g->issued, i;

	for (i = 0; gaps && i < 4 && i + 1 < by; i++)
		gap_add(g, from + 1 + rng_below(&g->r, by - 1));
	g->issued += by;
	return g->issued;
}

/* A skipped number certainly inside the window, or 0. */
static u64 seq_gap_in_window(struct gen *g)
{
	unsigned int i;
	u64 s;

	for (i = 0; i < g->ngaps; i++) {
		s = g->gaps[i];
		if (g->issued - s < window(g) && s) {
			g->gaps[i] = g->gaps[--g->ngaps];
			return s;
		}
	}
	return 0;
}

/* ---------------------------------------------------- payload and carrier */

static unsigned int max_payload(const struct gen *g)
{
	/* headers, options, extension headers, IV, padding, ICV */
	return 65535 - 40 - 40 - 8 - 8 - 16 - 40 - 255 - 64 - 600;
}

static unsigned int pick_payload(struct gen *g)
{
	unsigned int r = rng_below(&g->r, 100);

	if (r < 60)
		return SMALL_PAYLOAD + rng_below(&g->r, 200);
	if (r < 97)
		return SMALL_PAYLOAD + rng_below(&g->r, 1400);
	return 1400 + rng_below(&g->r, 6000);
}

/*
 * An IPv4 ID no fragment queue of the last seconds used: a range of 512
 * per case, reused after some thousand packets (queues expire in 5 s).
 */
static u16 frag_id(struct gen *g)
{
	return g->b->c->id * 512 + (g->frag_seq++ % 512);
}

/*
 * Any packet may come from the TX ring (page fragments); packets that
 * must arrive, and those whose mutation keeps the headers the IP layer
 * checks valid, may also come in IP fragments (others might not
 * reassemble, which would hide what the mutation does).
 */
static void pick_carrier(struct gen *g, const struct mutation *m,
			 struct pkt *p)
{
	unsigned int r = rng_below(&g->r, 100);

	if (p->carrier != CARRIER_WHOLE)
		return;
	if (r < 8 && !(g->flags & GEN_NO_RING))
		p->carrier = CARRIER_RING;
	else if (r < 14 && (p->expect == E_DELIVER || m->fragok) &&
		 !(g->flags & GEN_NO_FRAG))
		p->carrier = CARRIER_FRAG;
}

static void forge(struct pkt *p, const char *fmt, ...)
{
	va_list ap;

	p->klass = K_FORG;
	p->expect = E_DROP;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

static void muta(struct pkt *p, u8 expect)
{
	p->klass = K_MUTA;
	p->expect = expect;
}

/* ---------------------------------------------------- valid and sequence */

static void m_valid(struct gen *g, struct spec *s, struct pkt *p)
{
}

static void m_valid_large(struct gen *g, struct spec *s, struct pkt *p)
{
	s->payload_len = 1400 + rng_below(&g->r, max_payload(g) - 1400);
	snprintf(p->detail, sizeof(p->detail), "payload %u", s->payload_len);
}

static void m_seq_jump(struct gen *g, struct spec *s, struct pkt *p)
{
	u64 by = 2 + rng_below(&g->r, rng_chance(&g->r, 50) ? 64 : 1u << 20);

	g->issued--;		/* give back the fresh number */
	s->seq = seq_jump(g, by, true);
	snprintf(p->detail, sizeof(p->detail), "+%llu", (unsigned long long)by);
}

static void m_seq_old(struct gen *g, struct spec *s, struct pkt *p)
{
	u64 gap = seq_gap_in_window(g);

	if (!gap)
		return;		/* a plain fresh one then */
	g->issued--;
	s->seq = gap;
	snprintf(p->detail, sizeof(p->detail), "issued-%llu",
		 (unsigned long long)(g->issued - gap));
}

/*
 * A fresh number far enough ahead that both numbers at the window's
 * bottom edge are unused; the two probes follow at once.
 */
static void m_seq_edge(struct gen *g, struct spec *s, struct pkt *p)
{
	u64 top;

	g->issued--;
	top = seq_jump(g, window(g) + 8, false);	/* the probes use it */
	s->seq = top;
	g->pending[0] = (struct probe){ top - window(g), E_DROP, "edge-1" };
	g->pending[1] = (struct probe){ top - window(g) + 1, E_DELIVER, "edge" };
	g->npending = 2;
}

static void m_seq_too_old(struct gen *g, struct spec *s, struct pkt *p)
{
	u64 back = window(g) + rng_below(&g->r, 3 * window(g));

	if (g->acc_top <= back + 1)
		return;
	g->issued--;
	s->seq = g->acc_top - back;
	p->expect = E_DROP;
	snprintf(p->detail, sizeof(p->detail), "top-%llu",
		 (unsigned long long)back);
}

static void m_seq_zero(struct gen *g, struct spec *s, struct pkt *p)
{
	g->issued--;
	s->seq = 0;
	p->expect = E_DROP;
}

/* ESN: the low half wraps; the receiver must infer the high half. */
static void m_esn_wrap(struct gen *g, struct spec *s, struct pkt *p)
{
	u64 next = ((g->issued >> 32) + 1) << 32 | (1 + rng_below(&g->r, 64));

	if (next - g->issued >= (1ull << 32) - window(g) - 1)
		return;
	g->issued--;
	s->seq = seq_jump(g, next - g->issued, true);
	snprintf(p->detail, sizeof(p->detail), "hi %u", (u32)(s->seq >> 32));
}

static void m_esn_hi(struct gen *g, struct spec *s, struct pkt *p)
{
	static const int d[] = { 1, -1, 2, 0x10000 };
	int v = d[sweep(g, 1, ARRAY_SIZE(d))];

	s->esn_hi_delta = v;
	forge(p, "hi%+d", v);
}

static void m_replay(struct gen *g, struct spec *s, struct pkt *p)
{
	/* post does the work: the frame of an earlier delivered packet */
}

static void m_replay_post(struct gen *g, struct spec *s, struct pkt *p)
{
	const struct saved *sv;

	if (!g->nsaved)
		return;
	sv = &g->saved[rng_below(&g->r, g->nsaved)];
	memcpy(p->frame, sv->frame, sv->len);
	p->len = sv->len;
	p->lay = sv->lay;
	p->seq = sv->seq;
	p->expect = E_DROP;
	p->carrier = CARRIER_WHOLE;
	p->expect_reasm = 0;
	snprintf(p->detail, sizeof(p->detail), "of #%llu",
		 (unsigned long long)sv->id);
	/* the marker inside names the original: delivered twice is caught */
	p->replay_of = sv->id;
}

/* ------------------------------------------------------ the ESP trailer */

static void m_pad_extra(struct gen *g, struct spec *s, struct pkt *p)
{
	const struct xform *xf = g->b->c->xf;
	unsigned int k = 1 + sweep(g, 2, 255 / xf->align);

	/* the least padding, plus whole alignment units: still valid */
	s->pad_len = -2 - (int)k;
	muta(p, E_DELIVER);
	snprintf(p->detail, sizeof(p->detail), "+%u units", k);
}

static void m_pad_field(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_pad_bytes(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_nexthdr(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_dummy(struct gen *g, struct spec *s, struct pkt *p)
{
	s->dummy = true;
	s->payload_len = rng_below(&g->r, 300);
	muta(p, nh59_expect(g));
}

static void m_tfc(struct gen *g, struct spec *s, struct pkt *p)
{
	s->tfc = 1 + rng_below(&g->r, 600);
	muta(p, E_DELIVER);
	snprintf(p->detail, sizeof(p->detail), "%u bytes", s->tfc);
}

static void m_ct_unaligned(struct gen *g, struct spec *s, struct pkt *p)
{
	const struct xform *xf = g->b->c->xf;

	/* the least padding plus 1 .. align-1 bytes */
	s->pad_len = -100 - (int)(1 + rng_below(&g->r, xf->align - 1));
	muta(p, xf->block > 1 ? E_DROP : E_ANY);
}

/* -------------------------------------------------- inside the plaintext */

static void m_inner_udp_len(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_inner_ip_len(struct gen *g, struct spec *s, struct pkt *p)
{
	static const int d[] = { -1, 1, -8, 8, -28, -60, 100, 30000, -1000 };

	s->inner_ip_len_delta = d[sweep(g, 6, ARRAY_SIZE(d))];
	s->tfc = rng_chance(&g->r, 50) ? 16 : 0;
	muta(p, E_ANY);
	snprintf(p->detail, sizeof(p->detail), "ip length %+d",
		 s->inner_ip_len_delta);
}

static void m_inner_csum(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_wrong_key(struct gen *g, struct spec *s, struct pkt *p)
{
	s->wrong_key = true;
	forge(p, "%s", "other keys");
}

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

static void m_ip4_options(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_ip4_options_bad(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_ip6_exthdrs(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_ip6_exthdrs_post(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int off = p->lay.ip + IP6_HLEN + g->mutable_off;

	if (!g->mutable_len || !rng_chance(&g->r, 50))
		return;
	p->frame[off] ^= 0xa5;
	strncat(p->detail, ", en route", sizeof(p->detail) - strlen(p->detail) - 1);
}

static void m_ip6_exthdrs_bad(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_ah_len(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_ah_full_icv(struct gen *g, struct spec *s, struct pkt *p)
{
	s->ah_full_icv = true;
	muta(p, g->b->intree ? E_ANY : E_DELIVER);
}

/* The padding after AH's ICV: any bytes, covered by the ICV (3.3.3.2.1). */
static void m_ah_pad(struct gen *g, struct spec *s, struct pkt *p)
{
	s->ah_pad_random = true;
	muta(p, E_DELIVER);
}

static void m_ah_reserved(struct gen *g, struct spec *s, struct pkt *p)
{
	s->ah_reserved = 1 + rng_below(&g->r, 255);
	muta(p, E_ANY);
}

/* Fields AH zeroes, set before sealing (ESP covers none of them). */
static void m_outer_fields(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_trunc(struct gen *g, struct spec *s, struct pkt *p)
{
	s->payload_len = SMALL_PAYLOAD;
}

static void m_trunc_post(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_flip_icv(struct gen *g, struct spec *s, struct pkt *p)
{
	unsigned int bit = sweep(g, 12, p->lay.icv_len * 8);

	p->frame[p->lay.icv + bit / 8] ^= 1 << (bit % 8);
	forge(p, "bit %u", bit);
}

/* A bit the ICV covers: ESP or AH header, IV, ciphertext, payload. */
static void m_flip_body(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_spi(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_spi_post(struct gen *g, struct spec *s, struct pkt *p)
{
	if (s->spi || !p->lay.udp)
		return;
	p->expect = E_NONESP;
	expect_nonesp(p, p->len - p->lay.udp);
}

static void m_ip_len(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_ip_ihl(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_ip_csum(struct gen *g, struct spec *s, struct pkt *p)
{
	p->frame[p->lay.ip + 10] ^= 1 + rng_below(&g->r, 255);
	forge(p, "%s", "header checksum");
}

static void m_ip_version(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_ip_proto(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_outer_benign(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_trailer(struct gen *g, struct spec *s, struct pkt *p)
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
static void encap_fate(struct gen *g, struct pkt *p)
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

static void m_udp_len(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_udp_csum(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_udp_sport(struct gen *g, struct spec *s, struct pkt *p)
{
	u8 *udp = p->frame + p->lay.udp;
	u16 port = 1024 + rng_below(&g->r, 60000);

	set16(udp, port);
	encap_fix_csum(g, p, false);
	snprintf(p->detail, sizeof(p->detail), "port %u", port);
}

static void m_udp_dport(struct gen *g, struct spec *s, struct pkt *p)
{
	set16(p->frame + p->lay.udp + 2, ENCAP_PORT + 1);
	encap_fix_csum(g, p, false);
	forge(p, "%s", "port 4501");
}

/* 4 zero bytes after the UDP header: an IKE packet, for the socket. */
static void m_nonesp_marker(struct gen *g, struct spec *s, struct pkt *p)
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

static void m_keepalive(struct gen *g, struct spec *s, struct pkt *p)
{
	p->len = p->lay.udp + UDP_HLEN + 1;
	p->frame[p->len - 1] = 0xff;
	fix_ip_len_only(g, p);
	set16(p->frame + p->lay.udp + 4, UDP_HLEN + 1);
	encap_fix_csum(g, p, false);
	p->klass = K_FORG;
	p->expect = E_SILENT;
}

static void m_ike_short(struct gen *g, struct spec *s, struct pkt *p)
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
static void m_encap_mismatch(struct gen *g, struct spec *s, struct pkt *p)
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

/* ---------------------------------------------------------- carriers */

static void c_frag(struct gen *g, struct spec *s, struct pkt *p)
{
	p->carrier = CARRIER_FRAG;
}

static void c_frag_overlap(struct gen *g, struct spec *s, struct pkt *p)
{
	p->carrier = CARRIER_FRAG_OVERLAP;
	p->expect = E_DROP;
}

static void c_frag_missing(struct gen *g, struct spec *s, struct pkt *p)
{
	p->carrier = CARRIER_FRAG_MISSING;
	p->expect = E_DROP;
}

static void c_frag_dup(struct gen *g, struct spec *s, struct pkt *p)
{
	p->carrier = CARRIER_FRAG_DUP;
}

static void c_frag_tiny(struct gen *g, struct spec *s, struct pkt *p)
{
	p->carrier = CARRIER_FRAG_TINY;
}

static void c_ring(struct gen *g, struct spec *s, struct pkt *p)
{
	p->carrier = CARRIER_RING;
	if (rng_chance(&g->r, 30))
		s->payload_len = 1400 + rng_below(&g->r, 12000);
}

#define ANY	0
#define NOESN	F_ESN

static const struct mutation mutations[] = {
	{ "valid", 300, 0, 0, m_valid, NULL },
	{ "valid-large", 15, 0, 0, m_valid_large, NULL },
	{ "seq-jump", 30, 0, 0, m_seq_jump, NULL, true },
	{ "seq-old-in-window", 30, 0, 0, m_seq_old, NULL, true },
	{ "seq-window-edge", 10, 0, 0, m_seq_edge, NULL },
	{ "seq-too-old", 20, 0, 0, m_seq_too_old, NULL, true },
	{ "seq-zero", 5, 0, NOESN, m_seq_zero, NULL, true },
	{ "esn-wrap", 5, F_ESN, 0, m_esn_wrap, NULL },
	{ "esn-hi-wrong", 15, F_ESN, 0, m_esn_hi, NULL, true },
	{ "replay", 30, 0, 0, m_replay, m_replay_post },
	{ "pad-extra", 25, F_ESP, 0, m_pad_extra, NULL, true },
	{ "pad-len-field", 40, F_ESP, 0, m_pad_field, NULL, true },
	{ "pad-bytes", 15, F_ESP, 0, m_pad_bytes, NULL, true },
	{ "next-header", 40, 0, 0, m_nexthdr, NULL },
	{ "dummy", 15, F_ESP, 0, m_dummy, NULL, true },
	{ "tfc-pad", 20, 0, 0, m_tfc, NULL, true },
	{ "ct-unaligned", 15, F_ESP, 0, m_ct_unaligned, NULL, true },
	{ "inner-udp-len", 30, 0, 0, m_inner_udp_len, NULL, true },
	{ "inner-ip-len", 20, F_TUNNEL, 0, m_inner_ip_len, NULL, true },
	{ "inner-csum", 20, 0, 0, m_inner_csum, NULL, true },
	{ "wrong-key", 15, 0, 0, m_wrong_key, NULL, true },
	{ "ip4-options", 25, F_V4, 0, m_ip4_options, NULL },
	{ "ip4-options-bad", 20, F_V4, 0, m_ip4_options_bad, NULL },
	{ "ip6-exthdrs", 25, F_V6, 0, m_ip6_exthdrs, m_ip6_exthdrs_post },
	{ "ip6-exthdrs-bad", 20, F_V6, 0, m_ip6_exthdrs_bad, NULL },
	{ "ah-len", 30, F_AH, 0, m_ah_len, NULL },
	{ "ah-full-icv", 10, F_AH, 0, m_ah_full_icv, NULL },
	{ "ah-reserved", 5, F_AH, 0, m_ah_reserved, NULL, true },
	{ "ah-pad", 5, F_AH, 0, m_ah_pad, NULL, true },
	{ "outer-fields", 15, 0, 0, m_outer_fields, NULL },
	{ "trunc", 60, 0, 0, m_trunc, m_trunc_post },
	{ "flip-icv", 40, 0, 0, NULL, m_flip_icv, true },
	{ "flip-body", 40, 0, 0, NULL, m_flip_body },
	{ "spi", 20, 0, 0, m_spi, m_spi_post },
	{ "ip-len", 25, 0, 0, NULL, m_ip_len },
	{ "ip-ihl", 10, F_V4, 0, NULL, m_ip_ihl },
	{ "ip-csum", 5, F_V4, 0, NULL, m_ip_csum },
	{ "ip-version", 5, 0, 0, NULL, m_ip_version },
	{ "ip-proto", 10, 0, 0, NULL, m_ip_proto },
	{ "outer-benign", 20, 0, 0, NULL, m_outer_benign },
	{ "trailer", 10, 0, 0, NULL, m_trailer },
	{ "udp-len", 20, F_ENCAP, 0, NULL, m_udp_len },
	{ "udp-csum", 15, F_ENCAP, 0, NULL, m_udp_csum },
	{ "udp-sport", 10, F_ENCAP, 0, NULL, m_udp_sport },
	{ "udp-dport", 5, F_ENCAP, 0, NULL, m_udp_dport },
	{ "nonesp-marker", 10, F_ENCAP, 0, NULL, m_nonesp_marker },
	{ "keepalive", 5, F_ENCAP, 0, NULL, m_keepalive },
	{ "ike-short", 5, F_ENCAP, 0, NULL, m_ike_short },
	{ "encap-mismatch", 10, F_ESP, 0, NULL, m_encap_mismatch },
	{ "frag", 40, F_FRAG, 0, c_frag, NULL },
	{ "frag-overlap", 10, F_FRAG, 0, c_frag_overlap, NULL },
	{ "frag-missing", 10, F_FRAG, 0, c_frag_missing, NULL },
	{ "frag-dup", 10, F_FRAG, 0, c_frag_dup, NULL },
	{ "frag-tiny", 10, F_FRAG, 0, c_frag_tiny, NULL },
	{ "ring", 30, 0, 0, c_ring, NULL },
};

/* An ESP-in-UDP mismatch needs the encap socket: every case has one. */

static unsigned int mcase_features(const struct mcase *c, unsigned int flags)
{
	unsigned int f = 0;

	f |= c->xf->kind == XF_AH ? F_AH : F_ESP;
	f |= c->encap ? F_ENCAP : F_NOENCAP;
	f |= c->family == 4 ? F_V4 : F_V6;
	f |= c->mode == MODE_TUNNEL ? F_TUNNEL :
	     c->mode == MODE_BEET ? F_BEET : F_TRANSPORT;
	if (c->esn)
		f |= F_ESN;
	if (c->xf->block > 1)
		f |= F_BLOCK;
	if (!(flags & GEN_NO_FRAG))
		f |= F_FRAG;
	return f;
}

static bool applies(const struct mutation *m, unsigned int feat)
{
	return (m->need & feat) == m->need && !(m->avoid & feat);
}

void mutation_list(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mutations); i++)
		printf("%s\n", mutations[i].name);
}

bool mutation_known(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mutations); i++)
		if (!strcmp(mutations[i].name, name))
			return true;
	return false;
}

static const struct mutation *pick(struct gen *g, const char *only)
{
	unsigned int i, total = 0, r;

	for (i = 0; i < ARRAY_SIZE(mutations); i++) {
		if (!applies(&mutations[i], g->feat))
			continue;
		if (only && strcmp(only, mutations[i].name))
			continue;
		total += mutations[i].weight;
	}
	if (!total)
		return &mutations[0];
	r = rng_below(&g->r, total);
	for (i = 0; i < ARRAY_SIZE(mutations); i++) {
		if (!applies(&mutations[i], g->feat))
			continue;
		if (only && strcmp(only, mutations[i].name))
			continue;
		if (r < mutations[i].weight)
			return &mutations[i];
		r -= mutations[i].weight;
	}
	return &mutations[0];
}

struct gen *gen_new(const struct build_ctx *b, u64 seed, unsigned int flags)
{
	struct gen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->b = b;
	g->flags = flags;
	rng_seed(&g->r, seed);
	g->feat = mcase_features(b->c, flags);
	g->issued = b->c->seq_start;
	g->acc_top = b->c->seq_start;
	return g;
}

void gen_free(struct gen *g)
{
	free(g);
}

void gen_batch_done(struct gen *g)
{
}

static void save_for_replay(struct gen *g, const struct pkt *p)
{
	struct saved *sv;

	if (p->len > sizeof(sv->frame) || p->carrier != CARRIER_WHOLE)
		return;
	if (g->nsaved < SAVED_MAX)
		sv = &g->saved[g->nsaved++];
	else
		sv = &g->saved[rng_below(&g->r, SAVED_MAX)];
	sv->id = p->id;
	sv->seq = p->seq;
	sv->len = p->len;
	sv->lay = p->lay;
	memcpy(sv->frame, p->frame, p->len);
}

/* pad_len encodings of the pre mutations: see resolve_pad(). */
static void resolve_pad(const struct gen *g, struct spec *s)
{
	const struct xform *xf = g->b->c->xf;
	unsigned int body, least, align = xf->align;
	int k;

	if (s->pad_len >= -1 || xf->kind == XF_AH)
		return;
	body = s->payload_len + UDP_HLEN + s->tfc;
	if (g->b->c->mode == MODE_TUNNEL)
		body += g->b->c->inner_family == 4 ? IP4_HLEN : IP6_HLEN;
	if (s->dummy)
		body = s->payload_len + s->tfc;
	least = (align - (body + 2) % align) % align;
	if (s->pad_len <= -100) {		/* unaligned by -100 - k bytes */
		k = -100 - s->pad_len;
		s->pad_len = least + k;
		if (s->pad_len > 255)
			s->pad_len -= align;
		return;
	}
	k = -2 - s->pad_len;			/* k whole units more */
	while (least + k * align > 255)
		k--;
	s->pad_len = least + k * align;
}

int gen_next(struct gen *g, u64 id, struct pkt *p, const char *only_mut)
{
	const struct mutation *m;
	struct spec s;
	struct probe pr = { 0 };
	bool fresh;

	p->id = id;
	p->klass = K_AUTH;
	p->expect = E_DELIVER;
	p->carrier = CARRIER_WHOLE;
	p->detail[0] = 0;
	p->nonesp_hash = 0;
	p->expect_reasm = 0;
	p->replay_of = 0;
	g->mutable_len = 0;

	if (g->npending) {
		pr = g->pending[0];
		memmove(g->pending, g->pending + 1,
			--g->npending * sizeof(pr));
		m = &mutations[0];
		spec_default(g->b, &s, pr.seq);
		p->expect = pr.expect;
		snprintf(p->detail, sizeof(p->detail), "%s", pr.why);
		fresh = false;
	} else {
		m = pick(g, only_mut);
		spec_default(g->b, &s, seq_fresh(g));
		fresh = true;
	}
	p->mutation = pr.why ? "seq-window-edge" : m->name;
	s.payload_len = pick_payload(g);
	if (m->pre && fresh)
		m->pre(g, &s, p);
	/* before sealing: AH covers the IPv4 ID the fragments carry */
	if (fresh && m->pre != c_ring)
		pick_carrier(g, m, p);
	if (p->carrier >= CARRIER_FRAG)
		s.v4_id = frag_id(g);
	resolve_pad(g, &s);
	if (build_packet(g->b, &s, p, &g->r))
		return -1;
	if (m->post && fresh)
		m->post(g, &s, p);
	/* a post mutation made it one that need not arrive: send it whole */
	if (p->carrier == CARRIER_FRAG && p->expect != E_DELIVER && !m->fragok)
		p->carrier = CARRIER_WHOLE;
	if (p->carrier >= CARRIER_FRAG)
		p->expect_reasm = p->carrier != CARRIER_FRAG_OVERLAP &&
				  p->carrier != CARRIER_FRAG_MISSING;
	encap_fate(g, p);

	if (p->expect == E_DELIVER && p->seq > g->acc_top &&
	    strcmp(m->name, "replay"))
		g->acc_top = p->seq;
	if (p->expect == E_DELIVER && p->klass == K_AUTH)
		save_for_replay(g, p);
	return 0;
}
