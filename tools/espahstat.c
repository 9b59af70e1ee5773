// SPDX-License-Identifier: GPL-2.0
/*
 * espahstat: show why espah dropped packets, per SA, from /proc/net/espah
 * of the current network namespace (run it under `ip netns exec NS` for
 * another one).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "espah.h"

#define MAX_COLS 32
#define MAX_ROWS 4096
#define ID_COLS 4	/* proto family spi daddr */
#define SEPARATORS "\n "

struct row {
	char id[ID_COLS][64];
	unsigned long long v[MAX_COLS];
};

struct table {
	int ncols;			/* counter columns */
	char names[MAX_COLS][40];
	int nrows;
	struct row rows[MAX_ROWS];
};

static const char *usage_text =
"Usage: espahstat [OPTIONS]\n"
"\n"
"Show espah's per-SA drop counters: for each ESP or AH security association\n"
"of the current network namespace, how many packets espah dropped and why,\n"
"and the namespace's totals (which include SAs already deleted).\n"
"\n"
"Options:\n"
"  -s, --spi SPI        only the SA(s) with this SPI (decimal or 0x hex)\n"
"  -a, --all            also show counters that are zero (default: only\n"
"                       columns where some row is non-zero)\n"
"  -j, --json           print JSON instead of a table\n"
"  -i, --interval SECS  print the change over SECS seconds instead of the\n"
"                       totals since the SA was added; repeats\n"
"  -c, --count N        with --interval, stop after N reports (default: run\n"
"                       until interrupted)\n"
"  -f, --file PATH      read PATH instead of /proc/net/espah\n"
"  -h, --help           this text\n"
"\n"
"Counters (see README.md, \"Reading the counters\"):\n"
"  rx_truncated     packet shorter than the SA's headers and ICV\n"
"  rx_bad_length    ciphertext not a whole number of cipher blocks, or an AH\n"
"                   length field that does not fit the SA\n"
"  rx_bad_header    malformed IPv4 options or IPv6 extension headers (AH)\n"
"  rx_icv_mismatch  integrity check failed: wrong key, corruption or forgery\n"
"  rx_bad_padding   ESP pad length runs past the payload\n"
"  rx_dummy         RFC 4303 dummy packet (next header 59), dropped silently\n"
"  rx_no_memory     no memory to process the packet\n"
"  rx_crypto_error  the kernel crypto API failed otherwise\n"
"  rx_header_mismatch  the ESP/AH header is not where the SA's mode puts it\n"
"  tx_too_big       packet too large after encapsulation\n"
"  tx_no_memory     no memory to encapsulate the packet\n"
"  tx_crypto_error  the kernel crypto API failed on output\n"
"  tx_header_mismatch  the xfrm mode put the header elsewhere than the SA's\n"
"                   header length says (a kernel bug; the packet is dropped)\n"
"\n"
"Examples:\n"
"  espahstat                         table of all SAs\n"
"  espahstat --spi 0x1000 --json     one SA as JSON\n"
"  espahstat -i 1 -c 10              changes per second, ten times\n"
"  ip netns exec gw espahstat        the SAs of namespace gw\n"
"\n"
"Exit status: 0 on success, 1 if the file cannot be read (espah not\n"
"loaded?), 2 on a usage error.\n";

static int parse_header(struct table *t, char *line)
{
	char *tok = strtok(line, SEPARATORS);
	int i = 0;

	for (; tok && i < ID_COLS; i++)
		tok = strtok(NULL, SEPARATORS);
	t->ncols = 0;
	for (; tok && t->ncols < MAX_COLS; tok = strtok(NULL, SEPARATORS))
		snprintf(t->names[t->ncols++], sizeof(t->names[0]), "%s", tok);
	return t->ncols ? 0 : -1;
}

static void parse_row(struct table *t, char *line)
{
	struct row *r = &t->rows[t->nrows];
	char *tok = strtok(line, SEPARATORS);
	int i;

	for (i = 0; tok && i < ID_COLS; i++, tok = strtok(NULL, SEPARATORS))
		snprintf(r->id[i], sizeof(r->id[0]), "%s", tok);
	if (i < ID_COLS)
		return;
	for (i = 0; tok && i < t->ncols; i++, tok = strtok(NULL, SEPARATORS))
		r->v[i] = strtoull(tok, NULL, 10);
	if (t->nrows < MAX_ROWS)
		t->nrows++;
}

