// SPDX-License-Identifier: GPL-2.0
/*
 * Putting packets on the wire: a veth pair between the namespaces
 * "mutx" (sender, no addresses) and "murx" (the SAs, the sockets).
 *
 * Frames go out of a packet socket on mt0 whole, so no header is fixed
 * up by the sender's stack. Frames of 4 KiB and more reach the receiver
 * in page fragments; frames sent from the TX ring (PACKET_TX_RING) always
 * do, and those fragments are the ring's pages, memory this process
 * keeps mapped: a receiver that decrypts in place there would change
 * them, which wire_ring_check() catches. IP fragments are reassembled by
 * the receiver into frag lists.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "espmut.h"

#define NS_RX		"/var/run/netns/murx"
#define NS_TX		"/var/run/netns/mutx"
#define DEV_RX		"mr0"
#define DEV_TX		"mt0"
#define RING_FRAME	(128 * 1024)	/* a 64 KiB packet and then some */
#define RING_FRAMES	16
#define MAX_FRAGS	64

struct ring {
	int fd;
	u8 *map;
	unsigned int next;
	u8 *copy;			/* what each slot was given */
	unsigned int len[RING_FRAMES];
	bool modified;
	char why[160];
};

struct wire {
	int tx;
	int ifindex;
	u8 mac_tx[6], mac_rx[6];
	struct ring ring;
	int ctl;			/* an ioctl socket in murx */
	u32 frag_id;
	int ns_rx, ns_tx;
	u8 buf[FRAME_MAX + 64];
};

static int ns_rx_fd = -1, ns_tx_fd = -1;

static int enter(int fd, const char *name)
{
	if (setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "espmut: setns %s: %m\n", name);
		return -1;
	}
	return 0;
}

int wire_enter_rx(void)
{
	return enter(ns_rx_fd, NS_RX);
}

int wire_enter_tx(void)
{
	return enter(ns_tx_fd, NS_TX);
}

static int dev_info(int fd, const char *dev, int *ifindex, u8 *mac)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFINDEX, &ifr))
		return -1;
	if (ifindex)
		*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

