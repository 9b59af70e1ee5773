// SPDX-License-Identifier: GPL-2.0
/*
 * A case's SA and inbound policy over NETLINK_XFRM, as "ip xfrm state
 * add" and "ip xfrm policy add" would send them (cases.c prints those
 * commands): one exec of ip per case costs a good part of a second
 * under TCG, this costs nothing. The socket is opened in murx.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "espmut.h"

#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS	0x200
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK	11
#endif

#define NL_BUF		8192

union nlreq {
	struct nlmsghdr h;
	u8 raw[NL_BUF];
};

static int nl_fd = -1;
static u32 nl_seq;

int xfrmnl_open(void)
{
	int one = 1;

	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
	if (nl_fd < 0)
		return -1;
	setsockopt(nl_fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	return 0;
}

static void *nl_init(union nlreq *r, u16 type, u16 flags, size_t len)
{
	memset(r, 0, NLMSG_LENGTH(len));
	r->h.nlmsg_len = NLMSG_LENGTH(len);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->h.nlmsg_seq = ++nl_seq;
	return NLMSG_DATA(&r->h);
}

static void nl_attr(union nlreq *r, u16 type, const void *data, size_t len)
{
	struct nlattr *a = (void *)(r->raw + NLMSG_ALIGN(r->h.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy(r->raw + NLMSG_ALIGN(r->h.nlmsg_len) + NLA_HDRLEN, data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* The kernel's extack message, if it sent one. */
