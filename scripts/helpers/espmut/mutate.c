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

#include "mutate.h"

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

unsigned int sweep(struct gen *g, unsigned int slot, unsigned int n)
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

unsigned int max_payload(const struct gen *g)
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

void forge(struct pkt *p, const char *fmt, ...)
{
	va_list ap;

	p->klass = K_FORG;
	p->expect = E_DROP;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

void muta(struct pkt *p, u8 expect)
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

/*
 * Whether the receiver infers the high half of @seq right wherever its
 * window top is. The top only moves when a packet authenticates, so it
 * may be as low as acc_top: the numbers that dropped packets used after
 * it moved nothing. With a window of W and a top T, the receiver takes
 * the high half that puts the number in [T - W + 1, T - W + 2^32]
 * (RFC 4303 A2.2); above that it guesses one too low, and the ICV fails.
 */
static bool esn_inferable(const struct gen *g, u64 seq)
{
	return seq > g->acc_top && seq - g->acc_top <= (1ull << 32) - window(g);
}

/* ESN: the low half wraps; the receiver must infer the high half. */
static void m_esn_wrap(struct gen *g, struct spec *s, struct pkt *p)
{
	u64 next = ((g->issued >> 32) + 1) << 32 | (1 + rng_below(&g->r, 64));

	/* measured from issued, a top left behind infers the old half */
	if (!esn_inferable(g, next))
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
