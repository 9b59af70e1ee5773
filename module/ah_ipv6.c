// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 header fields as AH authenticates them (RFC 4302 3.3.3.1.2 and
 * appendix A.2): traffic class, flow label and hop limit are zeroed; in
 * Hop-by-Hop and Destination options, the data of an option whose type
 * says it may change en route (RFC 8200 4.2) is zeroed; a routing header
 * is authenticated as it will look at the final destination. A packet we
 * send gets its Home Address option swapped with the source address the
 * way the receiver will swap them (RFC 6275 6.3, 9.3.1).
 */
#include <linux/export.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/string.h>
#include <net/ipv6.h>

#include "ah_mutable.h"

/* RFC 8200 4.2: third-highest bit of an option type. */
#define AH6_OPT_MAY_CHANGE	0x20

/* Option type and length octets, then the option data. */
#define AH6_OPT_HDR_LEN		2
/* Next header and length octets, then the options. */
#define AH6_EXTHDR_OPTS_OFF	2
/* Type 0 and 2 routing headers: 8 octets, then IPv6 addresses. */
#define AH6_RTHDR_ADDRS_OFF	8

static void ah6_clear_fixed_header(struct ipv6hdr *ip6h)
{
	ip6h->priority = 0;
	memset(ip6h->flow_lbl, 0, sizeof(ip6h->flow_lbl));
	ip6h->hop_limit = 0;
}

/*
 * The receiver swaps the home address from the option into the source
 * address before AH sees the packet.
 */
static int ah6_swap_home_address(struct ipv6hdr *ip6h, u8 *opt)
{
	struct in6_addr home;

	if (unlikely(opt[1] != sizeof(home)))
		return -EINVAL;
	memcpy(&home, opt + AH6_OPT_HDR_LEN, sizeof(home));
	memcpy(opt + AH6_OPT_HDR_LEN, &ip6h->saddr, sizeof(home));
	ip6h->saddr = home;
	return 0;
}

static int ah6_clear_option(struct ipv6hdr *ip6h, u8 *opt, bool outbound_dst)
{
	if (opt[0] & AH6_OPT_MAY_CHANGE) {
		memset(opt + AH6_OPT_HDR_LEN, 0, opt[1]);
		return 0;
	}
	if (outbound_dst && opt[0] == IPV6_TLV_HAO)
		return ah6_swap_home_address(ip6h, opt);
	return 0;
}

/* Hop-by-Hop or Destination options header @eh of @len bytes. */
static int ah6_clear_options(struct ipv6hdr *ip6h, u8 *eh, unsigned int len,
			     bool outbound_dst)
{
	unsigned int off = AH6_EXTHDR_OPTS_OFF;
	unsigned int optlen;
	int err;

	while (off < len) {
		if (eh[off] == IPV6_TLV_PAD1) {
			off++;
			continue;
		}
		if (unlikely(len - off < AH6_OPT_HDR_LEN))
			return -EINVAL;
		optlen = AH6_OPT_HDR_LEN + eh[off + 1];
		if (unlikely(optlen > len - off))
			return -EINVAL;
		err = ah6_clear_option(ip6h, eh + off, outbound_dst);
		if (unlikely(err))
			return err;
		off += optlen;
	}
	return 0;
}

/*
 * A type 0 or type 2 routing header @eh of @len bytes, with segments left
 * to visit: at the final destination the header holds the last address,
 * the list holds the addresses visited (the header's current one where
 * the unvisited part begins) and no segment is left (RFC 8200 4.4, the
 * type 0 processing of RFC 2460 4.4).
 */
static int ah6_final_rthdr(struct ipv6hdr *ip6h, u8 *eh, unsigned int len)
{
	struct ipv6_rt_hdr *rt = (struct ipv6_rt_hdr *)eh;
	unsigned int n = rt->hdrlen / 2, left = rt->segments_left;
	struct in6_addr *addrs = (struct in6_addr *)(eh + AH6_RTHDR_ADDRS_OFF);
	struct in6_addr final;

	if (!left)
		return 0;
	/* Other types' final form is not known: refuse, don't guess. */
	if (unlikely(rt->type != IPV6_SRCRT_TYPE_0 &&
		     rt->type != IPV6_SRCRT_TYPE_2))
		return -EINVAL;
	if (unlikely(rt->hdrlen % 2 || left > n ||
		     AH6_RTHDR_ADDRS_OFF + n * sizeof(*addrs) > len))
		return -EINVAL;

	final = addrs[n - 1];
	memmove(&addrs[n - left + 1], &addrs[n - left],
		(left - 1) * sizeof(*addrs));
	addrs[n - left] = ip6h->daddr;
	ip6h->daddr = final;
	rt->segments_left = 0;
	return 0;
}

static int ah6_clear_exthdr(struct ipv6hdr *ip6h, u8 nexthdr, u8 *eh,
			    unsigned int len, bool outbound)
{
	switch (nexthdr) {
	case NEXTHDR_HOP:
		return ah6_clear_options(ip6h, eh, len, false);
	case NEXTHDR_DEST:
		return ah6_clear_options(ip6h, eh, len, outbound);
	case NEXTHDR_ROUTING:
		return ah6_final_rthdr(ip6h, eh, len);
	}
	/* Nothing else comes before AH (RFC 8200 4.1, ip6_find_1stfragopt). */
	return -EINVAL;
}

int espah_ah6_clear_mutable(u8 *hdrs, unsigned int len, bool outbound)
{
	struct ipv6hdr *ip6h = (struct ipv6hdr *)hdrs;
	unsigned int off = sizeof(*ip6h), ehlen;
	u8 nexthdr;
	int err;

	if (unlikely(len < sizeof(*ip6h)))
		return -EINVAL;
	ah6_clear_fixed_header(ip6h);

	nexthdr = ip6h->nexthdr;
	while (off < len) {
		if (unlikely(len - off < AH6_EXTHDR_OPTS_OFF))
			return -EINVAL;
		ehlen = ipv6_optlen((struct ipv6_opt_hdr *)(hdrs + off));
		if (unlikely(ehlen > len - off))
			return -EINVAL;
		err = ah6_clear_exthdr(ip6h, nexthdr, hdrs + off, ehlen,
				       outbound);
		if (unlikely(err))
			return err;
		nexthdr = hdrs[off];
		off += ehlen;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(espah_ah6_clear_mutable);
