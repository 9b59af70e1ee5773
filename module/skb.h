/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What espah does to skbs beyond the xfrm core's helpers: count the
 * scatterlist entries a packet needs, and give a packet fresh pages of
 * our own instead of the ones it arrived with ("out of place": crypto
 * reads the packet where it is and writes only memory espah allocated).
 */
#ifndef _ESPAH_SKB_H
#define _ESPAH_SKB_H

#include <linux/skbuff.h>

/* Fresh pages for one packet: at most a page each, page frags of ours. */
#define ESPAH_FRESH_MAX		(MAX_SKB_FRAGS - 1)

/*
 * Which per-CPU cache fresh pages come from: ciphertext made on output
 * lives until the device sent it, plaintext made on input until a socket
 * is read. Apart, the output cache finds its pages free again quickly.
 */
enum espah_fresh_use {
	ESPAH_FRESH_TX,
	ESPAH_FRESH_RX,
	ESPAH_FRESH_USES
};

struct espah_fresh {
	unsigned int nr;
	unsigned int len;
	struct {
		struct page *page;
		unsigned int off;
		unsigned int len;
	} frag[ESPAH_FRESH_MAX];
};

int espah_skb_nsg(struct sk_buff *skb);
int espah_fresh_alloc(struct espah_fresh *f, unsigned int len,
		      enum espah_fresh_use use);
void espah_fresh_exit(void);
void espah_fresh_free(struct espah_fresh *f, bool wipe);
int espah_fresh_to_sg(const struct espah_fresh *f, struct scatterlist *sg,
		      unsigned int len);
void espah_skb_append_fresh(struct sk_buff *skb, struct espah_fresh *f);
void espah_skb_replace_payload(struct sk_buff *skb, unsigned int keep,
			       struct espah_fresh *f, unsigned int len);

#endif /* _ESPAH_SKB_H */
