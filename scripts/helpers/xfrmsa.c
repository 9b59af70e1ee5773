// SPDX-License-Identifier: GPL-2.0
/*
 * xfrmsa: add one SA with a netlink request of its own, for what "ip xfrm
 * state add" cannot do: configurations iproute2 refuses before the kernel
 * sees them (ESP with authentication only, mode ro, AH in BEET mode), and
 * a memory failure injected into the request itself (fail-nth, see
 * Documentation/fault-injection/fault-injection.rst).
 *
 *   xfrmsa [--fail-nth N] src ADDR dst ADDR proto esp|ah spi SPI
 *          mode transport|tunnel|beet|ro [reqid N] [replay-window N]
 *          [flag esn|af-unspec|align4]... [sel src ADDR dst ADDR]
 *          [aead NAME KEY ICVBITS] [enc NAME KEY] [auth NAME KEY]
 *          [auth-trunc NAME KEY BITS] [tfcpad N]
 *          [encap espinudp|espinudp-nonike|espintcp SPORT DPORT OADDR]
 *
 * KEY is hex ("0x..." or "" for none). --fail-nth N: the Nth fault
 * injection point (slab or page allocation) the request passes fails.
 * Prints "ok", or the kernel's error: "error ERRNO (text): EXTACK"; with
 * --fail-nth also "injected=1|0". Exit 0 if the kernel added the SA, 1 if
 * it refused it, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "failnth.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef TCP_ENCAP_ESPINTCP
#define TCP_ENCAP_ESPINTCP 7
#endif

#define BUFLEN 8192
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct req {
	struct nlmsghdr n;
	struct xfrm_usersa_info sa;
	char attrs[BUFLEN];
};

static void add_attr(struct req *r, int type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static int hexkey(const char *hex, char *key, int max)
{
	int n = 0;

	if (!strncmp(hex, "0x", 2))
		hex += 2;
	while (hex[0] && hex[1] && n < max) {
		if (sscanf(hex, "%2hhx", (unsigned char *)&key[n]) != 1)
			return -1;
		hex += 2;
		n++;
	}
	return hex[0] ? -1 : n;
}

static int parse_addr(const char *s, xfrm_address_t *a, __u16 *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->a4) == 1) {
		*family = AF_INET;
		return 0;
	}
	*family = AF_INET6;
	return inet_pton(AF_INET6, s, a->a6) == 1 ? 0 : -1;
}

/* enc and auth: struct xfrm_algo; auth-trunc and aead carry a length more */
static int add_alg(struct req *r, char **argv, int type)
{
	char buf[sizeof(struct xfrm_algo_aead) + 512] = { 0 };
	struct xfrm_algo_aead *aead = (struct xfrm_algo_aead *)buf;
	struct xfrm_algo_auth *trunc = (struct xfrm_algo_auth *)buf;
	struct xfrm_algo *alg = (struct xfrm_algo *)buf;
	int n;

	switch (type) {
	case XFRMA_ALG_AEAD:
		n = hexkey(argv[1], aead->alg_key, 512);
		snprintf(aead->alg_name, sizeof(aead->alg_name), "%s", argv[0]);
		aead->alg_key_len = n * 8;
		aead->alg_icv_len = atoi(argv[2]);
		add_attr(r, type, buf, sizeof(*aead) + n);
		break;
	case XFRMA_ALG_AUTH_TRUNC:
		n = hexkey(argv[1], trunc->alg_key, 512);
		snprintf(trunc->alg_name, sizeof(trunc->alg_name), "%s", argv[0]);
		trunc->alg_key_len = n * 8;
		trunc->alg_trunc_len = atoi(argv[2]);
		add_attr(r, type, buf, sizeof(*trunc) + n);
		break;
	default:
		n = hexkey(argv[1], alg->alg_key, 512);
		snprintf(alg->alg_name, sizeof(alg->alg_name), "%s", argv[0]);
		alg->alg_key_len = n * 8;
		add_attr(r, type, buf, sizeof(*alg) + n);
	}
	return n < 0 ? -1 : 0;
}

