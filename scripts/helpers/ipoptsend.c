// SPDX-License-Identifier: GPL-2.0
/*
 * ipoptsend: send UDP datagrams whose IPv4 header carries options (four
 * NOPs), for the BEET case the xfrm core lays out wrongly (an IPv4 inner
 * packet with options in an IPv6 outer header).
 *
 *   ipoptsend DST_IPV4 PORT COUNT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const unsigned char nops[4] = { IPOPT_NOP, IPOPT_NOP,
					       IPOPT_NOP, IPOPT_NOP };
	struct sockaddr_in dst = { .sin_family = AF_INET };
	int fd, i, count;

	if (argc != 4 || inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: %s DST_IPV4 PORT COUNT\n", argv[0]);
		return 2;
	}
	dst.sin_port = htons(atoi(argv[2]));
	count = atoi(argv[3]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_OPTIONS, nops,
				 sizeof(nops))) {
		perror("ipoptsend: socket/IP_OPTIONS");
		return 1;
	}
	for (i = 0; i < count; i++) {
		/* Errors are expected: the packet may be dropped on output. */
		if (sendto(fd, "espah", 5, 0, (struct sockaddr *)&dst,
			   sizeof(dst)) < 0)
			perror("ipoptsend: sendto");
		usleep(100000);
	}
	close(fd);
	return 0;
}
