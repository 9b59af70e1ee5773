// SPDX-License-Identifier: GPL-2.0
/*
 * Header arithmetic shared by ESP and AH: how much room each xfrm mode
 * needs besides the transform's own header, and the checks that the
 * packets agree with it.
 */
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/xfrm.h>

#include "layout.h"

static unsigned int espah_ip_hdr_len(unsigned short family)
{
	return family == AF_INET6 ? sizeof(struct ipv6hdr) :
				    sizeof(struct iphdr);
}

/*
 * BEET carries only the outer header; the inner one is rebuilt from the
 * selector on input. The mode writes the outer header where the inner one
 * was, so an outer header longer than the inner one needs the difference
 * (IPv4 inside IPv6: 20 bytes), and an IPv4 inner header's options travel
 * in a pseudo header of up to IPV4_BEET_PHMAXLEN bytes.
 */
static unsigned int espah_beet_room(const struct xfrm_state *x)
{
	unsigned int outer = espah_ip_hdr_len(x->props.family);
	unsigned int inner = espah_ip_hdr_len(x->sel.family);
	unsigned int room = outer > inner ? outer - inner : 0;

	if (x->sel.family == AF_INET)
		room += IPV4_BEET_PHMAXLEN;
	return room;
}

/*
 * Refuses what no packet layout can be derived for. BEET rebuilds the
 * inner header from the selector, so the selector must name one family:
 * with 'flag af-unspec' the core would WARN on the first packet received.
 */
int espah_mode_check(const struct xfrm_state *x,
		     struct netlink_ext_ack *extack)
{
	switch (x->props.mode) {
	case XFRM_MODE_TRANSPORT:
	case XFRM_MODE_TUNNEL:
		return 0;
	case XFRM_MODE_BEET:
		if (x->sel.family == AF_INET || x->sel.family == AF_INET6)
			return 0;
		NL_SET_ERR_MSG(extack,
			       "espah: BEET needs a selector of one address family (drop 'flag af-unspec')");
		return -EINVAL;
	}
	NL_SET_ERR_MSG(extack,
		       "espah: unsupported mode (transport, tunnel and beet are)");
	return -EINVAL;
}

/*
 * Bytes the mode needs in x->props.header_len besides the transport's own
 * header (ESP header and IV, UDP header, AH header): the outer IP header in
 * tunnel mode, what BEET needs, nothing in transport mode.
 */
unsigned int espah_mode_room(const struct xfrm_state *x)
{
	switch (x->props.mode) {
	case XFRM_MODE_TUNNEL:
		return espah_ip_hdr_len(x->props.family);
	case XFRM_MODE_BEET:
		return espah_beet_room(x);
	}
	return 0;
}

/*
 * Our header of @hdr_len bytes starts at the transport header and ends
 * where skb->data (the payload) starts, after the network header. At
 * device transmit (the offload path) this is all there is to check.
 */
bool espah_tx_header_ok(const struct sk_buff *skb, unsigned int hdr_len)
{
	const u8 *nh = skb_network_header(skb);
	const u8 *th = skb_transport_header(skb);

	return th + hdr_len == skb->data && nh >= skb->head && nh < th;
}

/*
 * On output, right after the mode: the header as above, and the mac
 * header is the protocol byte we rewrite, inside the IP headers in front.
 */
bool espah_tx_layout_ok(const struct sk_buff *skb, unsigned int hdr_len)
{
	const u8 *proto = skb_mac_header(skb);

	return espah_tx_header_ok(skb, hdr_len) &&
	       proto >= skb_network_header(skb) &&
	       proto < skb_transport_header(skb);
}

/*
 * On input: skb->data and the transport header at our header, the network
 * header at the IP header in front of it, with its options or extension
 * headers and then @encap_len bytes of UDP header in between.
 */
bool espah_rx_layout_ok(const struct xfrm_state *x, const struct sk_buff *skb,
			unsigned int encap_len)
{
	int ip_len = skb->data - skb_network_header(skb) - (int)encap_len;

	if (skb_transport_header(skb) != skb->data)
		return false;
	if (x->props.family == AF_INET6)
		return ip_len >= (int)sizeof(struct ipv6hdr);
	return ip_len >= (int)sizeof(struct iphdr) &&
	       ip_len == ip_hdr(skb)->ihl * 4;
}