static int packet_socket(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_ifindex = ifindex,
	};
	int one = 1, fd;

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return -1;
	/* veth has no qdisc to speak of; keep the path short */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int ring_open(struct ring *r, int ifindex)
{
	struct tpacket_req req = {
		.tp_block_size = RING_FRAME, .tp_block_nr = RING_FRAMES,
		.tp_frame_size = RING_FRAME, .tp_frame_nr = RING_FRAMES,
	};
	int v = TPACKET_V2;

	r->fd = packet_socket(ifindex);
	if (r->fd < 0 ||
	    setsockopt(r->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) ||
	    setsockopt(r->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		return -1;
	r->map = mmap(NULL, RING_FRAME * RING_FRAMES, PROT_READ | PROT_WRITE,
		      MAP_SHARED, r->fd, 0);
	if (r->map == MAP_FAILED)
		return -1;
	r->copy = calloc(RING_FRAMES, RING_FRAME);
	return r->copy ? 0 : -1;
}

static u8 *ring_data(struct ring *r, unsigned int slot)
{
	return r->map + slot * RING_FRAME + TPACKET2_HDRLEN -
	       sizeof(struct sockaddr_ll);
}

/* Did anyone write into a slot since we filled it? */
static void ring_verify_slot(struct ring *r, unsigned int slot)
{
	unsigned int i, n = r->len[slot];
	u8 *d = ring_data(r, slot), *c = r->copy + slot * RING_FRAME;

	if (!n || r->modified || !memcmp(d, c, n))
		return;
	for (i = 0; i < n && d[i] == c[i]; i++)
		;
	r->modified = true;
	snprintf(r->why, sizeof(r->why),
		 "TX ring slot %u: byte %u of %u changed after sending (0x%02x -> 0x%02x): the receive side wrote into the sender's pages",
		 slot, i, n, c[i], d[i]);
}

static int ring_send(struct ring *r, const u8 *frame, unsigned int len)
{
	unsigned int slot = r->next;
	struct tpacket2_hdr *h = (void *)(r->map + slot * RING_FRAME);
	int tries = 0;

	if (len > RING_FRAME - TPACKET2_HDRLEN)
		return -1;
	while (h->tp_status != TP_STATUS_AVAILABLE) {
		if (h->tp_status == TP_STATUS_WRONG_FORMAT || ++tries > 1000)
			return -1;
		usleep(1000);
	}
	ring_verify_slot(r, slot);
	memcpy(ring_data(r, slot), frame, len);
	memcpy(r->copy + slot * RING_FRAME, frame, len);
	r->len[slot] = len;
	h->tp_len = len;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	r->next = (slot + 1) % RING_FRAMES;
	if (send(r->fd, NULL, 0, 0) < 0)
		return -1;
	return 0;
}

int wire_ring_check(struct wire *w, char *why, size_t n)
{
	unsigned int i;

	for (i = 0; i < RING_FRAMES; i++) {
		struct tpacket2_hdr *h = (void *)(w->ring.map + i * RING_FRAME);

		if (h->tp_status == TP_STATUS_AVAILABLE)
			ring_verify_slot(&w->ring, i);
	}
	if (!w->ring.modified)
		return 0;
	snprintf(why, n, "%s", w->ring.why);
	w->ring.modified = false;
	return -1;
}

struct wire *wire_open(bool verbose_)
{
	struct wire *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	ns_rx_fd = open(NS_RX, O_RDONLY);
	ns_tx_fd = open(NS_TX, O_RDONLY);
	if (ns_rx_fd < 0 || ns_tx_fd < 0) {
		fprintf(stderr,
			"espmut: no namespaces murx and mutx (scripts/guest/mutate.sh)\n");
		goto fail;
	}
	if (wire_enter_tx())
		goto fail;
	w->ctl = socket(AF_INET, SOCK_DGRAM, 0);
	if (dev_info(w->ctl, DEV_TX, &w->ifindex, w->mac_tx)) {
		fprintf(stderr, "espmut: no %s in mutx: %m\n", DEV_TX);
		goto fail;
	}
	close(w->ctl);
	w->tx = packet_socket(w->ifindex);
	if (w->tx < 0 || ring_open(&w->ring, w->ifindex)) {
		fprintf(stderr, "espmut: packet socket on %s: %m\n", DEV_TX);
		goto fail;
	}
	if (wire_enter_rx())
		goto fail;
	w->ctl = socket(AF_INET, SOCK_DGRAM, 0);
	if (dev_info(w->ctl, DEV_RX, NULL, w->mac_rx)) {
		fprintf(stderr, "espmut: no %s in murx: %m\n", DEV_RX);
		goto fail;
	}
	return w;
fail:
	free(w);
	return NULL;
}

void wire_close(struct wire *w)
{
	if (!w)
		return;
	close(w->tx);
	close(w->ring.fd);
	close(w->ctl);
	free(w->ring.copy);
	free(w);
}

void wire_macs(const struct wire *w, u8 *src, u8 *dst)
{
	memcpy(src, w->mac_tx, 6);
	memcpy(dst, w->mac_rx, 6);
}

void wire_set_frag_ids(struct wire *w, u32 base)
{
	w->frag_id = base;
}

/* GRO on the receiving veth puts it in NAPI mode (veth_set_features). */
int wire_set_gro(struct wire *w, bool on)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_SGRO, .data = on };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", DEV_RX);
	ifr.ifr_data = (void *)&ev;
	return ioctl(w->ctl, SIOCETHTOOL, &ifr);
}

static int send_frame(struct wire *w, const u8 *f, unsigned int len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_ifindex = w->ifindex,
		.sll_halen = 6,
	};

	memcpy(sll.sll_addr, w->mac_rx, 6);
	if (sendto(w->tx, f, len, 0, (struct sockaddr *)&sll,
		   sizeof(sll)) != (ssize_t)len)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ fragments */

struct piece {
	unsigned int off, len;
	bool more;
};

/* Splits @len bytes into pieces of @fs (a multiple of 8) bytes. */
static unsigned int split(unsigned int len, unsigned int fs,
			  struct piece *pc)
{
	unsigned int n = 0, off = 0;

