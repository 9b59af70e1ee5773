// SPDX-License-Identifier: GPL-2.0
/*
 * The receiving namespace's counters as one list of "name value" pairs:
 * /proc/net/snmp and netstat ("Ip.InHdrErrors", "IpExt.InTruncatedPkts"),
 * snmp6 ("Ip6InHdrErrors"), xfrm_stat ("XfrmInNoStates"), espah's
 * per-reason drops ("espah.rx_icv_mismatch" for the namespace,
 * "espahsa.rx_..." for the case's SA) and the veths' drops ("dev.mr0.rx_drop",
 * "dev.mt0.tx_drop", the latter read in the sender's namespace). The
 * files stay open: a /proc/net file shows the namespace it was opened in.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "espmut.h"

static const char *const files[F_NFILES] = {
	"/proc/net/snmp", "/proc/net/netstat", "/proc/net/snmp6",
	"/proc/net/xfrm_stat", "/proc/net/espah", "/proc/net/dev",
	"/proc/net/dev",
};

/*
 * Each bumped once for a packet that ends there: IP and UDP errors before
 * and after xfrm (the same counters see the outer and, decapsulated, the
 * inner packet), every XfrmIn* counter, the ICMP and TCP input counters
 * for inner packets a next-header mutation sent there, the veths' drops.
 */
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

void counters_snapshot(const struct counters *k, struct snap *s)
{
	static char buf[1 << 16];

	s->n = 0;
	if (!read_file(k->fd[F_SNMP], buf, sizeof(buf)))
		parse_pairs(s, buf);
	if (!read_file(k->fd[F_NETSTAT], buf, sizeof(buf)))
		parse_pairs(s, buf);
	if (!read_file(k->fd[F_SNMP6], buf, sizeof(buf)))
		parse_lines(s, buf, "");
	if (!read_file(k->fd[F_XFRM], buf, sizeof(buf)))
		parse_lines(s, buf, "");
	if (!read_file(k->fd[F_ESPAH], buf, sizeof(buf)))
		parse_espah(s, buf, k->spi);
	if (!read_file(k->fd[F_DEV], buf, sizeof(buf)))
		parse_dev(s, buf, "mr0", false);
	if (!read_file(k->fd[F_DEV_TX], buf, sizeof(buf)))
		parse_dev(s, buf, "mt0", true);
}

u64 snap_get(const struct snap *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->c[i].name, name))
			return s->c[i].v;
	return 0;
}

u64 snap_delta(const struct snap *b, const struct snap *a, const char *name)
{
	return snap_get(a, name) - snap_get(b, name);
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

u64 snap_terminal(const struct snap *b, const struct snap *a)
{
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < a->n; i++)
		if (is_terminal(a->c[i].name))
			sum += a->c[i].v - snap_get(b, a->c[i].name);
	return sum;
}

u64 snap_prefix(const struct snap *b, const struct snap *a, const char *prefix)
{
	size_t n = strlen(prefix);
	u64 sum = 0;
	unsigned int i;

	for (i = 0; i < a->n; i++)
		if (!strncmp(a->c[i].name, prefix, n))
			sum += a->c[i].v - snap_get(b, a->c[i].name);
	return sum;
}

/* The counters that moved, "name +n" ... */
void snap_moved(const struct snap *b, const struct snap *a, char *buf,
		size_t n, bool all)
{
	unsigned int i;
	size_t off = 0;
	u64 d;

	buf[0] = 0;
	for (i = 0; i < a->n && off < n; i++) {
		const char *name = a->c[i].name;

		d = a->c[i].v - snap_get(b, name);
		if (!d || (!all && !is_terminal(name) &&
			   strncmp(name, "espah.", 6) && !strstr(name, "Reasm")) ||
		    !strncmp(name, "espahsa.", 8))
			continue;
		off += snprintf(buf + off, n - off, "%s%s +%llu",
				off ? ", " : "", name, (unsigned long long)d);
	}
}

/* Adds what moved from @b to @a to the totals in @run. */
void snap_accumulate(struct snap *run, const struct snap *b,
		     const struct snap *a)
{
	unsigned int i, j;
	u64 d;

	for (i = 0; i < a->n; i++) {
		const char *name = a->c[i].name;

		d = a->c[i].v - snap_get(b, name);
		if (!d || !strncmp(name, "espahsa.", 8))
			continue;
		for (j = 0; j < run->n; j++)
			if (!strcmp(run->c[j].name, name))
				break;
		if (j == run->n)
			ctr_add(run, name, 0);
		if (j < run->n)
			run->c[j].v += d;
	}
}

void snap_print(const struct snap *run)
{
	unsigned int i;

	for (i = 0; i < run->n; i++)
		printf("%s %s +%llu", i ? "," : "", run->c[i].name,
		       (unsigned long long)run->c[i].v);
	printf("\n");
}

static int open_in(int (*enter)(void), const char *path)
{
	int fd;

	if (enter())
		return -1;
	fd = open(path, O_RDONLY);
	wire_enter_rx();
	return fd;
}

/* Opens the files, in murx but the sender's /proc/net/dev in mutx. */
void counters_open(struct counters *k, bool espah)
{
	int i;

	for (i = 0; i < F_NFILES; i++)
		k->fd[i] = i == F_DEV_TX ? open_in(wire_enter_tx, files[i]) :
					   open(files[i], O_RDONLY);
	if (k->fd[F_XFRM] < 0)
		fprintf(stderr,
			"espmut: no /proc/net/xfrm_stat (CONFIG_XFRM_STATISTICS)\n");
	if (espah && k->fd[F_ESPAH] < 0)
		fprintf(stderr, "espmut: no /proc/net/espah: is espah loaded?\n");
}

bool counters_have_espah(const struct counters *k)
{
	return k->fd[F_ESPAH] >= 0;
}

static unsigned int frag_inuse(int fd, const char *key)
{
	char buf[4096], *p;

	if (read_file(fd, buf, sizeof(buf)))
		return 0;
	p = strstr(buf, key);
	return p ? atoi(p + strlen(key)) : 0;
}

/* Fragment queues left in murx (sockstat, sockstat6). */
unsigned int counters_frag_queues(void)
{
	int fd4 = open("/proc/net/sockstat", O_RDONLY);
	int fd6 = open("/proc/net/sockstat6", O_RDONLY);
	unsigned int n = frag_inuse(fd4, "FRAG: inuse ") +
			 frag_inuse(fd6, "FRAG6: inuse ");

	close(fd4);
	close(fd6);
	return n;
}
