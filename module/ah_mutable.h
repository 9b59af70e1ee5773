/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fields of the IP headers that may change in transit, per family
 * (RFC 4302 3.3.3.1): ah_ipv4.c and ah_ipv6.c.
 *
 * Each function takes a scratch copy of the headers that precede the AH
 * header (the IPv4 header with its options, or the IPv6 header with the
 * extension headers before AH), @len bytes, and puts it in the form the
 * ICV covers: mutable fields zeroed, and fields whose value at the
 * receiver can be predicted set to that value. @outbound tells whether
 * the copy is of a packet we send (still to travel its route) or one we
 * received. Returns 0, or -EINVAL when the headers are malformed or AH
 * cannot predict them.
 *
 * Exported for the KUnit tests (kunit/espah_ah_kunit.c), which find them
 * with symbol_get() so that they also load without espah.
 */
#ifndef _ESPAH_AH_MUTABLE_H
#define _ESPAH_AH_MUTABLE_H

#include <linux/types.h>

typedef int (*ah_clear_mutable_t)(u8 *hdrs, unsigned int len, bool outbound);

int espah_ah4_clear_mutable(u8 *hdrs, unsigned int len, bool outbound);
int espah_ah6_clear_mutable(u8 *hdrs, unsigned int len, bool outbound);

#endif /* _ESPAH_AH_MUTABLE_H */
