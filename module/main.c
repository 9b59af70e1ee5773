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
#include "version.h"

const struct xfrm_type espah_esp_type = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_ESP,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= esp_init_state,
	.destructor	= esp_destroy_state,
	.input		= esp_input,
	.output		= esp_output,
};

const struct xfrm_type espah_ah_type = {
	.owner		= THIS_MODULE,
	.proto		= IPPROTO_AH,
	.flags		= XFRM_TYPE_REPLAY_PROT,
	.init_state	= ah_init_state,
	.destructor	= ah_destroy_state,
	.input		= ah_input,
	.output		= ah_output,
};

static int __init espah_init(void)
{
	int err;

	err = espah_ipv4_init();
	if (err)
		return err;
	err = espah_ipv6_init();
	if (err)
		goto exit_ipv4;

	pr_info("espah " ESPAH_VERSION " loaded: ESP and AH for IPv4 and IPv6\n");
	return 0;

exit_ipv4:
	espah_ipv4_exit();
	return err;
}

static void __exit espah_exit(void)
{
	espah_ipv6_exit();
	espah_ipv4_exit();
}

module_init(espah_init);
module_exit(espah_exit);
MODULE_DESCRIPTION("IPsec ESP and AH transforms for IPv4 and IPv6");
MODULE_AUTHOR("The espah developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(ESPAH_VERSION);
