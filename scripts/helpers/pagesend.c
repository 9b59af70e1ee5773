// SPDX-License-Identifier: GPL-2.0
/*
 * pagesend: send memory the sender does not give away, so that a test can
 * check afterwards that the stack never wrote into it: page-cache pages
 * (splice through a pipe, or sendfile) and user pages (MSG_ZEROCOPY).
 *
 *   pagesend udp splice|sendfile|paged FILE 4|6 DST DPORT SPORT COUNT LEN [UID]
 *	one datagram per page: LEN bytes from offset k * 4096, k < COUNT,
 *	from port SPORT; with UID, the file is opened read-only after
 *	dropping to that user (what an unprivileged attacker can do).
 *	paged: read into a buffer and sent with UDP_SEGMENT, which puts the
 *	payload in page fragments of the socket's own (not flagged as
 *	shared, as a NIC's or GRO's page fragments are not)
 *   pagesend tcp splice|sendfile FILE 4|6 DST DPORT
 *	the whole file over one TCP connection
 *   pagesend udp1 4|6 DST DPORT FAILNTH
 *	one datagram "fail-nth N", from an unconnected socket, with the Nth
 *	allocation of the sendto() failing (failnth.h); prints the result
 *   pagesend zc udp|tcp 4|6 DST DPORT COUNT SIZE REFOUT
 *	COUNT sends of SIZE bytes with MSG_ZEROCOPY, each from its own part
 *	of one buffer of marker lines (written to REFOUT first); waits for
 *	every completion, then compares the buffer with what it held
 *
 * Prints one line of results; exit 0 only if everything was sent, and for
 * zc, every completion came and the buffer is unchanged.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "failnth.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif

#define PAGE 4096
#define MARKER "ESPAH-ZEROCOPY-PLAINTEXT-MARKER"

struct peer {
	struct sockaddr_storage ss;
	socklen_t len;
};

static int peer_addr(struct peer *p, const char *fam, const char *addr,
		     const char *port)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p->ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&p->ss;

	memset(p, 0, sizeof(*p));
	if (!strcmp(fam, "6")) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(port));
		p->len = sizeof(*a6);
		return inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1 ? 0 : -1;
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons(atoi(port));
	p->len = sizeof(*a4);
	return inet_pton(AF_INET, addr, &a4->sin_addr) == 1 ? 0 : -1;
}

/* A socket connected to @p, bound to @sport if nonzero. */
static int connect_to(const struct peer *p, int type, int sport)
{
	struct sockaddr_storage local = { .ss_family = p->ss.ss_family };
	int fd, one = 1, i;

	fd = socket(p->ss.ss_family, type, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sport) {
		if (p->ss.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&local)->sin6_port = htons(sport);
		else
			((struct sockaddr_in *)&local)->sin_port = htons(sport);
		if (bind(fd, (struct sockaddr *)&local, p->len))
			return -1;
	}
	/* the listener may still be starting */
	for (i = 0; i < 100; i++) {
		if (!connect(fd, (const struct sockaddr *)&p->ss, p->len))
			return fd;
		if (type != SOCK_STREAM || errno != ECONNREFUSED)
			break;
		usleep(100000);
	}
	return -1;
}

enum how { HOW_SENDFILE, HOW_SPLICE, HOW_PAGED };

static enum how parse_how(const char *s)
{
	if (!strcmp(s, "splice"))
		return HOW_SPLICE;
	return strcmp(s, "paged") ? HOW_SENDFILE : HOW_PAGED;
}

/* @len bytes of @file from @off into @sock, as @how says. */
static ssize_t send_pages(int sock, int file, int pipefd[2], off_t off,
			  size_t len, enum how how)
{
	static char buf[65536];
	loff_t o = off;
	ssize_t n, m, done = 0;

	if (how == HOW_SENDFILE)
		return sendfile(sock, file, &o, len);
	if (how == HOW_PAGED) {
		if (len > sizeof(buf) || pread(file, buf, len, off) != (ssize_t)len)
			return -1;
		return send(sock, buf, len, 0);
	}
	n = splice(file, &o, pipefd[1], NULL, len, 0);
	if (n <= 0)
		return n;
	while (done < n) {
		m = splice(pipefd[0], NULL, sock, NULL, n - done, 0);
		if (m <= 0)
			return -1;
		done += m;
	}
	return done;
}

