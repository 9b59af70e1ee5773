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

#define MAX_CTRS	700
#define RCVBUF		(16 << 20)
#define MMSG		16
#define BAD_SHOWN	3

#ifndef UDP_ENCAP_ESPINUDP
#define UDP_ENCAP_ESPINUDP	2
#endif

struct ctr {
	char name[48];
	u64 v;
};

struct snap {
	unsigned int n;
	struct ctr c[MAX_CTRS];
};

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

enum { F_SNMP, F_NETSTAT, F_SNMP6, F_XFRM, F_ESPAH, F_DEV, F_DEV_TX, F_NFILES };

static const char *const files[F_NFILES] = {
	"/proc/net/snmp", "/proc/net/netstat", "/proc/net/snmp6",
	"/proc/net/xfrm_stat", "/proc/net/espah", "/proc/net/dev",
	"/proc/net/dev",
};

/* Each bumped once for a packet that ends there (see the top). */
static const char *const terminal[] = {
	"Ip.InHdrErrors", "Ip.InAddrErrors", "Ip.InUnknownProtos",
	"Ip.InDiscards", "IpExt.InNoRoutes", "IpExt.InTruncatedPkts",
	"Ip6InHdrErrors", "Ip6InAddrErrors", "Ip6InUnknownProtos",
	"Ip6InTruncatedPkts", "Ip6InDiscards", "Ip6InNoRoutes",
	"Ip6InTooBigErrors",
	"Udp.InErrors", "Udp.NoPorts", "UdpLite.InErrors", "UdpLite.NoPorts",
	"Udp6InErrors", "Udp6NoPorts", "UdpLite6InErrors", "UdpLite6NoPorts",
	"Tcp.InErrs", "Tcp.OutRsts", "Icmp.InMsgs", "Icmp6InMsgs",
	"dev.mr0.rx_drop", "dev.mt0.tx_drop",
};

struct acct {
	u32 run;
	bool espah;
	int fd[F_NFILES];
	int sock[4];			/* marker v4, v6; encap v4, v6 */
	u8 *dlv;			/* deliveries per packet of the case */
	u64 max_pkts;
	u32 case_id, spi;
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

/* ------------------------------------------------------------ counters */

static void ctr_add(struct snap *s, const char *name, u64 v)
{
	if (s->n >= MAX_CTRS)
		return;
	snprintf(s->c[s->n].name, sizeof(s->c[0].name), "%.47s", name);
	s->c[s->n++].v = v;
}

static int read_file(int fd, char *buf, size_t n)
{
	ssize_t r, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got < n - 1) {
		r = pread(fd, buf + got, n - 1 - got, got);
		if (r < 0)
			return -1;
		if (!r)
			break;
		got += r;
	}
	buf[got] = 0;
	return 0;
}

/* Pairs of lines: "Ip: InReceives ..." then "Ip: 1 ...". */
static void parse_pairs(struct snap *s, char *text)
{
	char *names = NULL, *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *n, *v, *sn = NULL, *sv = NULL, pfx[16], full[64];
		char *colon = strchr(line, ':');

		if (!colon)
			continue;
		if (!names) {
			names = line;
			continue;
		}
		snprintf(pfx, sizeof(pfx), "%.*s", (int)(colon - line), line);
		n = strtok_r(strchr(names, ':') + 1, " ", &sn);
		v = strtok_r(colon + 1, " ", &sv);
		while (n && v) {
			snprintf(full, sizeof(full), "%s.%s", pfx, n);
			ctr_add(s, full, strtoull(v, NULL, 10));
			n = strtok_r(NULL, " ", &sn);
			v = strtok_r(NULL, " ", &sv);
		}
		names = NULL;
	}
}

/* "Name value" lines. */
static void parse_lines(struct snap *s, char *text, const char *prefix)
{
	char *line, *save = NULL, name[40];
	unsigned long long v;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%39s %llu", name, &v) == 2) {
			char full[96];

			snprintf(full, sizeof(full), "%s%s", prefix, name);
			ctr_add(s, full, v);
		}
}