static int read_table(const char *path, struct table *t)
{
	char line[2048];
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "espahstat: %s: %s (is espah loaded?)\n", path,
			strerror(errno));
		return -1;
	}
	t->nrows = 0;
	if (!fgets(line, sizeof(line), f) || parse_header(t, line)) {
		fprintf(stderr, "espahstat: %s: no header line\n", path);
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f))
		parse_row(t, line);
	fclose(f);
	return 0;
}

static int row_matches(const struct row *r, const char *spi)
{
	if (!spi)
		return 1;
	if (!strcmp(r->id[0], "total"))
		return 0;
	return strtoul(r->id[2], NULL, 0) == strtoul(spi, NULL, 0);
}

static const struct row *find_row(const struct table *t, const struct row *r)
{
	int i;

	for (i = 0; i < t->nrows; i++)
		if (!memcmp(t->rows[i].id, r->id, sizeof(r->id)))
			return &t->rows[i];
	return NULL;
}

/* Subtracts the earlier reading so each row shows the change. */
static void diff_table(struct table *now, const struct table *before)
{
	const struct row *b;
	int i, j;

	for (i = 0; i < now->nrows; i++) {
		b = find_row(before, &now->rows[i]);
		for (j = 0; b && j < now->ncols; j++)
			now->rows[i].v[j] -= b->v[j];
	}
}

static int column_shown(const struct table *t, int col, int all,
			const char *spi)
{
	int i;

	if (all)
		return 1;
	for (i = 0; i < t->nrows; i++)
		if (row_matches(&t->rows[i], spi) && t->rows[i].v[col])
			return 1;
	return 0;
}

static void print_table(const struct table *t, int all, const char *spi)
{
	static const char * const idn[ID_COLS] = { "PROTO", "FAMILY", "SPI",
						    "DADDR" };
	static const int idw[ID_COLS] = { 6, 7, 11, 40 };
	int i, j, shown = 0;

	for (i = 0; i < ID_COLS; i++)
		printf("%-*s", idw[i], idn[i]);
	for (j = 0; j < t->ncols; j++)
		if (column_shown(t, j, all, spi)) {
			printf(" %16s", t->names[j]);
			shown++;
		}
	if (!shown)
		printf(" (no drops)");
	putchar('\n');
	for (i = 0; i < t->nrows; i++) {
		const struct row *r = &t->rows[i];

		if (!row_matches(r, spi))
			continue;
		for (j = 0; j < ID_COLS; j++)
			printf("%-*s", idw[j], r->id[j]);
		for (j = 0; j < t->ncols; j++)
			if (column_shown(t, j, all, spi))
				printf(" %16llu", r->v[j]);
		putchar('\n');
	}
}

static void print_json(const struct table *t, const char *spi)
{
	int i, j, first = 1;

	printf("[");
	for (i = 0; i < t->nrows; i++) {
		const struct row *r = &t->rows[i];

		if (!row_matches(r, spi))
			continue;
		printf("%s\n  {\"proto\": \"%s\", \"family\": \"%s\", ",
		       first ? "" : ",", r->id[0], r->id[1]);
		printf("\"spi\": \"%s\", \"daddr\": \"%s\", \"drops\": {",
		       r->id[2], r->id[3]);
		for (j = 0; j < t->ncols; j++)
			printf("%s\"%s\": %llu", j ? ", " : "", t->names[j],
			       r->v[j]);
		printf("}}");
		first = 0;
	}
	printf("\n]\n");
}

static void show(const struct table *t, int json, int all, const char *spi)
{
	if (json)
		print_json(t, spi);
	else
		print_table(t, all, spi);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spi", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	static struct table before, now, delta;
	const char *path = ESPAH_PROC_FILE, *spi = NULL;
	int json = 0, all = 0, interval = 0, count = -1, c;

	while ((c = getopt_long(argc, argv, "s:aji:c:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			spi = optarg;
			break;
		case 'a':
			all = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'c':
			count = atoi(optarg);
			break;
		case 'f':
			path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc || interval < 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (read_table(path, &now))
		return 1;
	if (!interval) {
		show(&now, json, all, spi);
		return 0;
	}
	while (count--) {
		before = now;
		sleep(interval);
		if (read_table(path, &now))
			return 1;
		delta = now;
		diff_table(&delta, &before);
		show(&delta, json, all, spi);
	}
	return 0;
}
