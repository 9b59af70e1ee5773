// SPDX-License-Identifier: GPL-2.0
/*
 * nattsock: hold a UDP socket open as an IKE daemon does for NAT
 * traversal (RFC 3948): UDP_ENCAP_ESPINUDP, so ESP-in-UDP arriving on the
 * port is decapsulated, and a per-socket bypass policy in both directions,
 * without which the inbound policy check drops the packets before
 * decapsulation. Runs until killed.
 *
 *   nattsock 4|6 PORT
 */
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif

static int set_bypass(int fd, int family, int dir)
{
	struct xfrm_userpolicy_info pol;
	int level = family == 6 ? IPPROTO_IPV6 : IPPROTO_IP;
	int opt = family == 6 ? IPV6_XFRM_POLICY : IP_XFRM_POLICY;

	memset(&pol, 0, sizeof(pol));
	pol.action = XFRM_POLICY_ALLOW;
	pol.sel.family = family == 6 ? AF_INET6 : AF_INET;
	pol.dir = dir;
	pol.lft.soft_byte_limit = XFRM_INF;
	pol.lft.hard_byte_limit = XFRM_INF;
	pol.lft.soft_packet_limit = XFRM_INF;
	pol.lft.hard_packet_limit = XFRM_INF;
	return setsockopt(fd, level, opt, &pol, sizeof(pol));
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	int encap = UDP_ENCAP_ESPINUDP;
	int family, port, fd, err;

	if (argc != 3) {
		fprintf(stderr, "usage: %s 4|6 PORT\n", argv[0]);
		return 2;
	}
	family = atoi(argv[1]);
	port = atoi(argv[2]);
	fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (family == 6) {
		a6.sin6_port = htons(port);
		err = bind(fd, (struct sockaddr *)&a6, sizeof(a6));
	} else {
		a4.sin_port = htons(port);
		err = bind(fd, (struct sockaddr *)&a4, sizeof(a4));
	}
	if (err) {
		perror("bind");
		return 1;
	}
	if (setsockopt(fd, SOL_UDP, UDP_ENCAP, &encap, sizeof(encap))) {
		perror("setsockopt(UDP_ENCAP)");
		return 1;
	}
	if (set_bypass(fd, family, XFRM_POLICY_IN) ||
	    set_bypass(fd, family, XFRM_POLICY_OUT)) {
		perror("setsockopt(IP_XFRM_POLICY)");
		return 1;
	}
	printf("nattsock: IPv%d UDP port %d ready\n", family, port);
	fflush(stdout);
	for (;;)
		pause();
}