/* One line of /proc/net/espah as counters "@prefix.rx_..." */
static void espah_line(struct snap *s, char *line, char **names,
		       unsigned int nn, const char *prefix)
{
	char *vals[64], *tok, *ts = NULL, full[96];
	unsigned int nv = 0, i;

	for (tok = strtok_r(line, " \t", &ts); tok && nv < 64;
	     tok = strtok_r(NULL, " \t", &ts))
		vals[nv++] = tok;
	for (i = 0; i < nn && i < nv; i++) {
		if (strncmp(names[i], "rx_", 3))
			continue;
		snprintf(full, sizeof(full), "%s.%s", prefix, names[i]);
		ctr_add(s, full, strtoull(vals[i], NULL, 10));
	}
}

/*
 * /proc/net/espah: a header naming the columns, a line per SA ("esp|ah
 * FAMILY 0xSPI DADDR counters..."), a "total" line for the namespace.
 */
static void parse_espah(struct snap *s, char *text, u32 spi)
{
	char *ls = NULL, *hdr = strtok_r(text, "\n", &ls), *line, *tok;
	char *names[64], *ts = NULL, want[16];
	unsigned int nn = 0;

	if (!hdr)
		return;
	for (tok = strtok_r(hdr, " \t", &ts); tok && nn < 64;
	     tok = strtok_r(NULL, " \t", &ts))
		names[nn++] = tok;
	snprintf(want, sizeof(want), " 0x%08x ", spi);
	while ((line = strtok_r(NULL, "\n", &ls))) {
		if (!strncmp(line, "total", 5))
			espah_line(s, line, names, nn, "espah");
		else if (strstr(line, want))
			espah_line(s, line, names, nn, "espahsa");
	}
}

/* /proc/net/dev: receive drops of mr0, transmit drops of mt0. */
static void parse_dev(struct snap *s, char *text, const char *dev, bool tx)
{
	char *line, *save = NULL, want[24], full[64];
	unsigned long long f[16];

	snprintf(want, sizeof(want), "%s:", dev);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, want);

		if (!p)
			continue;
		if (sscanf(p + strlen(want),
			   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6],
			   &f[7], &f[8], &f[9], &f[10], &f[11]) != 12)
			continue;
		snprintf(full, sizeof(full), "dev.%s.%s", dev,
			 tx ? "tx_drop" : "rx_drop");
		ctr_add(s, full, tx ? f[11] : f[3]);
	}
}

static void snapshot(struct acct *a, struct snap *s)
{
	static char buf[1 << 16];

	s->n = 0;
	if (!read_file(a->fd[F_SNMP], buf, sizeof(buf)))
		parse_pairs(s, buf);
	if (!read_file(a->fd[F_NETSTAT], buf, sizeof(buf)))
		parse_pairs(s, buf);
	if (!read_file(a->fd[F_SNMP6], buf, sizeof(buf)))
		parse_lines(s, buf, "");
	if (!read_file(a->fd[F_XFRM], buf, sizeof(buf)))
		parse_lines(s, buf, "");
	if (!read_file(a->fd[F_ESPAH], buf, sizeof(buf)))
		parse_espah(s, buf, a->spi);
	if (!read_file(a->fd[F_DEV], buf, sizeof(buf)))
		parse_dev(s, buf, "mr0", false);
	if (!read_file(a->fd[F_DEV_TX], buf, sizeof(buf)))
		parse_dev(s, buf, "mt0", true);
}

static u64 ctr_get(const struct snap *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return s->c[i].v;
	return 0;
}

static u64 delta(const struct acct *a, const char *name)
{
	return ctr_get(&a->after, name) - ctr_get(&a->before, name);
}

static bool is_terminal(const char *name)
{
	unsigned int i;

	if (!strncmp(name, "XfrmIn", 6) || !strcmp(name, "XfrmFwdHdrError"))
		return true;
	for (i = 0; i < ARRAY_SIZE(terminal); i++)
		if (!strcmp(name, terminal[i]))
			return true;
	return false;
}

static u64 terminal_sum(const struct acct *a)
{
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < a->after.n; i++)
		if (is_terminal(a->after.c[i].name))
			sum += a->after.c[i].v - ctr_get(&a->before,
							  a->after.c[i].name);
	return sum;
}

static u64 prefix_sum(const struct acct *a, const char *prefix)
{
	size_t n = strlen(prefix);
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < a->after.n; i++)
		if (!strncmp(a->after.c[i].name, prefix, n))
			sum += a->after.c[i].v - ctr_get(&a->before,
							  a->after.c[i].name);
	return sum;
}

