// SPDX-License-Identifier: GPL-2.0
/*
 * espah: IPsec ESP (RFC 4303) and AH (RFC 4302) as xfrm types of their
 * own, for IPv4 and IPv6, in place of the in-tree esp4/esp6/ah4/ah6.
 */
#include <linux/module.h>
#include <net/xfrm.h>

#include "ah.h"
#include "esp.h"
#include "proto.h"
#include "stats.h"
#include "version.h"

/*
 * Every SA gets its drop counters once the transform accepted it; if that
 * fails the core still calls the destructor, which copes with either.
 */
static int espah_esp_init_state(struct xfrm_state *x,
				struct netlink_ext_ack *extack)
{
	return esp_init_state(x, extack) ?: espah_stats_add_sa(x);
}

static void espah_esp_destroy_state(struct xfrm_state *x)
{
	espah_stats_del_sa(x);
	esp_destroy_state(x);
}

static int espah_ah_init_state(struct xfrm_state *x,
			       struct netlink_ext_ack *extack)
{
	return ah_init_state(x, extack) ?: espah_stats_add_sa(x);
}

static void espah_ah_destroy_state(struct xfrm_state *x)
{
	espah_stats_del_sa(x);
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

	err = espah_stats_init();
	if (err)
		return err;
	err = espah_ipv4_init();
	if (err)
		goto exit_stats;
	err = espah_ipv6_init();
	if (err)
		goto exit_ipv4;

	pr_info("espah " ESPAH_VERSION " loaded: ESP and AH for IPv4 and IPv6\n");
	return 0;

exit_ipv4:
	espah_ipv4_exit();
exit_stats:
	espah_stats_exit();
	return err;
}

static void __exit espah_exit(void)
{
	espah_ipv6_exit();
	espah_ipv4_exit();
	espah_stats_exit();
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