	while (off < len && n < MAX_FRAGS) {
		pc[n].off = off;
		pc[n].len = MIN(fs, len - off);
		off += pc[n].len;
		pc[n].more = off < len;
		n++;
	}
	return n;
}

/* One fragment frame of the IP packet at @ip into w->buf; IPv4 keeps its ID. */
static unsigned int frag4(struct wire *w, const u8 *eth, const u8 *ip,
			  const struct piece *pc)
{
	unsigned int hl = (ip[0] & 0xf) * 4, out_hl = pc->off ? IP4_HLEN : hl;
	u8 *o = w->buf + ETH_HLEN_;
	u16 frag = pc->off / 8 | (pc->more ? 0x2000 : 0);
	unsigned int tot = out_hl + pc->len;

	memcpy(w->buf, eth, ETH_HLEN_);
	memcpy(o, ip, IP4_HLEN);
	if (out_hl > IP4_HLEN)
		memcpy(o + IP4_HLEN, ip + IP4_HLEN, out_hl - IP4_HLEN);
	o[0] = 0x40 | out_hl / 4;
	o[2] = tot >> 8;
	o[3] = tot;
	/* the packet's own ID: AH covers it */
	o[6] = frag >> 8;
	o[7] = frag;
	memcpy(o + out_hl, ip + hl + pc->off, pc->len);
	fix_ip4_csum(o);
	return ETH_HLEN_ + tot;
}

/*
 * IPv6: the headers up to @unfrag bytes stay in front; a fragment header
 * naming what followed them goes after; @nh_off is the byte that named it.
 */
static unsigned int frag6(struct wire *w, const u8 *eth, const u8 *ip,
			  unsigned int unfrag, unsigned int nh_off,
			  const struct piece *pc)
{
	u8 *o = w->buf + ETH_HLEN_, *fh = o + unfrag;
	u16 off = pc->off | (pc->more ? 1 : 0);
	unsigned int plen = unfrag - IP6_HLEN + 8 + pc->len;

	memcpy(w->buf, eth, ETH_HLEN_);
	memcpy(o, ip, unfrag);
	o[4] = plen >> 8;
	o[5] = plen;
	fh[0] = ip[nh_off];
	fh[1] = 0;
	fh[2] = off >> 8;
	fh[3] = off;
	fh[4] = w->frag_id >> 24;
	fh[5] = w->frag_id >> 16;
	fh[6] = w->frag_id >> 8;
	fh[7] = w->frag_id;
	o[nh_off] = IPPROTO_FRAGMENT;
	memcpy(fh + 8, ip + unfrag + pc->off, pc->len);
	return ETH_HLEN_ + IP6_HLEN + plen;
}

static void shuffle(struct piece *pc, unsigned int n, struct rng *r)
{
	unsigned int i, j;
	struct piece t;

	for (i = n - 1; i > 0; i--) {
		j = rng_below(r, i + 1);
		t = pc[i];
		pc[i] = pc[j];
		pc[j] = t;
	}
}

/*
 * The pieces to send for the carrier, in order. Overlap: all but the
 * last piece (one contiguous run at the receiver), then a piece reaching
 * past that run's end: the datagram is dropped (RFC 5722). Missing: one
 * piece left out. Duplicate: one piece twice, before the last arrives.
 */
static unsigned int plan(struct piece *pc, unsigned int n, u8 carrier,
			 struct rng *r)
{
	unsigned int k;

	switch (carrier) {
	case CARRIER_FRAG_OVERLAP:
		pc[n - 1].off = pc[n - 2].off + pc[n - 2].len - 8;
		pc[n - 1].len = 16;
		pc[n - 1].more = true;
		return n;
	case CARRIER_FRAG_MISSING:
		k = rng_below(r, n);
		memmove(pc + k, pc + k + 1, (n - k - 1) * sizeof(*pc));
		return n - 1;
	case CARRIER_FRAG_DUP:
		k = rng_below(r, n - 1);
		memmove(pc + k + 1, pc + k, (n - k) * sizeof(*pc));
		return n + 1;
	case CARRIER_FRAG:
		if (rng_chance(r, 30))
			shuffle(pc, n, r);
		else if (rng_chance(r, 30))
			for (k = 0; k < n / 2; k++) {
				struct piece t = pc[k];

				pc[k] = pc[n - 1 - k];
				pc[n - 1 - k] = t;
			}
		return n;
	}
	return n;
}