/* The counters that moved, "name +n" ... */
static void moved(const struct acct *a, char *buf, size_t n, bool all)
{
	unsigned int i;
	size_t off = 0;
	u64 d;

	buf[0] = 0;
	for (i = 0; i < a->after.n && off < n; i++) {
		const char *name = a->after.c[i].name;

		d = a->after.c[i].v - ctr_get(&a->before, name);
		if (!d || (!all && !is_terminal(name) &&
			   strncmp(name, "espah.", 6) && !strstr(name, "Reasm")) ||
		    !strncmp(name, "espahsa.", 8))
			continue;
		off += snprintf(buf + off, n - off, "%s%s +%llu",
				off ? ", " : "", name, (unsigned long long)d);
	}
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

static int open_in(int (*enter)(void), const char *path)
{
	int fd;

	if (enter())
		return -1;
	fd = open(path, O_RDONLY);
	wire_enter_rx();
	return fd;
}

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
	for (i = 0; i < F_NFILES; i++)
		a->fd[i] = i == F_DEV_TX ? open_in(wire_enter_tx, files[i]) :
					   open(files[i], O_RDONLY);
	if (a->fd[F_XFRM] < 0)
		fprintf(stderr,
			"espmut: no /proc/net/xfrm_stat (CONFIG_XFRM_STATISTICS)\n");
	if (espah && a->fd[F_ESPAH] < 0)
		fprintf(stderr, "espmut: no /proc/net/espah: is espah loaded?\n");
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
	a->spi = spi;
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
	snapshot(a, &a->before);
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
	u64 e = prefix_sum(a, "espah.rx_");
	u64 sa = prefix_sum(a, "espahsa.rx_");
	u64 x = delta(a, "XfrmInStateProtoError");

	if (!a->espah || a->fd[F_ESPAH] < 0 || (e == x && sa == x))
		return 0;
	snprintf(why, n,
		 "espah counted %llu receive drops (%llu for the SA), XfrmInStateProtoError rose by %llu",
		 (unsigned long long)e, (unsigned long long)sa,
		 (unsigned long long)x);
	return -1;
}

static void run_add(struct acct *a)
{
	unsigned int i, j;
	u64 d;

	for (i = 0; i < a->after.n; i++) {
		const char *name = a->after.c[i].name;

		d = a->after.c[i].v - ctr_get(&a->before, name);
		if (!d || !strncmp(name, "espahsa.", 8))
			continue;
		for (j = 0; j < a->moved_run.n; j++)
			if (!strcmp(a->moved_run.c[j].name, name))
				break;
		if (j == a->moved_run.n)
			ctr_add(&a->moved_run, name, 0);
		if (j < a->moved_run.n)
			a->moved_run.c[j].v += d;
	}
}

/* Every counter that moved during the run, with its total. */
void acct_run_counters(const struct acct *a)
{
	unsigned int i;

	printf("# counters over the run:");
	for (i = 0; i < a->moved_run.n; i++)
		printf("%s %s +%llu", i ? "," : "", a->moved_run.c[i].name,
		       (unsigned long long)a->moved_run.c[i].v);
	printf("\n");
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
		snapshot(a, &a->after);
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
	run_add(a);
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

void acct_batch_stats(const struct acct *a, char *buf, size_t n)
{
	snprintf(buf, n, "%llu sent, %llu delivered, %llu drops",
		 (unsigned long long)a->sent,
		 (unsigned long long)a->d.delivered,
		 (unsigned long long)terminal_sum(a));
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

const struct delivery *acct_delivery(const struct acct *a)
{
	return &a->total;
}

static unsigned int frag_inuse(int fd, const char *key)
{
	char buf[4096], *p;

	if (read_file(fd, buf, sizeof(buf)))
		return 0;
	p = strstr(buf, key);
	return p ? atoi(p + strlen(key)) : 0;
}

/* Fragment queues that never complete expire; none may be left over. */
int acct_frag_settle(struct acct *a, unsigned int timeout_ms)
{
	u64 deadline = now_ms() + timeout_ms;
	int fd4 = open("/proc/net/sockstat", O_RDONLY);
	int fd6 = open("/proc/net/sockstat6", O_RDONLY);
	unsigned int in4 = 0, in6 = 0;

	do {
		in4 = frag_inuse(fd4, "FRAG: inuse ");
		in6 = frag_inuse(fd6, "FRAG6: inuse ");
		if (!in4 && !in6)
			break;
		sleep_ms(100);
	} while (now_ms() < deadline);
	close(fd4);
	close(fd6);
	return in4 + in6;
}
