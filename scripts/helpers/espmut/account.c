// SPDX-License-Identifier: GPL-2.0
/*
 * Where every packet went.
 *
 * A batch balances when the packets that entered the receiver's IP layer
 * as units (whole frames, plus the datagrams the fragments of a packet
 * reassembled into) equal what was delivered plus what the kernel counted
 * as dropped. The drop counters are terminal ones, each bumped once per
 * packet that ends there: IP and UDP errors before and after xfrm (the
 * same counters see the outer and, after decapsulation, the inner
 * packet), every XfrmIn* counter, the ICMP/TCP input counters for inner
 * packets a next-header mutation sent there, and the veth drop counters.
 * espah's /proc/net/espah says why the transform dropped; its counters
 * must add up to XfrmInStateProtoError, which counts the same packets.
 *
 * Every datagram that reaches the marker socket must carry a marker of
 * this run and case whose payload arrived intact, of a packet that may
 * be delivered, once; what reaches the UDP-encapsulation socket must be a
 * non-ESP datagram that was sent as one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "espmut.h"

#define RCVBUF		(16 << 20)
#define MMSG		16
#define BAD_SHOWN	3

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP	2
#endif

struct rec {
	u64 id, marker_id;
	u32 klass;
	u8 expect, carrier;
	const char *mutation;
	char detail[48];
	u64 seq;
	unsigned int len, frames;
	u8 *frame;
	u32 nonesp_hash;
	bool nonesp_seen;
	unsigned int delivered;
	unsigned int expect_reasm;
	struct marker mk;
};

struct acct {
	u32 run;
	bool espah;
	struct counters k;
	int sock[4];			/* marker v4, v6; encap v4, v6 */
	u8 *dlv;			/* deliveries per packet of the case */
	u64 max_pkts;
	u32 case_id;
	struct rec *recs;
	unsigned int nrecs, cap;
	struct snap before, after;
	struct snap moved_run;		/* what moved over the whole run */
	struct delivery d, total;
	unsigned int nbad;
	char bad_why[240];
	u64 units, silent, reasm, frames, sent, unsent;
	u64 total_sent, total_frames, total_units, total_silent;
	u64 total_drops;
	u64 exp_count[5], exp_done[5];
	u8 rbuf[MMSG][65536];
};

static u64 delta(const struct acct *a, const char *name)
{
	return snap_delta(&a->before, &a->after, name);
}

static u64 terminal_sum(const struct acct *a)
{
	return snap_terminal(&a->before, &a->after);
}

static void moved(const struct acct *a, char *buf, size_t n, bool all)
{
	snap_moved(&a->before, &a->after, buf, n, all);
}

/* ------------------------------------------------------------ sockets */

static int udp_socket(int family, int port, bool encap)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port) };
	struct sockaddr_in s4 = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd, one = 1, sz = RCVBUF, e = UDP_ENCAP_ESPINUDP;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, family == AF_INET ? (struct sockaddr *)&s4 :
		 (struct sockaddr *)&s6,
		 family == AF_INET ? sizeof(s4) : sizeof(s6)) ||
	    (encap && setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &e, sizeof(e)))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void bad(struct acct *a, const char *why, const u8 *data,
		unsigned int len, const struct rec *r)
{
	if (!a->nbad++)
		snprintf(a->bad_why, sizeof(a->bad_why), "%s", why);
	if (a->nbad > BAD_SHOWN)
		return;
	printf("# DELIVERY CHECK FAILED: %s\n", why);
	hexdump("received datagram", data, len);
	if (r) {
		printf("# sent as packet #%llu (%s %s, seq %llu):\n",
		       (unsigned long long)r->id, r->mutation, r->detail,
		       (unsigned long long)r->seq);
		hexdump("frame sent", r->frame, r->len);
	}
}

/* The packet whose frame carried these bytes, if one of the batch did. */
static struct rec *rec_carrying(struct acct *a, const u8 *data, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < a->nrecs && n >= 8; i++)
		if (a->recs[i].frame &&
		    memmem(a->recs[i].frame, a->recs[i].len, data, MIN(n, 64u)))
			return &a->recs[i];
	return NULL;
}

