// SPDX-License-Identifier: GPL-2.0
/*
 * udpq: send one UDP datagram and print the one that answers it. The e2e
 * guest uses it to drive the scapy peer (scripts/ipsec-peer.py) over its
 * plaintext control address.
 *
 *   udpq [-w SECONDS] IPV4ADDR PORT WORD...
 *
 * The words are sent joined by spaces. Exit 0 with the answer on stdout,
 * 1 if none came within SECONDS (default 20), 2 on a usage error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDPQ_MAX 4096

static int join_words(char *buf, size_t size, int argc, char **argv)
{
	size_t len = 0;
	int i;

	for (i = 0; i < argc; i++) {
		int n = snprintf(buf + len, size - len, "%s%s", i ? " " : "",
				 argv[i]);

		if (n < 0 || (size_t)n >= size - len)
			return -1;
		len += n;
	}
	return (int)len;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	char msg[UDPQ_MAX], answer[UDPQ_MAX + 1];
	int wait_s = 20, first = 1, fd, len;
	struct pollfd pfd;
	ssize_t got;

	if (argc > 2 && !strcmp(argv[1], "-w")) {
		wait_s = atoi(argv[2]);
		first = 3;
	}
	if (argc - first < 3 || inet_pton(AF_INET, argv[first], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: %s [-w SECONDS] IPV4ADDR PORT WORD...\n",
			argv[0]);
		return 2;
	}
	to.sin_port = htons(atoi(argv[first + 1]));
	len = join_words(msg, sizeof(msg), argc - first - 2, argv + first + 2);
	if (len < 0) {
		fprintf(stderr, "udpq: message longer than %d bytes\n", UDPQ_MAX);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 ||
	    send(fd, msg, len, 0) != len) {
		perror("udpq");
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, wait_s * 1000) != 1) {
		fprintf(stderr, "udpq: no answer from %s:%s within %d s\n",
			argv[first], argv[first + 1], wait_s);
		return 1;
	}
	got = recv(fd, answer, UDPQ_MAX, 0);
	if (got < 0) {
		perror("udpq: recv");
		return 1;
	}
	answer[got] = '\0';
	printf("%s\n", answer);
	return 0;
}
