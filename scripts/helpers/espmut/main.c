// SPDX-License-Identifier: GPL-2.0
/*
 * espmut: the command line and the run loop. See espmut.h for the parts
 * and README.mutator.md for how it is run.
 *
 * Output is TAP-like: one "ok N - CASE ..." line per case (a case passes
 * when every batch of it balanced and every delivery check held), "# "
 * lines for progress and diagnostics, and a last "N passed, N failed"
 * line. Every run prints its seed; a failure prints the command that
 * replays just that case.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "espmut.h"

#define MAX_CASES	256

bool verbose;

struct opts {
	u64 packets;
	u64 per_case_pkts;
	u64 seed;
	const char *only, *filter, *mutation, *impl;
	unsigned int batch, timeout;
	unsigned int gen_flags;
	bool per_packet, list, list_mut, selftest_only, no_selftest;
};

struct results {
	unsigned int passed, failed, skipped;
	u64 packets;
	u64 ms;
};

u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

void hexdump(const char *title, const u8 *data, unsigned int len)
{
	unsigned int i, n = MIN(len, 512u);

	printf("# %s (%u bytes%s):", title, len, n < len ? ", first 512" : "");
	for (i = 0; i < n; i++)
		printf("%s%02x", i % 32 ? (i % 4 ? "" : " ") : "\n#   ", data[i]);
	printf("\n");
}

static void show_help(void)
{
	puts("usage: espmut [--impl espah|intree] [--packets N | --case-packets N]\n"
	     "  [--seed N] [--only CASE] [--filter STR] [--mutation NAME]\n"
	     "  [--batch N] [--per-packet] [--timeout MS] [--no-frag] [--no-ring]\n"
	     "  [--list] [--list-mutations] [--selftest] [--no-selftest] [-v]\n"
	     "Needs the namespaces murx and mutx joined by veth mr0/mt0\n"
	     "(scripts/guest/mutate.sh makes them).");
	exit(2);
}

static void parse_one(struct opts *o, int c)
{
	switch (c) {
	case 'n':
		o->packets = strtoull(optarg, NULL, 0);
		break;
	case 'k':
		o->per_case_pkts = strtoull(optarg, NULL, 0);
		break;
	case 's':
		o->seed = strtoull(optarg, NULL, 0);
		break;
	case 'o':
		o->only = optarg;
		break;
	case 'f':
		o->filter = optarg;
		break;
	case 'm':
		o->mutation = optarg;
		break;
	case 'b':
		o->batch = atoi(optarg);
		break;
	case 't':
		o->timeout = atoi(optarg);
		break;
	case 'i':
		o->impl = optarg;
		break;
	case 'p':
		o->per_packet = true;
		break;
	case 'l':
		o->list = true;
		break;
	case 'L':
		o->list_mut = true;
		break;
	case 'S':
		o->selftest_only = true;
		break;
	case 'N':
		o->no_selftest = true;
		break;
	case 'F':
		o->gen_flags |= GEN_NO_FRAG;
		break;
	case 'R':
		o->gen_flags |= GEN_NO_RING;
		break;
	case 'v':
		verbose = true;
		break;
	default:
		show_help();
	}
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "packets", 1, 0, 'n' }, { "case-packets", 1, 0, 'k' },
		{ "seed", 1, 0, 's' }, { "only", 1, 0, 'o' },
		{ "filter", 1, 0, 'f' }, { "mutation", 1, 0, 'm' },
		{ "batch", 1, 0, 'b' }, { "timeout", 1, 0, 't' },
		{ "impl", 1, 0, 'i' }, { "per-packet", 0, 0, 'p' },
		{ "list", 0, 0, 'l' }, { "list-mutations", 0, 0, 'L' },
		{ "selftest", 0, 0, 'S' }, { "no-selftest", 0, 0, 'N' },
		{ "no-frag", 0, 0, 'F' }, { "no-ring", 0, 0, 'R' },
		{ "verbose", 0, 0, 'v' }, { "help", 0, 0, 'h' }, { 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->packets = 100000;
	o->batch = 200;
	o->timeout = 3000;
	o->impl = "espah";
	o->seed = (u64)time(NULL) ^ (u64)getpid() << 20;
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1)
		parse_one(o, c);
	if (o->per_packet)
		o->batch = 1;
	if (!o->batch)
		o->batch = 1;
	if (o->mutation && !mutation_known(o->mutation)) {
		fprintf(stderr, "espmut: no mutation '%s' (--list-mutations)\n",
			o->mutation);
		exit(2);
	}
}

static bool selected(const struct opts *o, const struct mcase *c)
{
	char num[16];

	snprintf(num, sizeof(num), "%u", c->id);
	if (o->only)
		return !strcmp(o->only, c->name) || !strcmp(o->only, num);
	return !o->filter || strstr(c->name, o->filter);
}

static void pin_cpu(void)
{
	cpu_set_t set;

	/* one CPU: the receive side sees the packets in the order sent */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static u64 mcase_seed(u64 seed, const struct mcase *c)
{
	return seed * 0x9e3779b97f4a7c15ull + (c->id + 1) * 0xbf58476d1ce4e5b9ull;
}