static struct rec *rec_by_marker(struct acct *a, u64 id, bool replay)
{
	unsigned int i;

	for (i = 0; i < a->nrecs; i++)
		if (a->recs[i].marker_id == id &&
		    (replay || a->recs[i].id == id))
			return &a->recs[i];
	return NULL;
}

static const char *expect_name(u8 e)
{
	static const char *const n[] = {
		"either", "delivered", "dropped", "on the encap socket",
		"eaten silently",
	};

	return e < ARRAY_SIZE(n) ? n[e] : "?";
}

static void on_short(struct acct *a, const u8 *buf, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < a->nrecs; i++) {
		struct rec *r = &a->recs[i];

		if (r->klass == K_MUTA && r->expect == E_ANY && !r->delivered &&
		    r->mk.len == n && !memcmp(buf, &r->mk, n)) {
			r->delivered++;
			a->d.delivered++;
			a->d.by_klass[1]++;
			return;
		}
	}
	bad(a, "a datagram too short for a marker that no packet of the batch explains",
	    buf, n, NULL);
}

static void on_marker(struct acct *a, const u8 *buf, unsigned int n)
{
	const unsigned int ms = sizeof(struct marker);
	struct marker m;
	struct rec *r;
	u64 idx;
	char why[160];

	if (n < ms)
		return on_short(a, buf, n);
	memcpy(&m, buf, ms);
	r = rec_by_marker(a, m.pkt_id, false);
	if (memcmp(m.magic, MARK_MAGIC, 8) || m.run != a->run)
		return bad(a, "a datagram that is no marker of this run", buf, n,
			   rec_carrying(a, buf, n));
	if (m.case_id != a->case_id)
		return bad(a, "a marker of another case", buf, n, NULL);
	if (m.len != n || m.sum != payload_sum(m.pkt_id, buf + ms, n - ms)) {
		snprintf(why, sizeof(why),
			 "packet #%llu delivered with %u bytes, changed or cut (it promised %u)",
			 (unsigned long long)m.pkt_id, n, m.len);
		return bad(a, why, buf, n, r);
	}
	if (m.klass == K_FORG) {
		snprintf(why, sizeof(why),
			 "packet #%llu was forged after its ICV was computed, yet delivered",
			 (unsigned long long)m.pkt_id);
		return bad(a, why, buf, n, r);
	}
	idx = m.pkt_id & 0xffffffffu;
	if (idx >= a->max_pkts || a->dlv[idx]++) {
		snprintf(why, sizeof(why), "packet #%llu delivered twice (a replay got through)",
			 (unsigned long long)m.pkt_id);
		return bad(a, why, buf, n, r ? r : rec_by_marker(a, m.pkt_id, true));
	}
	a->d.delivered++;
	a->d.by_klass[m.klass == K_AUTH ? 0 : 1]++;
	if (!r)
		return;
	r->delivered++;
	if (r->expect == E_DROP || r->expect == E_NONESP) {
		snprintf(why, sizeof(why), "packet #%llu (%s %s) should have been %s",
			 (unsigned long long)r->id, r->mutation, r->detail,
			 expect_name(r->expect));
		bad(a, why, buf, n, r);
	}
}

static void on_encap(struct acct *a, const u8 *buf, unsigned int n)
{
	u32 h = fnv1a(buf, n) | 1;
	unsigned int i;

	for (i = 0; i < a->nrecs; i++) {
		struct rec *r = &a->recs[i];

		if (r->nonesp_hash == h && !r->nonesp_seen) {
			r->nonesp_seen = true;
			a->d.nonesp++;
			return;
		}
	}
	bad(a, "a datagram on the UDP-encapsulation socket that was not sent as a non-ESP one",
	    buf, n, rec_carrying(a, buf, n));
}

