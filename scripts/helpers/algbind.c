// SPDX-License-Identifier: GPL-2.0
/*
 * algbind: make the kernel instantiate a crypto algorithm by name, through
 * an AF_ALG bind. Tests use it to register cryptd(...) wrappers, which then
 * outrank the synchronous implementations, so that SAs created afterwards
 * get asynchronous crypto and the -EINPROGRESS paths run.
 *
 *   algbind aead 'cryptd(seqiv(rfc4106(gcm(aes))))'
 */
#include <linux/if_alg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif

int main(int argc, char **argv)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG };
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s TYPE NAME\n", argv[0]);
		return 2;
	}
	snprintf((char *)sa.salg_type, sizeof(sa.salg_type), "%s", argv[1]);
	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", argv[2]);
	fd = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (fd < 0) {
		perror("socket(AF_ALG)");
		return 1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "bind %s %s: %m\n", argv[1], argv[2]);
		return 1;
	}
	close(fd);
	return 0;
}