struct run {
	const struct opts *o;
	struct wire *w;
	struct acct *a;
	u32 run_id;
	u64 per_case;
	struct results res;
};

static void replay_hint(const struct run *rn, const struct mcase *c)
{
	printf("# replay: scripts/run-mutate.sh --kernel %s --impl %s",
	       getenv("ESPAH_KERNEL") ? getenv("ESPAH_KERNEL") : "KERNEL",
	       rn->o->impl);
	printf(" --seed %llu --only %s --case-packets %llu%s%s%s\n",
	       (unsigned long long)rn->o->seed, c->name,
	       (unsigned long long)rn->per_case,
	       rn->o->mutation ? " --mutation " : "",
	       rn->o->mutation ? rn->o->mutation : "",
	       rn->o->per_packet ? "" : " (add --per-packet to find the packet)");
}

/* Sends one case's packets in batches; 0 if every batch balanced. */
static int run_batches(struct run *rn, const struct mcase *c,
		       const struct build_ctx *b, char *why, size_t n,
		       u64 *sent_out)
{
	static u8 frame[FRAME_MAX + 128];
	const struct opts *o = rn->o;
	struct gen *g = gen_new(b, mcase_seed(o->seed, c), o->gen_flags);
	struct rng wr;
	struct pkt p = { .frame = frame };
	u64 sent = 0, t_send = 0, t_check = 0, t_gen = 0, t, tg;
	unsigned int i, batch = 0;
	int err = 0;

	if (!g)
		return -1;
	rng_seed(&wr, mcase_seed(o->seed, c) ^ 0x77697265);
	wire_set_frag_ids(rn->w, (u32)mcase_seed(o->seed, c));
	acct_case_begin(rn->a, c->id, c->spi);
	while (sent < rn->per_case && !err) {
		t = now_ms();
		acct_batch_begin(rn->a);
		for (i = 0; i < o->batch && sent < rn->per_case; i++) {
			u64 id = (u64)c->id << 32 | (sent + 1);

			sent++;
			tg = now_ms();
			err = gen_next(g, id, &p, o->mutation);
			t_gen += now_ms() - tg;
			if (err) {
				snprintf(why, n, "cannot build packet #%llu",
					 (unsigned long long)id);
				err = -1;
				break;
			}
			if (wire_send(rn->w, &p, &wr))
				printf("# packet #%llu (%s, %u bytes) not sent: %m\n",
				       (unsigned long long)id, p.mutation, p.len);
			acct_sent(rn->a, &p);
			if (i % 32 == 31)
				acct_drain(rn->a);
		}
		t_send += now_ms() - t;
		t = now_ms();
		if (!err)
			err = acct_batch_end(rn->a, o->timeout, why, n);
		t_check += now_ms() - t;
		if (!err)
			err = wire_ring_check(rn->w, why, n);
		if (err)
			printf("# case %s, batch %u (packets %llu..%llu) failed: %s\n",
			       c->name, batch, (unsigned long long)(sent - i + 1),
			       (unsigned long long)sent, why);
		batch++;
	}
	if (verbose)
		printf("#   %llu ms sending (%llu building), %llu ms accounting\n",
		       (unsigned long long)t_send, (unsigned long long)t_gen,
		       (unsigned long long)t_check);
	gen_free(g);
	*sent_out = sent;
	return err;
}

static void other_keys(const struct mcase *c, u8 *ek, u8 *ak)
{
	unsigned int i;

	for (i = 0; i < sizeof(c->enc_key); i++) {
		ek[i] = c->enc_key[i] ^ 0x5a;
		ak[i] = c->auth_key[i] ^ 0xa5;
	}
}