static int add_encap(struct req *r, char **argv)
{
	struct xfrm_encap_tmpl e = { 0 };
	__u16 fam;

	if (!strcmp(argv[0], "espinudp"))
		e.encap_type = UDP_ENCAP_ESPINUDP;
	else if (!strcmp(argv[0], "espinudp-nonike"))
		e.encap_type = UDP_ENCAP_ESPINUDP_NON_IKE;
	else if (!strcmp(argv[0], "espintcp"))
		e.encap_type = TCP_ENCAP_ESPINTCP;
	else
		return -1;
	e.encap_sport = htons(atoi(argv[1]));
	e.encap_dport = htons(atoi(argv[2]));
	if (parse_addr(argv[3], &e.encap_oa, &fam))
		return -1;
	add_attr(r, XFRMA_ENCAP, &e, sizeof(e));
	return 0;
}

static int parse_mode(const char *s)
{
	static const char * const modes[] = { "transport", "tunnel", "ro",
					      "in_trigger", "beet" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(s, modes[i]))
			return i;
	return -1;
}

static int parse_flag(const char *s)
{
	if (!strcmp(s, "esn"))
		return XFRM_STATE_ESN;
	if (!strcmp(s, "af-unspec"))
		return XFRM_STATE_AF_UNSPEC;
	return strcmp(s, "align4") ? -1 : XFRM_STATE_ALIGN4;
}

/* "ip xfrm state add" sends its replay window as ESN state when asked for ESN or > 32 */
static void add_replay(struct req *r, unsigned int window)
{
	char buf[sizeof(struct xfrm_replay_state_esn) + 4096 / 8] = { 0 };
	struct xfrm_replay_state_esn *esn = (struct xfrm_replay_state_esn *)buf;

	if (!(r->sa.flags & XFRM_STATE_ESN) && window <= 32) {
		r->sa.replay_window = window;
		return;
	}
	if (window > 4096)
		window = 4096;
	esn->replay_window = window;
	esn->bmp_len = (window + 31) / 32;
	add_attr(r, XFRMA_REPLAY_ESN_VAL, buf, sizeof(*esn) + esn->bmp_len * 4);
}

static int parse_sel(struct req *r, char **argv)
{
	__u16 f1, f2;

	if (strcmp(argv[0], "src") || strcmp(argv[2], "dst") ||
	    parse_addr(argv[1], &r->sa.sel.saddr, &f1) ||
	    parse_addr(argv[3], &r->sa.sel.daddr, &f2) || f1 != f2)
		return -1;
	r->sa.sel.family = f1;
	r->sa.sel.prefixlen_s = f1 == AF_INET ? 32 : 128;
	r->sa.sel.prefixlen_d = r->sa.sel.prefixlen_s;
	return 0;
}

/* Returns the number of arguments consumed, or -1. */
static int parse_one(struct req *r, int argc, char **argv, unsigned int *window,
		     int *has_sel)
{
	__u16 fam;
	__u32 v;

	if (argc >= 2 && !strcmp(argv[0], "src"))
		return parse_addr(argv[1], &r->sa.saddr, &fam) ? -1 : 2;
	if (argc >= 2 && !strcmp(argv[0], "dst")) {
		if (parse_addr(argv[1], &r->sa.id.daddr, &r->sa.family))
			return -1;
		return 2;
	}
	if (argc >= 2 && !strcmp(argv[0], "proto")) {
		r->sa.id.proto = !strcmp(argv[1], "ah") ? IPPROTO_AH : IPPROTO_ESP;
		return 2;
	}
	if (argc >= 2 && !strcmp(argv[0], "spi")) {
		r->sa.id.spi = htonl(strtoul(argv[1], NULL, 0));
		return 2;
	}
	if (argc >= 2 && !strcmp(argv[0], "mode")) {
		int m = parse_mode(argv[1]);

		r->sa.mode = m;
		return m < 0 ? -1 : 2;
	}
	if (argc >= 2 && !strcmp(argv[0], "reqid")) {
		r->sa.reqid = strtoul(argv[1], NULL, 0);
		return 2;
	}
	if (argc >= 2 && !strcmp(argv[0], "replay-window")) {
		*window = strtoul(argv[1], NULL, 0);
		return 2;
	}
	if (argc >= 2 && !strcmp(argv[0], "flag")) {
		int f = parse_flag(argv[1]);

		r->sa.flags |= f;
		return f < 0 ? -1 : 2;
	}
	if (argc >= 2 && !strcmp(argv[0], "tfcpad")) {
		v = strtoul(argv[1], NULL, 0);
		add_attr(r, XFRMA_TFCPAD, &v, sizeof(v));
		return 2;
	}
	if (argc >= 5 && !strcmp(argv[0], "sel")) {
		*has_sel = 1;
		return parse_sel(r, argv + 1) ? -1 : 5;
	}
	if (argc >= 4 && !strcmp(argv[0], "aead"))
		return add_alg(r, argv + 1, XFRMA_ALG_AEAD) ? -1 : 4;
	if (argc >= 4 && !strcmp(argv[0], "auth-trunc"))
		return add_alg(r, argv + 1, XFRMA_ALG_AUTH_TRUNC) ? -1 : 4;
	if (argc >= 3 && !strcmp(argv[0], "enc"))
		return add_alg(r, argv + 1, XFRMA_ALG_CRYPT) ? -1 : 3;
	if (argc >= 3 && !strcmp(argv[0], "auth"))
		return add_alg(r, argv + 1, XFRMA_ALG_AUTH) ? -1 : 3;
	if (argc >= 5 && !strcmp(argv[0], "encap"))
		return add_encap(r, argv + 1) ? -1 : 5;
	return -1;
}