/* The IP packet must be whole and self-consistent to be fragmented. */
static bool fragmentable(const struct pkt *p, unsigned int *data,
			 unsigned int *unfrag, int family)
{
	const u8 *ip = p->frame + p->lay.ip;
	unsigned int len = p->len - p->lay.ip;

	if (family == 4) {
		*unfrag = (ip[0] & 0xf) * 4;
		if ((ip[0] >> 4) != 4 || (ip[2] << 8 | ip[3]) != len ||
		    *unfrag < IP4_HLEN || (ip[6] & 0x3f) || ip[7] ||
		    (ip[6] & 0x20))
			return false;
	} else {
		*unfrag = p->lay.l4 - p->lay.ip;
		if ((ip[0] >> 4) != 6 || (ip[4] << 8 | ip[5]) + IP6_HLEN != len ||
		    p->lay.nh_off < p->lay.ip || !p->lay.l4)
			return false;
	}
	*data = len - *unfrag;
	return *data >= 24;
}

/*
 * IPv6 drops a first fragment that does not hold every header up to the
 * upper-layer one and that one's first bytes (RFC 8200 4.5, RFC 7112):
 * behind AH, the 8 bytes of UDP or 1 byte of anything else.
 */
static unsigned int first_piece_min(const struct pkt *p, int family)
{
	unsigned int n;

	if (family == 4 || p->frame[p->lay.nh_off] != IPPROTO_AH)
		return 8;
	n = p->lay.ct - p->lay.l4 + UDP_HLEN;
	return (n + 7) & ~7u;
}

static int send_fragments(struct wire *w, struct pkt *p, struct rng *r,
			  int family)
{
	struct piece pc[MAX_FRAGS + 2];
	unsigned int data, unfrag, fs, n, i, len, first;
	const u8 *ip = p->frame + p->lay.ip;

	if (!fragmentable(p, &data, &unfrag, family))
		return -2;
	first = first_piece_min(p, family);
	fs = p->carrier == CARRIER_FRAG_TINY ? first : 8 * (1 + rng_below(r, 180));
	fs = MAX(fs, (data / MAX_FRAGS + 8) & ~7u);
	fs = MAX(fs, first);
	n = split(data, fs, pc);
	if (p->carrier == CARRIER_FRAG_TINY && n > 1 && data > first + 8) {
		/* the least first piece, then the rest in one or two */
		n = split(data - first,
			  MAX(8u, ((data - first) / 2 + 7) & ~7u), pc + 1) + 1;
		pc[0] = (struct piece){ 0, first, true };
		for (i = 1; i < n; i++)
			pc[i].off += first;
	}
	if (n < 2)
		return -2;
	n = plan(pc, n, p->carrier, r);
	w->frag_id++;
	for (i = 0; i < n; i++) {
		if (family == 4)
			len = frag4(w, p->frame, ip, &pc[i]);
		else
			len = frag6(w, p->frame, ip, unfrag,
				    p->lay.nh_off - p->lay.ip, &pc[i]);
		if (send_frame(w, w->buf, len))
			return -1;
		p->frames++;
	}
	return 0;
}

int wire_send(struct wire *w, struct pkt *p, struct rng *r)
{
	int family = (p->frame[12] << 8 | p->frame[13]) == 0x0800 ? 4 : 6;
	int err;

	p->frames = 0;
	if (p->carrier >= CARRIER_FRAG) {
		err = send_fragments(w, p, r, family);
		if (err != -2)
			return err;
		/* too short to split, or not a whole packet: sent as it is */
		if (p->carrier == CARRIER_FRAG_OVERLAP ||
		    p->carrier == CARRIER_FRAG_MISSING)
			p->expect = p->klass == K_FORG ? E_DROP : E_ANY;
		p->carrier = CARRIER_WHOLE;
		p->expect_reasm = 0;
	}
	if (p->carrier == CARRIER_RING) {
		if (ring_send(&w->ring, p->frame, p->len))
			return -1;
	} else if (send_frame(w, p->frame, p->len)) {
		return -1;
	}
	p->frames = 1;
	return 0;
}
