// SPDX-License-Identifier: GPL-2.0
#include <linux/in.h>
#include <linux/socket.h>
#include <net/xfrm.h>

#include "proto.h"

static const char *espah_intree_modules(u8 proto, unsigned short family)
{
	if (proto == IPPROTO_ESP)
		return family == AF_INET6 ? "esp6_offload esp6" :
					    "esp4_offload esp4";
	return family == AF_INET6 ? "ah6" : "ah4";
}

static const char *espah_proto_name(u8 proto)
{
	return proto == IPPROTO_ESP ? "ESP" : "AH";
}

static bool espah_type_slot_taken(u8 proto, unsigned short family)
{
	struct xfrm_state_afinfo *afinfo;
	bool taken = true;

	rcu_read_lock();
	afinfo = xfrm_state_afinfo_get_rcu(family);
	if (afinfo)
		taken = (proto == IPPROTO_ESP ? afinfo->type_esp :
						afinfo->type_ah) != NULL;
	rcu_read_unlock();
	return taken;
}

/*
 * xfrm_register_type() silently replaces whatever holds the slot, which
 * would leave the in-tree module's SAs running on our code and ours on
 * its. Refuse instead, and say what to unload.
 */
int espah_claim_type(const struct xfrm_type *type, unsigned short family)
{
	if (espah_type_slot_taken(type->proto, family)) {
		pr_err("espah: %s for IPv%d is already provided by another module; unload it first: rmmod %s\n",
		       espah_proto_name(type->proto),
		       family == AF_INET6 ? 6 : 4,
		       espah_intree_modules(type->proto, family));
		return -EBUSY;
	}
	return xfrm_register_type(type, family);
}

void espah_release_type(const struct xfrm_type *type, unsigned short family)
{
	xfrm_unregister_type(type, family);
}

static bool espah_type_offload_slot_taken(unsigned short family)
{
	struct xfrm_state_afinfo *afinfo;
	bool taken = true;

	rcu_read_lock();
	afinfo = xfrm_state_afinfo_get_rcu(family);
	if (afinfo)
		taken = !!afinfo->type_offload_esp;
	rcu_read_unlock();
	return taken;
}

/* As espah_claim_type(), for ESP's GSO/GRO type offload. */
int espah_claim_type_offload(const struct xfrm_type_offload *type,
			     unsigned short family)
{
	if (espah_type_offload_slot_taken(family)) {
		pr_err("espah: ESP offload for IPv%d is already provided by another module; unload it first: rmmod %s\n",
		       family == AF_INET6 ? 6 : 4,
		       family == AF_INET6 ? "esp6_offload" : "esp4_offload");
		return -EBUSY;
	}
	return xfrm_register_type_offload(type, family);
}

void espah_release_type_offload(const struct xfrm_type_offload *type,
				unsigned short family)
{
	xfrm_unregister_type_offload(type, family);
}

/* ICMP errors are only acted on for packets one of our SAs sent. */
bool espah_icmp_for_our_sa(struct net *net, u32 mark,
			   const xfrm_address_t *daddr, __be32 spi, u8 proto,
			   unsigned short family)
{
	struct xfrm_state *x;

	x = xfrm_state_lookup(net, mark, daddr, spi, proto, family);
	if (!x)
		return false;
	xfrm_state_put(x);
	return true;
}
