/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hooking espah into the xfrm core, per address family.
 *
 * proto.c      - claiming an xfrm type (and type offload) slot without
 *                overwriting another module's, and what the ICMP error
 *                handlers share
 * proto_ipv4.c - xfrm4 receive and ICMP error handlers
 * proto_ipv6.c - xfrm6 receive and ICMP error handlers
 */
#ifndef _ESPAH_PROTO_H
#define _ESPAH_PROTO_H

#include <net/xfrm.h>

/* proto.c */
int espah_claim_type(const struct xfrm_type *type, unsigned short family);
void espah_release_type(const struct xfrm_type *type, unsigned short family);
int espah_claim_type_offload(const struct xfrm_type_offload *type,
			     unsigned short family);
void espah_release_type_offload(const struct xfrm_type_offload *type,
				unsigned short family);
bool espah_icmp_for_our_sa(struct net *net, u32 mark,
			   const xfrm_address_t *daddr, __be32 spi, u8 proto,
			   unsigned short family);

/* proto_ipv4.c */
int espah_ipv4_init(void);
void espah_ipv4_exit(void);

/* proto_ipv6.c */
#if IS_ENABLED(CONFIG_IPV6)
int espah_ipv6_init(void);
void espah_ipv6_exit(void);
#else
static inline int espah_ipv6_init(void) { return 0; }
static inline void espah_ipv6_exit(void) { }
#endif

#endif /* _ESPAH_PROTO_H */