/* The receiver closes when it has everything: nothing is in flight. */
static void wait_for_close(int sock)
{
	char buf[256];

	while (read(sock, buf, sizeof(buf)) > 0)
		;
}

static int drop_to(const char *uid)
{
	uid_t u = atoi(uid);

	return setgid(u) || setuid(u) ? -1 : 0;
}

static int cmd_udp(int argc, char **argv)
{
	enum how how = parse_how(argv[2]);
	int count = atoi(argv[8]), k, sock, file, pipefd[2], sent = 0;
	int gso = 1400;
	size_t len = atoi(argv[9]);
	struct peer p;

	if (peer_addr(&p, argv[4], argv[5], argv[6]))
		return 2;
	sock = connect_to(&p, SOCK_DGRAM, atoi(argv[7]));
	if (sock < 0 || (how == HOW_PAGED &&
			 setsockopt(sock, IPPROTO_UDP, UDP_SEGMENT, &gso, sizeof(gso)))) {
		perror("pagesend: udp socket");
		return 1;
	}
	if (argc > 10 && drop_to(argv[10])) {
		perror("pagesend: dropping privileges");
		return 1;
	}
	file = open(argv[3], O_RDONLY);
	if (file < 0 || pipe(pipefd)) {
		perror(argv[3]);
		return 1;
	}
	for (k = 0; k < count; k++) {
		ssize_t n = send_pages(sock, file, pipefd, (off_t)k * PAGE, len,
				       how);

		if (n != (ssize_t)len) {
			fprintf(stderr, "pagesend: datagram %d: %zd of %zu bytes: %m\n",
				k, n, len);
			break;
		}
		sent++;
	}
	printf("udp %s sent=%d of %d uid=%d\n", argv[2], sent, count, getuid());
	return sent == count ? 0 : 1;
}

static int cmd_tcp(char **argv)
{
	enum how how = parse_how(argv[2]);
	int sock, file, pipefd[2];
	off_t off = 0;
	struct stat st;
	struct peer p;

	if (peer_addr(&p, argv[4], argv[5], argv[6]))
		return 2;
	file = open(argv[3], O_RDONLY);
	if (file < 0 || fstat(file, &st) || pipe(pipefd)) {
		perror(argv[3]);
		return 1;
	}
	sock = connect_to(&p, SOCK_STREAM, 0);
	if (sock < 0) {
		perror("pagesend: tcp connect");
		return 1;
	}
	while (off < st.st_size) {
		size_t chunk = st.st_size - off > 65536 ? 65536 : st.st_size - off;
		ssize_t n = send_pages(sock, file, pipefd, off, chunk, how);

		if (n <= 0) {
			perror("pagesend: tcp send");
			break;
		}
		off += n;
	}
	shutdown(sock, SHUT_WR);
	wait_for_close(sock);
	printf("tcp %s sent=%lld of %lld\n", argv[2], (long long)off,
	       (long long)st.st_size);
	return off == st.st_size ? 0 : 1;
}

static int cmd_udp1(char **argv)
{
	char msg[64];
	int sock, fd, injected, err;
	struct peer p;
	ssize_t n;

	if (peer_addr(&p, argv[2], argv[3], argv[4]))
		return 2;
	sock = socket(p.ss.ss_family, SOCK_DGRAM, 0);
	if (sock < 0)
		return 1;
	snprintf(msg, sizeof(msg), "fail-nth %s\n", argv[5]);
	fd = failnth_arm(argv[5]);
	n = sendto(sock, msg, strlen(msg), 0, (struct sockaddr *)&p.ss, p.len);
	err = n < 0 ? errno : 0;
	injected = failnth_disarm(fd);
	printf("udp1 n=%s rc=%d injected=%d\n", argv[5], -err, injected);
	return 0;
}