static void run_case(struct run *rn, const struct mcase *c, unsigned int tap)
{
	struct build_ctx b = { .c = c, .run = rn->run_id,
				.intree = !strcmp(rn->o->impl, "intree") };
	u8 ek[64], ak[64];
	char why[512] = "";
	u64 t0 = now_ms(), t1, sent = 0;
	int err;

	printf("# [%u] %s: %llu packets, replay window %u\n", tap, c->name,
	       (unsigned long long)rn->per_case, c->replay_window);
	fflush(stdout);
	err = mcase_install(c, verbose);
	if (verbose)
		printf("#   SA and policy set up in %llu ms\n",
		       (unsigned long long)(now_ms() - t0));
	if (err) {
		if (!strcmp(rn->o->impl, "intree")) {
			printf("ok %u - %s # SKIP the in-tree stack refused the SA\n",
			       tap, c->name);
			rn->res.skipped++;
		} else {
			printf("not ok %u - %s # ip xfrm refused the SA or policy\n",
			       tap, c->name);
			rn->res.failed++;
		}
		return;
	}
	t1 = now_ms();
	if (wire_set_gro(rn->w, c->gro) && verbose)
		printf("# GRO %s on mr0 failed: %m\n", c->gro ? "on" : "off");
	if (verbose)
		printf("#   GRO %s in %llu ms\n", c->gro ? "on" : "off",
		       (unsigned long long)(now_ms() - t1));
	other_keys(c, ek, ak);
	b.sc = sa_crypto_new(c, c->enc_key, c->auth_key);
	b.sc_wrong = sa_crypto_new(c, ek, ak);
	wire_macs(rn->w, b.src_mac, b.dst_mac);
	if (!b.sc || !b.sc_wrong) {
		err = -1;
		snprintf(why, sizeof(why), "OpenSSL cannot do %s", c->xf->name);
	} else {
		err = run_batches(rn, c, &b, why, sizeof(why), &sent);
	}
	sa_crypto_free(b.sc);
	sa_crypto_free(b.sc_wrong);
	mcase_uninstall();
	rn->res.packets += sent;
	rn->res.ms += now_ms() - t0;
	if (err) {
		printf("not ok %u - %s # %s\n", tap, c->name, why);
		mcase_print_ip(c, stdout, true);
		replay_hint(rn, c);
		rn->res.failed++;
	} else {
		printf("ok %u - %s: %llu packets accounted for (%.0f packets/s)\n",
		       tap, c->name, (unsigned long long)sent,
		       sent * 1000.0 / MAX(now_ms() - t0, 1ull));
		rn->res.passed++;
	}
	fflush(stdout);
}

static void summary(struct run *rn, unsigned int tap)
{
	char buf[1024];
	int left;

	/* incomplete fragment sets expire after ipfrag_time (5 s here) */
	left = acct_frag_settle(rn->a, 12000);
	if (left) {
		printf("not ok %u - fragment queues empty at the end # %d left\n",
		       tap, left);
		rn->res.failed++;
	} else {
		printf("ok %u - fragment queues empty at the end\n", tap);
		rn->res.passed++;
	}
	acct_totals(rn->a, buf, sizeof(buf));
	printf("# totals: %s\n", buf);
	acct_run_counters(rn->a);
	printf("# rate: %llu packets in %.1f s: %.0f packets/s (seed %llu)\n",
	       (unsigned long long)rn->res.packets, rn->res.ms / 1000.0,
	       rn->res.packets * 1000.0 / MAX(rn->res.ms, 1ull),
	       (unsigned long long)rn->o->seed);
	if (rn->res.skipped)
		printf("%u passed, %u failed, %u skipped\n", rn->res.passed,
		       rn->res.failed, rn->res.skipped);
	else
		printf("%u passed, %u failed\n", rn->res.passed, rn->res.failed);
}

static void self_report(struct run *rn, unsigned int tap, int bad,
			const char *what)
{
	printf("%s %u - %s%s\n", bad ? "not ok" : "ok", tap, what,
	       bad ? " # see above" : "");
	if (bad)
		rn->res.failed++;
	else
		rn->res.passed++;
}

int main(int argc, char **argv)
{
	static struct mcase cases[MAX_CASES];
	struct opts o;
	struct run rn = { .o = &o };
	unsigned int n, i, nsel = 0, tap = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv, &o);
	n = cases_build(cases, MAX_CASES);
	if (o.list_mut) {
		mutation_list();
		return 0;
	}
	for (i = 0; i < n; i++)
		nsel += selected(&o, &cases[i]);
	if (o.list) {
		for (i = 0; i < n; i++)
			if (selected(&o, &cases[i]))
				printf("%u %s\n", cases[i].id, cases[i].name);
		return 0;
	}
	printf("# espmut: seed %llu (replay with --seed %llu), impl %s, %u of %u cases\n",
	       (unsigned long long)o.seed, (unsigned long long)o.seed, o.impl,
	       nsel, n);
	if (!o.no_selftest) {
		self_report(&rn, ++tap, selftest_vectors(verbose),
			    "the builder's crypto against the published vectors");
		self_report(&rn, ++tap, selftest_esn(cases, n),
			    "the generator's ESN numbers against the receiver's high half");
	}
	if (o.selftest_only) {
		printf("%u passed, %u failed\n", rn.res.passed, rn.res.failed);
		return !!rn.res.failed;
	}
	if (!nsel) {
		fprintf(stderr, "espmut: no case selected (--list)\n");
		return 2;
	}
	rn.per_case = (o.packets + nsel - 1) / nsel;
	if (o.per_case_pkts)
		rn.per_case = o.per_case_pkts;
	rn.run_id = (u32)(o.seed ^ (o.seed >> 32) ^ 0x6d757461);
	pin_cpu();
	rn.w = wire_open(verbose);
	if (!rn.w || xfrmnl_open())
		return 1;
	rn.a = acct_open(rn.run_id, rn.per_case, !strcmp(o.impl, "espah"));
	if (!rn.a)
		return 1;
	for (i = 0; i < n; i++)
		if (selected(&o, &cases[i]))
			run_case(&rn, &cases[i], ++tap);
	summary(&rn, ++tap);
	wire_close(rn.w);
	acct_close(rn.a);
	return rn.res.failed ? 1 : 0;
}