static void extack_msg(struct nlmsghdr *h, char *msg, size_t n)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	unsigned int off = sizeof(*e);
	struct nlattr *a;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	while (NLMSG_HDRLEN + off + NLA_HDRLEN <= h->nlmsg_len) {
		a = (void *)((u8 *)e + off);
		if (a->nla_len < NLA_HDRLEN)
			return;
		if (a->nla_type == NLMSGERR_ATTR_MSG) {
			snprintf(msg, n, ": %.*s", (int)(a->nla_len - NLA_HDRLEN),
				 (char *)a + NLA_HDRLEN);
			return;
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

static int nl_talk(union nlreq *r, const char *what)
{
	u8 buf[NL_BUF];
	struct nlmsghdr *h = (void *)buf;
	char msg[256] = "";
	ssize_t n;
	int err;

	if (send(nl_fd, r, r->h.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(nl_fd, buf, sizeof(buf), 0);
	if (n < (ssize_t)NLMSG_HDRLEN || h->nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	if (err) {
		extack_msg(h, msg, sizeof(msg));
		printf("# %s: %s%s\n", what, strerror(-err), msg);
	}
	return err;
}

static void addr(xfrm_address_t *a, int family, const char *s)
{
	memset(a, 0, sizeof(*a));
	inet_pton(family == 4 ? AF_INET : AF_INET6, s, a);
}

static struct xfrm_lifetime_cfg forever(void)
{
	struct xfrm_lifetime_cfg l = {
		.soft_byte_limit = XFRM_INF, .hard_byte_limit = XFRM_INF,
		.soft_packet_limit = XFRM_INF, .hard_packet_limit = XFRM_INF,
	};

	return l;
}

static void sa_algos(union nlreq *r, const struct mcase *c)
{
	const struct xform *xf = c->xf;
	u8 buf[sizeof(struct xfrm_algo_auth) + 128] = { 0 };
	struct xfrm_algo_aead *aead = (void *)buf;
	struct xfrm_algo *enc = (void *)buf;
	struct xfrm_algo_auth *auth = (void *)buf;

	if (xf->kind == XF_AEAD) {
		snprintf(aead->alg_name, sizeof(aead->alg_name), "%s", xf->alg);
		aead->alg_key_len = xf->enc_keylen * 8;
		aead->alg_icv_len = xf->icv_len * 8;
		memcpy(aead->alg_key, c->enc_key, xf->enc_keylen);
		nl_attr(r, XFRMA_ALG_AEAD, aead, sizeof(*aead) + xf->enc_keylen);
		return;
	}
	if (xf->kind == XF_AUTHENC) {
		snprintf(enc->alg_name, sizeof(enc->alg_name), "%s", xf->alg);
		enc->alg_key_len = xf->enc_keylen * 8;
		memcpy(enc->alg_key, c->enc_key, xf->enc_keylen);
		nl_attr(r, XFRMA_ALG_CRYPT, enc, sizeof(*enc) + xf->enc_keylen);
		memset(buf, 0, sizeof(buf));
	}
	snprintf(auth->alg_name, sizeof(auth->alg_name), "%s", xf->auth_alg);
	auth->alg_key_len = xf->auth_keylen * 8;
	auth->alg_trunc_len = xf->icv_len * 8;
	memcpy(auth->alg_key, c->auth_key, xf->auth_keylen);
	nl_attr(r, XFRMA_ALG_AUTH_TRUNC, auth, sizeof(*auth) + xf->auth_keylen);
}

/* A window over 32 or ESN takes the bitmap form, as iproute2 sends it. */
static void sa_replay(union nlreq *r, const struct mcase *c,
		      struct xfrm_usersa_info *p)
{
	u8 buf[sizeof(struct xfrm_replay_state_esn) + 4096 / 8] = { 0 };
	struct xfrm_replay_state_esn *esn = (void *)buf;
	struct xfrm_replay_state legacy = { .seq = (u32)c->seq_start };

	if (!c->esn && c->replay_window <= 32) {
		p->replay_window = c->replay_window;
		nl_attr(r, XFRMA_REPLAY_VAL, &legacy, sizeof(legacy));
		return;
	}
	esn->replay_window = c->replay_window;
	esn->bmp_len = (c->replay_window + 31) / 32;
	esn->seq = (u32)c->seq_start;
	esn->seq_hi = c->seq_start >> 32;
	nl_attr(r, XFRMA_REPLAY_ESN_VAL, esn,
		sizeof(*esn) + esn->bmp_len * sizeof(esn->bmp[0]));
}

static void selector(struct xfrm_selector *sel, int family, const char *src,
		     const char *dst)
{
	sel->family = family == 4 ? AF_INET : AF_INET6;
	addr(&sel->saddr, family, src);
	addr(&sel->daddr, family, dst);
	sel->prefixlen_s = family == 4 ? 32 : 128;
	sel->prefixlen_d = sel->prefixlen_s;
}

int xfrmnl_flush(void)
{
	union nlreq r;
	struct xfrm_usersa_flush *f;
	int err;

	f = nl_init(&r, XFRM_MSG_FLUSHSA, 0, sizeof(*f));
	f->proto = 255;		/* IPSEC_PROTO_ANY */
	err = nl_talk(&r, "flush states");
	nl_init(&r, XFRM_MSG_FLUSHPOLICY, 0, 0);
	return err ? err : nl_talk(&r, "flush policies");
}

int xfrmnl_add_sa(const struct mcase *c, const char *o_src, const char *o_dst,
		  const char *s_src, const char *s_dst)
{
	union nlreq r;
	struct xfrm_usersa_info *p;
	struct xfrm_encap_tmpl encap = { 0 };
	int fam = c->family == 4 ? AF_INET : AF_INET6;

	p = nl_init(&r, XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL, sizeof(*p));
	p->family = fam;
	addr(&p->saddr, c->family, o_src);
	addr(&p->id.daddr, c->family, o_dst);
	p->id.spi = htonl(c->spi);
	p->id.proto = mcase_is_ah(c) ? IPPROTO_AH : IPPROTO_ESP;
	p->mode = c->mode == MODE_TRANSPORT ? XFRM_MODE_TRANSPORT :
		  c->mode == MODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_BEET;
	p->reqid = 7;
	p->lft = forever();
	p->flags = (c->esn ? XFRM_STATE_ESN : 0) |
		   (c->align4 ? XFRM_STATE_ALIGN4 : 0);
	if (c->mode != MODE_TRANSPORT)
		selector(&p->sel, c->inner_family, s_src, s_dst);
	sa_algos(&r, c);
	sa_replay(&r, c, p);
	if (c->encap) {
		encap.encap_type = 2;		/* UDP_ENCAP_ESPINUDP */
		encap.encap_sport = htons(ENCAP_PORT);
		encap.encap_dport = htons(ENCAP_PORT);
		nl_attr(&r, XFRMA_ENCAP, &encap, sizeof(encap));
	}
	return nl_talk(&r, "add SA");
}

/*
 * In: transport mode, UDP to the marker port, protected (a wider one
 * would also claim the IKE packets on the encapsulation port); tunnel
 * and BEET, everything between the inner ends: an inner packet of
 * another protocol then fails no policy check, which UDP would count
 * twice (XfrmInNoPols and its own InErrors).
 */
int xfrmnl_add_policy(const struct mcase *c, const char *o_src,
		      const char *o_dst, const char *s_src, const char *s_dst)
{
	union nlreq r;
	struct xfrm_userpolicy_info *p;
	struct xfrm_user_tmpl t = { 0 };
	int ifam = c->mode == MODE_TRANSPORT ? c->family : c->inner_family;

	p = nl_init(&r, XFRM_MSG_NEWPOLICY, NLM_F_CREATE | NLM_F_EXCL,
		    sizeof(*p));
	selector(&p->sel, ifam, s_src, s_dst);
	if (c->mode == MODE_TRANSPORT) {
		p->sel.proto = IPPROTO_UDP;
		p->sel.dport = htons(MARK_PORT);
		p->sel.dport_mask = 0xffff;
	}
	p->lft = forever();
	p->dir = XFRM_POLICY_IN;
	p->action = XFRM_POLICY_ALLOW;
	t.family = c->family == 4 ? AF_INET : AF_INET6;
	addr(&t.id.daddr, c->family, o_dst);
	addr(&t.saddr, c->family, o_src);
	t.id.proto = mcase_is_ah(c) ? IPPROTO_AH : IPPROTO_ESP;
	t.reqid = 7;
	t.mode = c->mode == MODE_TRANSPORT ? XFRM_MODE_TRANSPORT :
		 c->mode == MODE_TUNNEL ? XFRM_MODE_TUNNEL : XFRM_MODE_BEET;
	t.aalgos = ~0u;
	t.ealgos = ~0u;
	t.calgos = ~0u;
	nl_attr(&r, XFRMA_TMPL, &t, sizeof(t));
	return nl_talk(&r, "add policy");
}
