/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the xfrm modes put the ESP and AH headers, in one place.
 *
 * The core's mode functions (net/xfrm/xfrm_output.c) make room for the
 * transform in front of the inner packet from x->props.header_len alone;
 * the transform then expects its header exactly there. Every mode, outer
 * and inner family is derived here, and the data path checks the result
 * on every packet, so that a disagreement is a counted drop and never an
 * access outside the packet.
 */
#ifndef _ESPAH_LAYOUT_H
#define _ESPAH_LAYOUT_H

#include <linux/skbuff.h>
#include <net/xfrm.h>

int espah_mode_check(const struct xfrm_state *x,
		     struct netlink_ext_ack *extack);
unsigned int espah_mode_room(const struct xfrm_state *x);
bool espah_tx_header_ok(const struct sk_buff *skb, unsigned int hdr_len);
bool espah_tx_layout_ok(const struct sk_buff *skb, unsigned int hdr_len);
bool espah_rx_layout_ok(const struct xfrm_state *x, const struct sk_buff *skb,
			unsigned int encap_len);

#endif /* _ESPAH_LAYOUT_H */
