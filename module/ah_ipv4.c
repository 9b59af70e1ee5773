// SPDX-License-Identifier: GPL-2.0
/*
 * IPv4 header fields as AH authenticates them (RFC 4302 3.3.3.1.1 and
 * appendix A.1): TOS, flags and fragment offset, TTL and checksum are
 * zeroed; options are kept when no router changes them and zeroed whole
 * (type and length included) otherwise; a source routed packet is
 * authenticated with the final destination in its header, since that is
 * what the receiver sees there.
 */
#include <linux/export.h>
#include <linux/ip.h>
#include <linux/string.h>

#include "ah_mutable.h"

/* Option numbers appendix A.1 lists as immutable that <linux/ip.h> lacks. */
#define AH4_OPT_ESEC	(5 | IPOPT_COPY)	/* Extended Security, RFC 1108 */
#define AH4_OPT_SDB	(21 | IPOPT_COPY)	/* RFC 1770 */

/* A source route option: type, length, pointer, then IPv4 addresses. */
#define AH4_SRR_HDR_LEN	3

static bool ah4_option_is_immutable(u8 type)
{
	switch (type) {
	case IPOPT_SEC:
	case AH4_OPT_ESEC:
	case IPOPT_CIPSO:
	case IPOPT_RA:
	case AH4_OPT_SDB:
		return true;
	}
	/* Appendix A.1: anything not listed is treated as mutable. */
	return false;
}

static bool ah4_option_is_source_route(u8 type)
{
	return type == IPOPT_LSRR || type == IPOPT_SSRR;
}

/*
 * The sender's source route lists the hops after the one in the header,
 * the final destination last; the receiver finds that final destination
 * in the header.
 */
static int ah4_source_route(struct iphdr *iph, const u8 *opt, u8 optlen,
			    bool outbound)
{
	unsigned int addrs_len = optlen - AH4_SRR_HDR_LEN;

	if (unlikely(optlen <= AH4_SRR_HDR_LEN || addrs_len % 4))
		return -EINVAL;
	/* A received packet is at its final destination already. */
	if (outbound)
		memcpy(&iph->daddr, opt + optlen - 4, 4);
	return 0;
}

static int ah4_clear_option(struct iphdr *iph, u8 *opt, u8 optlen,
			    bool outbound)
{
	int err;

	if (ah4_option_is_immutable(opt[0]))
		return 0;
	if (ah4_option_is_source_route(opt[0])) {
		err = ah4_source_route(iph, opt, optlen, outbound);
		if (unlikely(err))
			return err;
	}
	memset(opt, 0, optlen);
	return 0;
}

/*
 * Walks the options after the fixed header. Bytes after an End of Options
 * List are padding and stay as they are, as in the in-tree ah4.
 */
static int ah4_clear_options(struct iphdr *iph, u8 *opts, unsigned int len,
			     bool outbound)
{
	unsigned int off = 0;
	u8 optlen;
	int err;

	while (off < len) {
		if (opts[off] == IPOPT_END)
			break;
		if (opts[off] == IPOPT_NOOP) {
			off++;
			continue;
		}
		if (unlikely(len - off < 2))
			return -EINVAL;
		optlen = opts[off + 1];
		if (unlikely(optlen < 2 || optlen > len - off))
			return -EINVAL;
		err = ah4_clear_option(iph, opts + off, optlen, outbound);
		if (unlikely(err))
			return err;
		off += optlen;
	}
	return 0;
}

int espah_ah4_clear_mutable(u8 *hdrs, unsigned int len, bool outbound)
{
	struct iphdr *iph = (struct iphdr *)hdrs;

	if (unlikely(len < sizeof(*iph) || len != iph->ihl * 4))
		return -EINVAL;
	iph->tos = 0;
	iph->frag_off = 0;
	iph->ttl = 0;
	iph->check = 0;
	return ah4_clear_options(iph, hdrs + sizeof(*iph),
				 len - sizeof(*iph), outbound);
}
EXPORT_SYMBOL_GPL(espah_ah4_clear_mutable);