static void init_req(struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(sizeof(r->sa));
	r->n.nlmsg_type = XFRM_MSG_NEWSA;
	r->n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL;
	r->n.nlmsg_seq = 1;
	r->sa.lft.soft_byte_limit = XFRM_INF;
	r->sa.lft.hard_byte_limit = XFRM_INF;
	r->sa.lft.soft_packet_limit = XFRM_INF;
	r->sa.lft.hard_packet_limit = XFRM_INF;
}

/* The extack message of an NLMSG_ERROR answer, if any. */
static const char *extack_msg(struct nlmsghdr *h, int len)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	int off = sizeof(*e);
	struct nlattr *a;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return "";
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	a = (struct nlattr *)((char *)e + NLMSG_ALIGN(off));
	len -= NLMSG_HDRLEN + NLMSG_ALIGN(off);
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		if (a->nla_type == NLMSGERR_ATTR_MSG)
			return (const char *)a + NLA_HDRLEN;
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return "";
}

static int talk(int fd, struct req *r, const char *fail_nth)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	static char answer[BUFLEN];
	struct nlmsghdr *h = (struct nlmsghdr *)answer;
	int failfd = -1, injected = 0, n, err;
	const char *msg = "";
	ssize_t s;

	if (fail_nth)
		failfd = failnth_arm(fail_nth);
	s = sendto(fd, r, r->n.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel));
	err = errno;
	if (fail_nth)
		injected = failnth_disarm(failfd);
	if (s < 0) {
		err = -err;
		goto out;
	}
	n = recv(fd, answer, sizeof(answer), 0);
	if (n < 0) {
		/* the answer itself could not be allocated (ENOBUFS) */
		err = -errno;
		msg = "(no answer from the kernel)";
		goto out;
	}
	if (h->nlmsg_type != NLMSG_ERROR) {
		err = -EPROTO;
		goto out;
	}
	err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	msg = extack_msg(h, n);
out:
	if (!err)
		printf("ok");
	else
		printf("error %d (%s): %s", -err, strerror(-err), msg);
	if (fail_nth)
		printf(" injected=%d", injected);
	printf("\n");
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct req r;
	const char *fail_nth = NULL;
	unsigned int window = 0;
	int fd, one = 1, has_sel = 0, i = 1, n;
	struct timeval tv = { .tv_sec = 10 };

	init_req(&r);
	if (argc > 2 && !strcmp(argv[1], "--fail-nth")) {
		fail_nth = argv[2];
		i = 3;
	}
	while (i < argc) {
		n = parse_one(&r, argc - i, argv + i, &window, &has_sel);
		if (n < 0) {
			fprintf(stderr, "xfrmsa: cannot parse '%s' (usage: see the source)\n",
				argv[i]);
			return 2;
		}
		i += n;
	}
	if (!has_sel && !(r.sa.flags & XFRM_STATE_AF_UNSPEC))
		r.sa.sel.family = r.sa.family;
	add_replay(&r, window);

	fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
	if (fd < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		perror("xfrmsa: netlink");
		return 2;
	}
	return talk(fd, &r, fail_nth);
}
