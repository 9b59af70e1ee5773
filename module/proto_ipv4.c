// SPDX-License-Identifier: GPL-2.0
#include <linux/icmp.h>
#include <linux/ip.h>
#include <net/esp.h>
#include <net/icmp.h>
#include <net/route.h>
#include <net/xfrm.h>

#include "ah.h"
#include "esp.h"
#include "proto.h"

static int espah_ipv4_rcv_cb(struct sk_buff *skb, int err)
{
	return 0;
}

/*
 * Called with skb->data at the IP header of the packet we sent, and at
 * least 8 bytes of our header after it pulled, the SPI among them.
 */
static int espah_ipv4_err(struct sk_buff *skb, u32 info, u8 proto,
			  unsigned int spi_off)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const __be32 *spi = (const void *)(skb->data + (iph->ihl << 2) + spi_off);
	const struct icmphdr *icmph = icmp_hdr(skb);
	struct net *net = dev_net(skb->dev);

	if (icmph->type == ICMP_DEST_UNREACH) {
		if (icmph->code != ICMP_FRAG_NEEDED)
			return 0;
	} else if (icmph->type != ICMP_REDIRECT) {
		return 0;
	}
	if (!espah_icmp_for_our_sa(net, skb->mark,
				   (const xfrm_address_t *)&iph->daddr,
				   *spi, proto, AF_INET))
		return 0;

	if (icmph->type == ICMP_DEST_UNREACH)
		ipv4_update_pmtu(skb, net, info, 0, proto);
	else
		ipv4_redirect(skb, net, 0, proto);
	return 0;
}

static int espah_esp4_err(struct sk_buff *skb, u32 info)
{
	return espah_ipv4_err(skb, info, IPPROTO_ESP,
			      offsetof(struct ip_esp_hdr, spi));
}

static struct xfrm4_protocol espah_esp4_protocol = {
	.handler	= xfrm4_rcv,
	.input_handler	= xfrm_input,
	.cb_handler	= espah_ipv4_rcv_cb,
	.err_handler	= espah_esp4_err,
	/* The in-tree esp4's priority: both loaded at once is refused. */
	.priority	= 0,
};

static int espah_ah4_err(struct sk_buff *skb, u32 info)
{
	return espah_ipv4_err(skb, info, IPPROTO_AH,
			      offsetof(struct ip_auth_hdr, spi));
}

static struct xfrm4_protocol espah_ah4_protocol = {
	.handler	= xfrm4_rcv,
	.input_handler	= xfrm_input,
	.cb_handler	= espah_ipv4_rcv_cb,
	.err_handler	= espah_ah4_err,
	/* The in-tree ah4's priority: both loaded at once is refused. */
	.priority	= 0,
};

static int espah_ah4_init(void)
{
	int err;

	err = espah_claim_type(&espah_ah_type, AF_INET);
	if (err)
		return err;
	err = xfrm4_protocol_register(&espah_ah4_protocol, IPPROTO_AH);
	if (err) {
		pr_err("espah: cannot register the IPv4 AH receive handler (%d)\n",
		       err);
		espah_release_type(&espah_ah_type, AF_INET);
	}
	return err;
}

static void espah_ah4_exit(void)
{
	xfrm4_protocol_deregister(&espah_ah4_protocol, IPPROTO_AH);
	espah_release_type(&espah_ah_type, AF_INET);
}

int espah_ipv4_init(void)
{
	int err;

	err = espah_claim_type(&espah_esp_type, AF_INET);
	if (err)
		return err;
	err = xfrm4_protocol_register(&espah_esp4_protocol, IPPROTO_ESP);
	if (err) {
		pr_err("espah: cannot register the IPv4 ESP receive handler (%d)\n",
		       err);
		goto release_esp_type;
	}
	err = espah_ah4_init();
	if (err)
		goto deregister_esp;
	return 0;

deregister_esp:
	xfrm4_protocol_deregister(&espah_esp4_protocol, IPPROTO_ESP);
release_esp_type:
	espah_release_type(&espah_esp_type, AF_INET);
	return err;
}

void espah_ipv4_exit(void)
{
	espah_ah4_exit();
	xfrm4_protocol_deregister(&espah_esp4_protocol, IPPROTO_ESP);
	espah_release_type(&espah_esp_type, AF_INET);
}
