// SPDX-License-Identifier: GPL-2.0
#include <linux/icmpv6.h>
#include <linux/ipv6.h>
#include <net/esp.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/ndisc.h>
#include <net/xfrm.h>

#include "ah.h"
#include "esp.h"
#include "proto.h"

static int espah_ipv6_rcv_cb(struct sk_buff *skb, int err)
{
	return 0;
}

/*
 * Called with skb->data at the IPv6 header of the packet we sent and
 * @offset at our header, with at least 8 bytes of it pulled, the SPI
 * among them.
 */
static int espah_ipv6_err(struct sk_buff *skb, u8 type, int offset,
			  __be32 info, u8 proto, unsigned int spi_off)
{
	const struct ipv6hdr *ip6h = (const struct ipv6hdr *)skb->data;
	const __be32 *spi = (const void *)(skb->data + offset + spi_off);
	struct net *net = dev_net(skb->dev);

	if (type != ICMPV6_PKT_TOOBIG && type != NDISC_REDIRECT)
		return 0;
	if (!espah_icmp_for_our_sa(net, skb->mark,
				   (const xfrm_address_t *)&ip6h->daddr,
				   *spi, proto, AF_INET6))
		return 0;

	if (type == NDISC_REDIRECT)
		ip6_redirect(skb, net, skb->dev->ifindex, 0,
			     sock_net_uid(net, NULL));
	else
		ip6_update_pmtu(skb, net, info, 0, 0, sock_net_uid(net, NULL));
	return 0;
}

static int espah_esp6_err(struct sk_buff *skb, struct inet6_skb_parm *opt,
			  u8 type, u8 code, int offset, __be32 info)
{
	return espah_ipv6_err(skb, type, offset, info, IPPROTO_ESP,
			      offsetof(struct ip_esp_hdr, spi));
}

static struct xfrm6_protocol espah_esp6_protocol = {
	.handler	= xfrm6_rcv,
	.input_handler	= xfrm_input,
	.cb_handler	= espah_ipv6_rcv_cb,
	.err_handler	= espah_esp6_err,
	/* The in-tree esp6's priority: both loaded at once is refused. */
	.priority	= 0,
};

static int espah_ah6_err(struct sk_buff *skb, struct inet6_skb_parm *opt,
			 u8 type, u8 code, int offset, __be32 info)
{
	return espah_ipv6_err(skb, type, offset, info, IPPROTO_AH,
			      offsetof(struct ip_auth_hdr, spi));
}

static struct xfrm6_protocol espah_ah6_protocol = {
	.handler	= xfrm6_rcv,
	.input_handler	= xfrm_input,
	.cb_handler	= espah_ipv6_rcv_cb,
	.err_handler	= espah_ah6_err,
	/* The in-tree ah6's priority: both loaded at once is refused. */
	.priority	= 0,
};

static int espah_ah6_init(void)
{
	int err;

	err = espah_claim_type(&espah_ah_type, AF_INET6);
	if (err)
		return err;
	err = xfrm6_protocol_register(&espah_ah6_protocol, IPPROTO_AH);
	if (err) {
		pr_err("espah: cannot register the IPv6 AH receive handler (%d)\n",
		       err);
		espah_release_type(&espah_ah_type, AF_INET6);
	}
	return err;
}

static void espah_ah6_exit(void)
{
	xfrm6_protocol_deregister(&espah_ah6_protocol, IPPROTO_AH);
	espah_release_type(&espah_ah_type, AF_INET6);
}

int espah_ipv6_init(void)
{
	int err;

	err = espah_claim_type(&espah_esp_type, AF_INET6);
	if (err)
		return err;
	err = xfrm6_protocol_register(&espah_esp6_protocol, IPPROTO_ESP);
	if (err) {
		pr_err("espah: cannot register the IPv6 ESP receive handler (%d)\n",
		       err);
		goto release_esp_type;
	}
	err = espah_ah6_init();
	if (err)
		goto deregister_esp;
	return 0;

deregister_esp:
	xfrm6_protocol_deregister(&espah_esp6_protocol, IPPROTO_ESP);
release_esp_type:
	espah_release_type(&espah_esp_type, AF_INET6);
	return err;
}

void espah_ipv6_exit(void)
{
	espah_ah6_exit();
	xfrm6_protocol_deregister(&espah_esp6_protocol, IPPROTO_ESP);
	espah_release_type(&espah_esp_type, AF_INET6);
}
