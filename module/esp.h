/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ESP core (RFC 4303), shared by IPv4 and IPv6.
 *
 * esp_state.c   - SA setup and teardown: crypto transform, header and
 *                 trailer sizes, configuration checks
 * esp_req.c     - per-packet request memory and its scatterlists
 * esp_crypt.c   - running a request: inline, on another CPU, in order
 * esp_output.c  - encapsulation (the core's output path)
 * esp_input.c   - decapsulation
 * esp_offload.c - GSO/GRO: segmentation, encryption at device transmit,
 *                 GRO receive
 *
 * Crypto never writes memory espah does not own: a private linear packet
 * is encrypted or decrypted where it is; anything else (a clone, page
 * fragments a tap, a socket or a splice may share) is read where it is
 * and the result written into fresh pages (skb.c) that replace the
 * packet's payload. The AEAD is the bare one (no IV generator template):
 * espah makes the IV itself (esp_output.c), so that out of place costs no
 * extra copy.
 */
#ifndef _ESPAH_ESP_H
#define _ESPAH_ESP_H

#include <linux/types.h>
#include <linux/udp.h>
#include <net/esp.h>
#include <net/xfrm.h>

#include <crypto/aead.h>

#include "order.h"
#include "parallel.h"
#include "sa.h"
#include "skb.h"

/* Associated data: SPI, [high sequence bits,] sequence number, IV. */
#define ESP_AAD_MAX	12
#define ESP_IV_MAX	16
#define ESP_AD_MAX	(ESP_AAD_MAX + ESP_IV_MAX)
/* Padding (RFC 4303 2.4: up to 255 bytes), pad length, next header. */
#define ESP_TAIL_MAX	(255 + 2)

/* What one packet adds: TFC padding, then padding, pad length, next header. */
struct esp_trailer {
	unsigned int tfclen;
	unsigned int padlen;
	/* TFC padding, padding, the two bytes and the ICV */
	unsigned int len;
	u8 nexthdr;
};

enum esp_req_flags {
	ESP_REQ_OUT_OF_PLACE	= BIT(0),
	/* output at device transmit: sent on with dev_queue_xmit() */
	ESP_REQ_LATE		= BIT(1),
	/* holds secrets worth wiping: a tag for a rejected packet */
	ESP_REQ_WIPE		= BIT(2),
	/* the caller is waiting for the result: no resume needed */
	ESP_REQ_WAITING		= BIT(3),
	/* no release queue: see esp_crypt.c */
	ESP_REQ_DIRECT		= BIT(4),
	/* a GSO segment encrypted in a batch: see esp_crypt.c */
	ESP_REQ_SEGMENT		= BIT(5),
	/* esp_output_finish() ran already */
	ESP_REQ_FINISHED	= BIT(6),
	/* ESP-NULL (espah_sa::esp_null): nothing to compute */
	ESP_REQ_NO_CRYPTO	= BIT(7),
	/* output: the trailer waits in req->fresh, to follow the payload */
	ESP_REQ_TRAILER_FRAG	= BIT(8),
};

enum esp_seg_state {
	ESP_SEG_PENDING,
	ESP_SEG_RUNNING,
	ESP_SEG_DONE,
	ESP_SEG_ASYNC,
	/* the batch left without it: its completion sends it */
	ESP_SEG_ORPHAN,
	/* in the SA's release queue: its completion marks it done there */
	ESP_SEG_QUEUED,
};

/*
 * One packet in flight. Lives in a slot of the per-CPU request cache:
 * this struct, the IV, the AEAD request with the transform's context,
 * then the source and destination scatterlists.
 */
struct esp_req {
	struct espah_order_entry order;
	struct espah_job job;
	/*
	 * Marks the packet done in its release queue later (deferred): not
	 * @job, which may still sit on a worker's list after the caller
	 * took the segment back from it.
	 */
	struct espah_job done_job;
	struct espah_sa *sa;
	struct xfrm_state *x;
	struct sk_buff *skb;
	unsigned int mem_len;
	int mem_from;		/* req_cache.h */
	unsigned int flags;
	u8 dir;			/* enum espah_dir */
	atomic_t seg_state;	/* enum esp_seg_state */
	/* the owner's and, while a job is on a worker's list, the worker's */
	atomic_t refs;
	struct esp_req *next_seg;
	/* the crypto's result, then what the core is told */
	int result;
	/* ciphertext bytes: payload, TFC padding, padding, the two bytes */
	unsigned int clen;
	/* out of place: where the payload starts, from skb->data */
	unsigned int payload_off;
	struct espah_fresh fresh;
	u8 ad_src[ESP_AD_MAX] __aligned(8);
	u8 ad_dst[ESP_AD_MAX] __aligned(8);
	u8 tail[ESP_TAIL_MAX];
	u8 *iv;
	struct aead_request *aead;
	struct scatterlist *sg_src;
	struct scatterlist *sg_dst;
	unsigned int nsg;
};

/*
 * An ESP SA's xfrm_state::data is its AEAD transform and nothing else: the
 * xfrm core reads it as one (xfrm_state_mtu() takes the block size from it).
 * Everything else per SA is in its record (sa.h).
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

/* What the AEAD takes as associated data: the AAD, then the IV. */
static inline unsigned int esp_ad_len(const struct xfrm_state *x)
{
	return esp_aad_len(x) + esp_ivlen(x);
}

/*
 * Entries the source list may use: @nsg counts the fresh pages too, which
 * only the destination maps. Initialising just what a list may use keeps
 * sg_init_table()'s clearing off the per-packet cost.
 */
static inline unsigned int esp_req_src_nsg(const struct esp_req *req)
{
	return req->nsg - ESPAH_FRESH_MAX;
}

static inline unsigned int esp_req_dst_nsg(const struct esp_req *req)
{
	return 1 + req->fresh.nr;
}

/* esp_state.c */
int esp_init_state(struct xfrm_state *x, struct espah_sa *sa,
		   struct netlink_ext_ack *extack);
void esp_destroy_state(struct xfrm_state *x);

/* esp_req.c */
void esp_req_layout(struct espah_sa *sa, struct crypto_aead *aead);
struct esp_req *esp_req_get(struct espah_sa *sa, struct xfrm_state *x,
			    struct sk_buff *skb, unsigned int nsg);
void esp_req_put(struct esp_req *req);
void esp_req_fill_ad(struct esp_req *req, __be32 spi, __be32 seq_lo,
		     __be32 seq_hi);
int esp_req_map_skb(struct esp_req *req, struct scatterlist *sg,
		    unsigned int off, unsigned int len);

/* esp_crypt.c */
int esp_crypt_run(struct esp_req *req, enum espah_dir dir,
		  unsigned int len);
bool esp_seg_start(struct esp_req *req, bool remote);
enum esp_seg_state esp_seg_settle(struct esp_req *req);
bool esp_seg_give_up(struct esp_req *req, enum esp_seg_state to);
void esp_seg_complete(struct esp_req *req);
void esp_order_done_deferred(struct esp_req *req);

/* esp_output.c */
int esp_output(struct xfrm_state *x, struct sk_buff *skb);
struct esp_req *esp_encrypt_prepare(struct espah_sa *sa,
				    struct xfrm_state *x, struct sk_buff *skb,
				    const struct esp_trailer *t, u64 seq,
				    unsigned int flags);
int esp_encrypt_skb(struct espah_sa *sa, struct xfrm_state *x,
		    struct sk_buff *skb, struct esp_trailer *t, u64 seq,
		    unsigned int flags);
void esp_size_trailer(struct xfrm_state *x, unsigned int plen,
		      struct esp_trailer *t, unsigned int mtu);
void esp_output_release(struct espah_order_entry *e);
void esp_output_resume_late(struct espah_sa *sa, struct xfrm_state *x,
			    struct sk_buff *skb, int err);
int esp_output_finish(struct esp_req *req);

/* esp_input.c */
int esp_input(struct xfrm_state *x, struct sk_buff *skb);
int esp_input_finish(struct esp_req *req);
void esp_input_release(struct espah_order_entry *e);

/* esp_offload.c */
int esp_offload_init(void);
void esp_offload_exit(void);
bool esp_offload_registered(void);
void esp_seg_finish(struct esp_req *req);
void esp_seg_send_orphan(struct esp_req *req);
extern const struct xfrm_type_offload espah_esp_type_offload;

extern const struct xfrm_type espah_esp_type;

#endif /* _ESPAH_ESP_H */