int acct_drain(struct acct *a)
{
	struct mmsghdr msgs[MMSG];
	struct iovec iov[MMSG];
	int i, s, n, got = 0;

	for (s = 0; s < 4; s++) {
		if (a->sock[s] < 0)
			continue;
		do {
			for (i = 0; i < MMSG; i++) {
				iov[i].iov_base = a->rbuf[i];
				iov[i].iov_len = sizeof(a->rbuf[i]);
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			n = recvmmsg(a->sock[s], msgs, MMSG, MSG_DONTWAIT, NULL);
			for (i = 0; i < n; i++) {
				if (s < 2)
					on_marker(a, a->rbuf[i], msgs[i].msg_len);
				else
					on_encap(a, a->rbuf[i], msgs[i].msg_len);
			}
			got += n > 0 ? n : 0;
		} while (n == MMSG);
	}
	return got;
}

/* ------------------------------------------------------------ batches */

struct acct *acct_open(u32 run, u64 max_pkts, bool espah)
{
	struct acct *a = calloc(1, sizeof(*a));
	int i;

	if (!a)
		return NULL;
	a->run = run;
	a->espah = espah;
	a->max_pkts = max_pkts + 1;
	a->dlv = calloc(a->max_pkts, 1);
	if (!a->dlv)
		return NULL;
	counters_open(&a->k, espah);
	a->sock[0] = udp_socket(AF_INET, MARK_PORT, false);
	a->sock[1] = udp_socket(AF_INET6, MARK_PORT, false);
	a->sock[2] = udp_socket(AF_INET, ENCAP_PORT, true);
	a->sock[3] = udp_socket(AF_INET6, ENCAP_PORT, true);
	for (i = 0; i < 4; i++)
		if (a->sock[i] < 0) {
			fprintf(stderr, "espmut: UDP socket %d in murx: %m\n", i);
			return NULL;
		}
	return a;
}

void acct_close(struct acct *a)
{
	unsigned int i;

	if (!a)
		return;
	for (i = 0; i < a->nrecs; i++)
		free(a->recs[i].frame);
	free(a->recs);
	free(a->dlv);
	free(a);
}

void acct_case_begin(struct acct *a, u32 case_id, u32 spi)
{
	a->case_id = case_id;
	a->k.spi = spi;
	memset(a->dlv, 0, a->max_pkts);
}

void acct_batch_begin(struct acct *a)
{
	unsigned int i;

	for (i = 0; i < a->nrecs; i++)
		free(a->recs[i].frame);
	a->nrecs = 0;
	memset(&a->d, 0, sizeof(a->d));
	a->nbad = 0;
	a->units = 0;
	a->silent = 0;
	a->reasm = 0;
	a->frames = 0;
	a->sent = 0;
	a->unsent = 0;
	counters_snapshot(&a->k, &a->before);
}

void acct_sent(struct acct *a, const struct pkt *p)
{
	struct rec *r;

	if (a->nrecs == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		a->recs = realloc(a->recs, a->cap * sizeof(*r));
	}
	r = &a->recs[a->nrecs++];
	memset(r, 0, sizeof(*r));
	r->id = p->id;
	r->marker_id = p->replay_of ? p->replay_of : p->id;
	r->klass = p->klass;
	r->expect = p->expect;
	r->carrier = p->carrier;
	r->mutation = p->mutation;
	memcpy(r->detail, p->detail, sizeof(r->detail));
	r->seq = p->seq;
	r->len = p->len;
	r->frames = p->frames;
	r->frame = malloc(p->len);
	if (r->frame)
		memcpy(r->frame, p->frame, p->len);
	r->nonesp_hash = p->nonesp_hash;
	r->expect_reasm = p->expect_reasm;
	r->mk = p->mk;

	a->sent++;
	a->frames += p->frames;
	if (!p->frames) {
		a->unsent++;
		return;
	}
	a->reasm += p->expect_reasm;
	if (p->expect == E_SILENT)
		a->silent++;
	else if (p->carrier >= CARRIER_FRAG)
		a->units += p->expect_reasm;
	else
		a->units++;
}

static u64 reasm_delta(const struct acct *a)
{
	return delta(a, "Ip.ReasmOKs") + delta(a, "Ip6ReasmOKs");
}

static bool balanced(const struct acct *a)
{
	return reasm_delta(a) == a->reasm &&
	       a->d.delivered + a->d.nonesp + terminal_sum(a) == a->units;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* With --per-packet, the packet that did not add up. */
static void show_small_batch(const struct acct *a)
{
	unsigned int i;

	if (a->nrecs > 4)
		return;
	for (i = 0; i < a->nrecs; i++) {
		const struct rec *r = &a->recs[i];

		printf("# packet #%llu: %s (%s), seq %llu, must be %s, carrier %u, %u frame(s)\n",
		       (unsigned long long)r->id, r->mutation, r->detail,
		       (unsigned long long)r->seq, expect_name(r->expect),
		       r->carrier, r->frames);
		hexdump("frame", r->frame, r->len);
	}
}

/* Packets that had to arrive (or to reach the encap socket) and did not. */
static int check_expectations(struct acct *a, char *why, size_t n)
{
	unsigned int i, shown = 0, missing = 0;
	struct rec *first = NULL;

	for (i = 0; i < a->nrecs; i++) {
		struct rec *r = &a->recs[i];
		bool miss = r->frames &&
			    ((r->expect == E_DELIVER && !r->delivered &&
			      !a->dlv[r->marker_id & 0xffffffffu]) ||
			     (r->expect == E_NONESP && !r->nonesp_seen));

		a->exp_count[r->expect]++;
		if (!miss) {
			a->exp_done[r->expect]++;
			continue;
		}
		missing++;
		if (!first)
			first = r;
		if (shown++ < 8)
			printf("# not %s: packet #%llu %s (%s) seq %llu, %u bytes, carrier %u\n",
			       expect_name(r->expect), (unsigned long long)r->id,
			       r->mutation, r->detail, (unsigned long long)r->seq,
			       r->len, r->carrier);
	}
	if (!missing)
		return 0;
	hexdump("first such frame", first->frame, first->len);
	snprintf(why, n, "%u packet(s) that had to be %s were not (first: #%llu %s %s)",
		 missing, expect_name(first->expect),
		 (unsigned long long)first->id, first->mutation, first->detail);
	return -1;
}

/*
 * espah's per-reason counters, of the SA and of the namespace, add up to
 * the core's count of the transform's drops.
 */
static int check_espah(const struct acct *a, char *why, size_t n)
{
	u64 e = snap_prefix(&a->before, &a->after, "espah.rx_");
	u64 sa = snap_prefix(&a->before, &a->after, "espahsa.rx_");
	u64 x = delta(a, "XfrmInStateProtoError");

	if (!a->espah || !counters_have_espah(&a->k) || (e == x && sa == x))
		return 0;
	snprintf(why, n,
		 "espah counted %llu receive drops (%llu for the SA), XfrmInStateProtoError rose by %llu",
		 (unsigned long long)e, (unsigned long long)sa,
		 (unsigned long long)x);
	return -1;
}

int acct_batch_end(struct acct *a, unsigned int timeout_ms, char *why,
		   size_t n)
{
	u64 deadline = now_ms() + timeout_ms, terms;
	unsigned int wait = 1;
	char buf[1024];
	int err = 0;

	for (;;) {
		acct_drain(a);
		counters_snapshot(&a->k, &a->after);
		if (balanced(a) || now_ms() > deadline)
			break;
		sleep_ms(wait);
		wait = MIN(wait * 2, 50u);
	}
	acct_drain(a);
	terms = terminal_sum(a);
	why[0] = 0;
	if (a->nbad) {
		snprintf(why, n, "%s", a->bad_why);
		err = -1;
	} else if (!balanced(a)) {
		moved(a, buf, sizeof(buf), false);
		printf("# counters that moved: %s\n", buf);
		show_small_batch(a);
		if (reasm_delta(a) != a->reasm)
			snprintf(why, n,
				 "%llu fragmented packets should have reassembled, %llu did",
				 (unsigned long long)a->reasm,
				 (unsigned long long)reasm_delta(a));
		else
			snprintf(why, n,
				 "%llu packets entered, %llu delivered + %llu on the encap socket + %llu counted drops = %llu: %s",
				 (unsigned long long)a->units,
				 (unsigned long long)a->d.delivered,
				 (unsigned long long)a->d.nonesp,
				 (unsigned long long)terms,
				 (unsigned long long)(a->d.delivered + a->d.nonesp + terms),
				 a->d.delivered + a->d.nonesp + terms > a->units ?
				 "counted twice" : "unaccounted for");
		err = -1;
	}
	if (!err)
		err = check_expectations(a, why, n);
	else
		check_expectations(a, buf, sizeof(buf));
	if (!err)
		err = check_espah(a, why, n);
	if (!err && a->unsent) {
		snprintf(why, n, "%llu packets could not be sent (see above)",
			 (unsigned long long)a->unsent);
		err = -1;
	}
	if (err && balanced(a)) {
		moved(a, buf, sizeof(buf), false);
		printf("# counters that moved: %s\n", buf);
	}
	if (verbose && a->nrecs == 1) {
		const struct rec *r = &a->recs[0];

		moved(a, buf, sizeof(buf), false);
		printf("#   #%llu %s (%s) seq %llu/0x%llx: %s; %s\n",
		       (unsigned long long)(r->id & 0xffffffffu), r->mutation,
		       r->detail, (unsigned long long)r->seq,
		       (unsigned long long)r->seq,
		       r->delivered ? "delivered" : r->nonesp_seen ? "non-ESP" : "not delivered",
		       buf);
	} else if (verbose && !err) {
		moved(a, buf, sizeof(buf), false);
		printf("#   batch: %llu packets, %llu delivered, %llu non-ESP; %s\n",
		       (unsigned long long)a->sent,
		       (unsigned long long)a->d.delivered,
		       (unsigned long long)a->d.nonesp, buf);
	}
	snap_accumulate(&a->moved_run, &a->before, &a->after);
	a->total_sent += a->sent;
	a->total_frames += a->frames;
	a->total_units += a->units;
	a->total_silent += a->silent;
	a->total_drops += terms;
	a->total.delivered += a->d.delivered;
	a->total.nonesp += a->d.nonesp;
	a->total.by_klass[0] += a->d.by_klass[0];
	a->total.by_klass[1] += a->d.by_klass[1];
	return err;
}

/* Every counter that moved during the run, with its total. */
void acct_run_counters(const struct acct *a)
{
	printf("# counters over the run:");
	snap_print(&a->moved_run);
}

void acct_totals(const struct acct *a, char *buf, size_t n)
{
	snprintf(buf, n,
		 "%llu packets (%llu frames), %llu delivered (%llu authentic, %llu mutated), %llu non-ESP to the encap socket, %llu counted drops, %llu taken without a counter (NAT keepalives, ESP-in-UDP shorter than an IP header, IPv6 next header 59); expectations met: delivered %llu/%llu, dropped %llu/%llu",
		 (unsigned long long)a->total_sent,
		 (unsigned long long)a->total_frames,
		 (unsigned long long)a->total.delivered,
		 (unsigned long long)a->total.by_klass[0],
		 (unsigned long long)a->total.by_klass[1],
		 (unsigned long long)a->total.nonesp,
		 (unsigned long long)a->total_drops,
		 (unsigned long long)a->total_silent,
		 (unsigned long long)a->exp_done[E_DELIVER],
		 (unsigned long long)a->exp_count[E_DELIVER],
		 (unsigned long long)a->exp_done[E_DROP],
		 (unsigned long long)a->exp_count[E_DROP]);
}

/* Fragment queues that never complete expire; none may be left over. */
int acct_frag_settle(struct acct *a, unsigned int timeout_ms)
{
	u64 deadline = now_ms() + timeout_ms;
	unsigned int left;

	while ((left = counters_frag_queues()) && now_ms() < deadline)
		sleep_ms(100);
	return left;
}
