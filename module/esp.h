/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ESP core (RFC 4303), shared by IPv4 and IPv6.
 *
 * esp_state.c  - SA setup and teardown: crypto transform, header and
 *                trailer sizes, configuration checks
 * esp_req.c    - per-packet crypto request memory
 * esp_output.c - encapsulation
 * esp_input.c  - decapsulation
 */
#ifndef _ESPAH_ESP_H
#define _ESPAH_ESP_H

#include <linux/types.h>
#include <linux/udp.h>
#include <net/esp.h>
#include <net/xfrm.h>

#include <crypto/aead.h>

struct scatterlist;

/*
 * The associated data ESP authenticates: SPI and sequence number, with the
 * high 32 sequence bits between them when the SA uses ESN (RFC 4303 2.2.1,
 * and the layout authencesn and rfc4106 with ESN expect).
 */
struct esp_aad {
	__be32 spi;
	__be32 seq[2];
};

/*
 * One allocation per packet in flight: what the completion needs to resume
 * the packet, the associated data, the IV buffer, the crypto request and
 * the scatterlist, in that order.
 */
struct esp_req {
	struct xfrm_state *x;
	struct sk_buff *skb;
	struct esp_aad aad;
	u8 *iv;
	struct aead_request *aead;
	struct scatterlist *sg;
	unsigned int nsg;
};

/*
 * An ESP SA's xfrm_state::data is its AEAD transform and nothing else: the
 * xfrm core reads it as one (xfrm_state_mtu() takes the block size from it).
 * Everything else per SA derives from the transform.
 */
static inline struct crypto_aead *esp_aead(const struct xfrm_state *x)
{
	return x->data;
}

static inline unsigned int esp_ivlen(const struct xfrm_state *x)
{
	return crypto_aead_ivsize(esp_aead(x));
}

static inline unsigned int esp_icvlen(const struct xfrm_state *x)
{
	return crypto_aead_authsize(esp_aead(x));
}

/* Ciphertext must be a multiple of the cipher's block size. */
static inline unsigned int esp_blksize(const struct xfrm_state *x)
{
	return crypto_aead_blocksize(esp_aead(x));
}

/* RFC 4303 2.4: padding aligns to the block size, and at least to 4. */
static inline unsigned int esp_padalign(const struct xfrm_state *x)
{
	return ALIGN(esp_blksize(x), 4);
}

/* ESP header and IV. */
static inline unsigned int esp_hdr_len(const struct xfrm_state *x)
{
	return sizeof(struct ip_esp_hdr) + esp_ivlen(x);
}

/* The RFC 3948 UDP header in front of the ESP header, if any. */
static inline unsigned int esp_encap_len(const struct xfrm_state *x)
{
	return x->encap ? sizeof(struct udphdr) : 0;
}

static inline unsigned int esp_aad_len(const struct xfrm_state *x)
{
	return x->props.flags & XFRM_STATE_ESN ? 12 : 8;
}

/* esp_state.c */
int esp_init_state(struct xfrm_state *x, struct netlink_ext_ack *extack);
void esp_destroy_state(struct xfrm_state *x);

/* esp_req.c */
struct esp_req *esp_req_alloc(struct xfrm_state *x, struct sk_buff *skb,
			      unsigned int nsg);
void esp_req_free(struct esp_req *req);
void esp_req_free_sensitive(struct esp_req *req);
int esp_req_map(struct esp_req *req, int offset, int len);

/* esp_output.c */
int esp_output(struct xfrm_state *x, struct sk_buff *skb);

/* esp_input.c */
int esp_input(struct xfrm_state *x, struct sk_buff *skb);

extern const struct xfrm_type espah_esp_type;

#endif /* _ESPAH_ESP_H */
