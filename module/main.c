// SPDX-License-Identifier: GPL-2.0
/*
 * espah: IPsec ESP (RFC 4303) and AH (RFC 4302) as xfrm types of their
 * own, for IPv4 and IPv6, in place of the in-tree esp4/esp6/ah4/ah6.
 */
#include <linux/module.h>
#include <net/xfrm.h>

#include "ah.h"
#include "esp.h"
#include "parallel.h"
#include "proto.h"
#include "req_cache.h"
#include "sa.h"
#include "stats.h"
#include "version.h"

/*
 * Every SA gets its record (sa.h) before the transform sets it up; if
 * anything fails the core still calls the destructor, which copes with
 * whatever exists.
 */
static struct espah_sa *espah_sa_add_said(struct xfrm_state *x,
					  struct netlink_ext_ack *extack)
{
	struct espah_sa *sa = espah_sa_add(x);

	if (IS_ERR(sa))
		NL_SET_ERR_MSG(extack, "espah: cannot record the SA (out of memory)");
	return sa;
}

static int espah_esp_init_state(struct xfrm_state *x,
				struct netlink_ext_ack *extack)
{
	struct espah_sa *sa = espah_sa_add_said(x, extack);

	if (IS_ERR(sa))
		return PTR_ERR(sa);
	return esp_init_state(x, sa, extack);
}

static void espah_esp_destroy_state(struct xfrm_state *x)
{
	espah_sa_del(x);
	esp_destroy_state(x);
}

static int espah_ah_init_state(struct xfrm_state *x,
			       struct netlink_ext_ack *extack)
{
	struct espah_sa *sa = espah_sa_add_said(x, extack);

	if (IS_ERR(sa))
		return PTR_ERR(sa);
	return ah_init_state(x, extack);
}

static void espah_ah_destroy_state(struct xfrm_state *x)
{
	espah_sa_del(x);
	ah_destroy_state(x);
}

const struct xfrm_type espah_esp_type = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= espah_esp_init_state,
	.destructor	= espah_esp_destroy_state,
	.input		= esp_input,
	.output		= esp_output,
};

const struct xfrm_type espah_ah_type = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_AH,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= espah_ah_init_state,
	.destructor	= espah_ah_destroy_state,
	.input		= ah_input,
	.output		= ah_output,
};

static int __init espah_init(void)
{
	int err;

	err = espah_sa_init();
	if (err)
		return err;
	err = espah_req_cache_init();
	if (err)
		goto exit_sa;
	err = espah_parallel_init();
	if (err)
		goto exit_req_cache;
	err = espah_stats_init();
	if (err)
		goto exit_parallel;
	err = espah_ipv4_init();
	if (err)
		goto exit_stats;
	err = espah_ipv6_init();
	if (err)
		goto exit_ipv4;
	err = esp_offload_init();
	if (err)
		goto exit_ipv6;

	pr_info("espah " ESPAH_VERSION " loaded: ESP and AH for IPv4 and IPv6%s\n",
		esp_offload_registered() ? ", ESP GSO/GRO offload" : "");
	return 0;

exit_ipv6:
	espah_ipv6_exit();
exit_ipv4:
	espah_ipv4_exit();
exit_stats:
	espah_stats_exit();
exit_parallel:
	espah_parallel_exit();
exit_req_cache:
	espah_req_cache_exit();
exit_sa:
	espah_sa_exit();
	return err;
}

static void __exit espah_exit(void)
{
	esp_offload_exit();
	espah_ipv6_exit();
	espah_ipv4_exit();
	espah_stats_exit();
	espah_parallel_exit();
	espah_req_cache_exit();
	espah_sa_exit();
	espah_fresh_exit();
}

module_init(espah_init);
module_exit(espah_exit);
MODULE_DESCRIPTION("IPsec ESP and AH transforms for IPv4 and IPv6 (replaces esp4/esp6/ah4/ah6)");
MODULE_AUTHOR("The espah developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(ESPAH_VERSION);
/*
 * The names xfrm_get_type() asks modprobe for ("xfrm-type-<family>-<proto>").
 * esp4/ah4/esp6/ah6 carry the same aliases: scripts/espah-modprobe.conf
 * (installed into /etc/modprobe.d/) makes modprobe pick espah only.
 */
MODULE_ALIAS_XFRM_TYPE(AF_INET, XFRM_PROTO_ESP);
MODULE_ALIAS_XFRM_TYPE(AF_INET, XFRM_PROTO_AH);
#if IS_ENABLED(CONFIG_IPV6)
MODULE_ALIAS_XFRM_TYPE(AF_INET6, XFRM_PROTO_ESP);
MODULE_ALIAS_XFRM_TYPE(AF_INET6, XFRM_PROTO_AH);
#endif
