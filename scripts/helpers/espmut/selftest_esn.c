// SPDX-License-Identifier: GPL-2.0
/*
 * The generator's ESN numbers against a model of the receiver written
 * from RFC 4303 A2.2, not from the generator.
 *
 * The receiver infers a packet's high half from its window top, and the
 * top moves only when a packet authenticates. Packets that need not
 * arrive leave the top behind the last number the generator used, by
 * the numbers they took. Wherever the top is in between, a packet that
 * must arrive must have the high half the receiver infers, and a packet
 * sealed over another high half must never have it (it would be
 * delivered).
 *
 * The generator is put just after a wrap, with the top 0 to LAG_MAX
 * numbers behind, at each low half where esn-wrap's jump to the next
 * wrap is near the farthest the receiver can follow: where esn-wrap once
 * measured the jump from the last number used instead of the top.
 */
#include <stdio.h>
#include <string.h>

#include "mutate.h"

#define LAG_MAX		4
#define WRAP_LOW_MAX	64	/* esn-wrap's low halves: 1 to this */
#define PKTS_PER_STATE	3	/* esn-wrap, then what follows it */

struct esn_model {
	u64 low_top, high_top;	/* where the receiver's top may be */
	u32 window;
	unsigned int bad;
};

/* RFC 4303 A2.2: the high half the receiver takes for low half @lo. */
static u32 receiver_hi(u64 top, u32 window, u32 lo)
{
	u32 th = top >> 32, tl = (u32)top;
	u32 bl = tl - window + 1;	/* the window's bottom, may wrap */
	bool one_half = tl >= window - 1;

	if (one_half)
		return lo >= bl ? th : th + 1;
	return lo >= bl ? th - 1 : th;
}

/* The high half @p was sealed over: esn-hi-wrong says how far off. */
static u32 sealed_hi(const struct pkt *p)
{
	int delta = 0;

	if (!strcmp(p->mutation, "esn-hi-wrong"))
		sscanf(p->detail, "hi%d", &delta);
	return (u32)(p->seq >> 32) + delta;
}

static void esn_complain(struct esn_model *m, const struct pkt *p,
			 u64 top, const char *what)
{
	if (m->bad++ < 5)
		printf("# esn: %s packet %s [%s] seq 0x%llx, top 0x%llx, window %u: %s\n",
		       p->expect == E_DELIVER ? "a valid" : "a forged",
		       p->mutation, p->detail, (unsigned long long)p->seq,
		       (unsigned long long)top, m->window, what);
}

/* Whether the receiver at @top takes @p's high half as @p's ICV has it. */
static bool esn_check_at(struct esn_model *m, const struct pkt *p, u64 top)
{
	u32 hi = sealed_hi(p);
	bool same = receiver_hi(top, m->window, (u32)p->seq) == hi;

	if (p->expect == E_DELIVER && !same)
		esn_complain(m, p, top, "the receiver infers another high half");
	if (p->expect == E_DROP && hi != (u32)(p->seq >> 32) && same)
		esn_complain(m, p, top, "the receiver infers the forged high half");
	return same;
}

/*
 * Checks @p at both ends of where the top may be, then moves them: the
 * low end only for a packet the receiver must take and can (a packet it
 * misjudged leaves its top behind, as the kernel's does), the high end
 * for any number used.
 */
static void esn_check(struct esn_model *m, const struct pkt *p)
{
	bool low_ok = esn_check_at(m, p, m->low_top);

	esn_check_at(m, p, m->high_top);
	if (p->expect == E_DELIVER && low_ok && p->seq > m->low_top)
		m->low_top = p->seq;
	if (p->seq > m->high_top)
		m->high_top = p->seq;
}

/* One generator state: the top @lag behind the last number used. */
static int esn_state(struct gen *g, struct esn_model *m, u64 top,
		     unsigned int lag)
{
	static u8 frame[FRAME_MAX + 128];
	static const char * const muts[PKTS_PER_STATE] = {
		"esn-wrap", "esn-hi-wrong", "valid",
	};
	struct pkt p = { .frame = frame };
	unsigned int i;

	g->acc_top = top;
	g->issued = top + lag;
	g->npending = 0;
	m->low_top = top;
	m->high_top = top + lag;
	for (i = 0; i < PKTS_PER_STATE; i++) {
		if (gen_next(g, i + 1, &p, muts[i]))
			return -1;
		esn_check(m, &p);
	}
	return 0;
}

/* Every low half near the limit of esn-wrap, each lag, one window. */
static int esn_window(const struct build_ctx *b, struct esn_model *m)
{
	u64 base = 5ull << 32, lo;
	unsigned int lag;
	struct gen *g = gen_new(b, 0x65736e, GEN_NO_FRAG | GEN_NO_RING);

	if (!g)
		return -1;
	m->window = b->c->replay_window;
	for (lag = 0; lag <= LAG_MAX; lag++)
		for (lo = m->window; lo <= m->window + WRAP_LOW_MAX + LAG_MAX;
		     lo++)
			if (esn_state(g, m, base | lo, lag)) {
				gen_free(g);
				return -1;
			}
	gen_free(g);
	return 0;
}

/* One ESN case of each replay window; returns the packets misjudged. */
int selftest_esn(const struct mcase *cases, unsigned int n)
{
	struct esn_model m = { 0 };
	u32 done[8];
	unsigned int i, j, ndone = 0, bad = 0;
	struct build_ctx b = { 0 };

	for (i = 0; i < n && ndone < ARRAY_SIZE(done); i++) {
		for (j = 0; j < ndone; j++)
			if (done[j] == cases[i].replay_window)
				break;
		if (!cases[i].esn || j < ndone)
			continue;
		done[ndone++] = cases[i].replay_window;
		b.c = &cases[i];
		b.sc = sa_crypto_new(b.c, b.c->enc_key, b.c->auth_key);
		b.sc_wrong = b.sc;
		if (!b.sc || esn_window(&b, &m))
			bad++;
		sa_crypto_free(b.sc);
	}
	printf("# esn: %u windows, %u packets misjudged\n", ndone, m.bad);
	return bad + m.bad;
}