static void fill_markers(char *buf, size_t len)
{
	size_t off = 0;
	unsigned int line = 0;

	while (off < len) {
		char tmp[96];
		int n = snprintf(tmp, sizeof(tmp), "%s line %u\n", MARKER,
				 line++);
		size_t c = len - off < (size_t)n ? len - off : (size_t)n;

		memcpy(buf + off, tmp, c);
		off += c;
	}
}

/*
 * Reads zerocopy completions until @want sends are accounted for or a
 * timeout; returns how many, and how many the kernel copied after all.
 */
static unsigned int zc_completions(int sock, unsigned int want,
				   unsigned int *copied)
{
	unsigned int done = 0;
	time_t end = time(NULL) + 60;

	*copied = 0;
	while (done < want && time(NULL) < end) {
		char cbuf[256];
		struct msghdr msg = { .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct pollfd pfd = { .fd = sock, .events = 0 };
		struct sock_extended_err *ee;
		struct cmsghdr *c;

		if (recvmsg(sock, &msg, MSG_ERRQUEUE) < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			poll(&pfd, 1, 500);
			continue;
		}
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			ee = (struct sock_extended_err *)CMSG_DATA(c);
			if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			done += ee->ee_data - ee->ee_info + 1;
			if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
				*copied += ee->ee_data - ee->ee_info + 1;
		}
	}
	return done;
}

static int cmd_zc(char **argv)
{
	int tcp = !strcmp(argv[2], "tcp"), one = 1, sock, out;
	unsigned int count = atoi(argv[6]), size = atoi(argv[7]), k, ok = 0;
	unsigned int done, copied;
	char *buf, *ref;
	struct peer p;

	if (peer_addr(&p, argv[3], argv[4], argv[5]) || !count || !size)
		return 2;
	buf = malloc((size_t)count * size);
	ref = malloc((size_t)count * size);
	if (!buf || !ref)
		return 1;
	fill_markers(buf, (size_t)count * size);
	memcpy(ref, buf, (size_t)count * size);
	out = open(argv[8], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, ref, (size_t)count * size) !=
		       (ssize_t)count * size) {
		perror(argv[8]);
		return 1;
	}
	close(out);
	sock = connect_to(&p, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (sock < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one))) {
		perror("pagesend: zerocopy socket");
		return 1;
	}
	for (k = 0; k < count; k++) {
		ssize_t n = send(sock, buf + (size_t)k * size, size,
				 MSG_ZEROCOPY);

		if (n != (ssize_t)size) {
			fprintf(stderr, "pagesend: zerocopy send %u: %zd: %m\n",
				k, n);
			break;
		}
		ok++;
	}
	done = zc_completions(sock, ok, &copied);
	if (tcp) {
		shutdown(sock, SHUT_WR);
		wait_for_close(sock);
	}
	k = memcmp(buf, ref, (size_t)count * size) != 0;
	printf("zc %s sent=%u of %u completions=%u copied=%u buffer=%s\n",
	       argv[2], ok, count, done, copied, k ? "CHANGED" : "intact");
	return ok == count && done == ok && !k ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 10 && !strcmp(argv[1], "udp"))
		return cmd_udp(argc, argv);
	if (argc == 7 && !strcmp(argv[1], "tcp"))
		return cmd_tcp(argv);
	if (argc == 9 && !strcmp(argv[1], "zc"))
		return cmd_zc(argv);
	if (argc == 6 && !strcmp(argv[1], "udp1"))
		return cmd_udp1(argv);
	fprintf(stderr,
		"usage: %s udp splice|sendfile|paged FILE 4|6 DST DPORT SPORT COUNT LEN [UID]\n"
		"       %s tcp splice|sendfile FILE 4|6 DST DPORT\n"
		"       %s udp1 4|6 DST DPORT FAILNTH\n"
		"       %s zc udp|tcp 4|6 DST DPORT COUNT SIZE REFOUT\n",
		argv[0], argv[0], argv[0], argv[0]);
	return 2;
}
