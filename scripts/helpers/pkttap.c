// SPDX-License-Identifier: GPL-2.0
/*
 * pkttap: a packet tap that looks at frames as they are when it reads
 * them, not when they arrived. An AF_PACKET socket without a ring holds a
 * clone of every frame, sharing its data with the skb the stack goes on
 * to process; the tap reads its queue only when told to (SIGUSR1 or
 * SIGTERM), after the stack is done with the packets. If the receiving
 * ESP decrypted in place into memory the clone shares, the tap then sees
 * plaintext inside an ESP frame. (tcpdump's ring copies each frame on
 * arrival and would not notice.)
 *
 *   pkttap IFNAME MARKER
 *
 * Prints "ready", waits for the signal, drains the queue and prints
 * "frames=N esp=N esp_marker=N other_marker=N": ESP frames are IPv4/IPv6
 * with protocol 50, or UDP from or to port 4500 with a non-zero first
 * word (RFC 3948: not IKE, not a keepalive).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NATT_PORT 4500

typedef unsigned char u8;

struct tally {
	unsigned int frames, esp, esp_marker, other_marker;
};

static int natt_esp(const u8 *udp, size_t len)
{
	unsigned int sport = udp[0] << 8 | udp[1], dport = udp[2] << 8 | udp[3];

	if (len < 8 + 8 || (sport != NATT_PORT && dport != NATT_PORT))
		return 0;
	return udp[8] | udp[9] | udp[10] | udp[11];
}

/* Is the Ethernet frame @f an ESP packet (maybe in UDP)? */
static int is_esp(const u8 *f, size_t len)
{
	unsigned int type;
	size_t ihl;

	if (len < ETH_HLEN + 40)
		return 0;
	type = f[12] << 8 | f[13];
	f += ETH_HLEN;
	len -= ETH_HLEN;
	if (type == ETH_P_IP) {
		ihl = (f[0] & 0xf) * 4;
		if (f[9] == IPPROTO_ESP)
			return 1;
		return f[9] == IPPROTO_UDP && len > ihl && natt_esp(f + ihl, len - ihl);
	}
	if (type == ETH_P_IPV6) {
		if (f[6] == IPPROTO_ESP)
			return 1;
		return f[6] == IPPROTO_UDP && natt_esp(f + 40, len - 40);
	}
	return 0;
}

static void drain(int fd, const char *marker, struct tally *t)
{
	static u8 frame[70000];
	ssize_t n;

	while ((n = recv(fd, frame, sizeof(frame), MSG_DONTWAIT)) >= 0) {
		int esp = is_esp(frame, n);
		int mark = !!memmem(frame, n, marker, strlen(marker));

		t->frames++;
		t->esp += esp;
		t->esp_marker += esp && mark;
		t->other_marker += !esp && mark;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL) };
	int fd, rcvbuf = 8 << 20, sig;
	struct tally t = { 0 };
	sigset_t set;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IFNAME MARKER\n", argv[0]);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	ll.sll_ifindex = if_nametoindex(argv[1]);
	fd = socket(AF_PACKET, SOCK_RAW, 0);	/* no frames before bind() */
	if (!ll.sll_ifindex || fd < 0 ||
	    bind(fd, (struct sockaddr *)&ll, sizeof(ll))) {
		perror("pkttap");
		return 1;
	}
	/* as root, beyond rmem_max: no frame may be dropped while waiting */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	drain(fd, argv[2], &t);
	printf("frames=%u esp=%u esp_marker=%u other_marker=%u\n", t.frames,
	       t.esp, t.esp_marker, t.other_marker);
	return 0;
}
