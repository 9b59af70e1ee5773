/* SPDX-License-Identifier: GPL-2.0 */
/*
 * espmut: a structured mutator for ESP and AH receivers.
 *
 * It builds valid ESP and AH packets for the SAs it installs in a network
 * namespace (encrypting and authenticating them itself, with OpenSSL),
 * mutates them before or after the ICV is computed, sends them over a veth
 * pair, and accounts for every one: delivered to a UDP socket (carrying a
 * marker that says whether it may be delivered at all) or counted by one
 * of the kernel's drop counters.
 *
 * xform.c   - the transform families: names, key sizes, "ip xfrm" words
 * crypto.c  - ESP sealing and AH ICVs (OpenSSL), AES-XCBC-MAC-96
 * build.c   - valid packets: inner datagram, ESP/AH, outer headers
 * mutate.c  - the generator: sequence numbers, carriers, the mutation
 *             table (mutate.h); mut_payload.c and mut_headers.c hold
 *             the mutations
 * wire.c    - namespaces, sockets, sending (plain, TX ring, fragments)
 * counters.c - the kernel's counters in the receiving namespace
 * account.c - received datagrams, the per-batch check
 * cases.c   - the case matrix
 * xfrmnl.c  - SA and policy setup over NETLINK_XFRM
 * selftest.c - the builder against the published ESP vectors
 * selftest_esn.c - the generator's ESN numbers against the receiver's
 *             inference of the high half
 * main.c    - command line, the run loop, reports
 */
#ifndef ESPMUT_H
#define ESPMUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	({ typeof(a) _a = (a); typeof(b) _b = (b); _a < _b ? _a : _b; })
#define MAX(a, b)	({ typeof(a) _a = (a); typeof(b) _b = (b); _a > _b ? _a : _b; })

#define ETH_HLEN_	14
/* Largest IP packet, plus the Ethernet header. */
#define FRAME_MAX	(ETH_HLEN_ + 65535)
#define IP6_HLEN	40
#define IP4_HLEN	20
#define UDP_HLEN	8
#define ESP_HLEN	8
#define AH_HLEN		12

/* The UDP port the marker datagrams go to, inside the protection. */
#define MARK_PORT	7777
/* Their source port: its high byte read as an ICMP type is no known one. */
#define MARK_SPORT	40000
#define ENCAP_PORT	4500

/* ------------------------------------------------------------ transforms */

enum xf_kind { XF_AEAD, XF_AUTHENC, XF_AH };

enum xf_cipher {
	C_NONE, C_GCM, C_CCM, C_CHACHA, C_GMAC, C_CBC_AES, C_CTR_AES,
	C_3DES, C_NULL,
};

enum xf_mac {
	M_NONE, M_HMAC_MD5, M_HMAC_SHA1, M_HMAC_SHA256, M_HMAC_SHA384,
	M_HMAC_SHA512, M_XCBC, M_CMAC,
};

struct xform {
	const char *name;
	enum xf_kind kind;
	enum xf_cipher cipher;
	enum xf_mac mac;
	const char *alg;	/* aead or enc name for "ip xfrm" */
	const char *auth_alg;	/* auth name, XF_AUTHENC and XF_AH */
	u8 enc_keylen;		/* bytes, salt or nonce included */
	u8 auth_keylen;
	u8 icv_len;		/* on the wire */
	u8 icv_full;		/* what the MAC produces */
	u8 iv_len;
	u8 align;		/* ESP padding alignment */
	u8 block;		/* the ciphertext must be a multiple of it */
};

extern const struct xform xforms[];
extern const unsigned int n_xforms;
const struct xform *xform_find(const char *name);

/* ------------------------------------------------------------------ cases */

enum mode { MODE_TRANSPORT, MODE_TUNNEL, MODE_BEET };

struct mcase {
	unsigned int id;	/* index in the full matrix: seeds derive from it */
	char name[80];
	const struct xform *xf;
	u8 family;		/* outer: 4 or 6 */
	u8 inner_family;
	u8 mode;
	bool esn;
	bool encap;		/* ESP in UDP, RFC 3948 */
	bool align4;		/* IPv4 AH padded to 4 octets */
	bool gro;		/* GRO (NAPI) on the receiving veth */
	u32 spi;
	u32 replay_window;
	u64 seq_start;		/* the receiver's replay state at setup */
	u8 enc_key[64];
	u8 auth_key[64];
};

unsigned int cases_build(struct mcase *out, unsigned int max);
int mcase_install(const struct mcase *c, bool verbose);
void mcase_uninstall(void);
void mcase_print_ip(const struct mcase *c, FILE *f, bool keys);

/* xfrmnl.c: NETLINK_XFRM in murx */
int xfrmnl_open(void);
int xfrmnl_flush(void);
int xfrmnl_add_sa(const struct mcase *c, const char *o_src, const char *o_dst,
		  const char *s_src, const char *s_dst);
int xfrmnl_add_policy(const struct mcase *c, const char *o_src,
		      const char *o_dst, const char *s_src, const char *s_dst);
const char *mode_name(u8 mode);
bool mcase_is_ah(const struct mcase *c);

/* --------------------------------------------------------- crypto (OpenSSL) */

struct sa_crypto;

struct sa_crypto *sa_crypto_new(const struct mcase *c, const u8 *enc_key,
				const u8 *auth_key);
void sa_crypto_free(struct sa_crypto *sc);
/*
 * ESP: encrypts @ct_len bytes at @ct in place and writes the ICV after
 * them. @esph is the 8-byte ESP header, @iv the IV (as on the wire).
 */
int esp_seal(struct sa_crypto *sc, const u8 *esph, u32 seq_hi,
	     const u8 *iv, u8 *ct, unsigned int ct_len, u8 *icv);
/* ESP: the reverse, for the self test; 0 if the ICV verified. */
int esp_open(struct sa_crypto *sc, const u8 *esph, u32 seq_hi,
	     const u8 *iv, u8 *ct, unsigned int ct_len, const u8 *icv);
/* AH: the MAC of @len bytes (then the ESN high bits if @esn), untruncated. */
int ah_mac(struct sa_crypto *sc, const u8 *data, unsigned int len,
	   bool esn, u32 seq_hi, u8 *icv);

/* ----------------------------------------------------------------- packets */

/* What may happen to a packet: its marker says so to the receiver. */
enum klass {
	K_AUTH = 0x41555448,	/* "AUTH": built and sent as is */
	K_MUTA = 0x4d555441,	/* "MUTA": changed, then authenticated */
	K_FORG = 0x464f5247,	/* "FORG": changed after: never deliverable */
};

enum expect {
	E_ANY,			/* accounted for, either way */
	E_DELIVER,		/* must reach the marker socket */
	E_DROP,			/* must not */
	E_NONESP,		/* must reach the UDP-encap socket as is */
	E_SILENT,		/* eaten without a counter (NAT keepalive) */
};

/* Offsets in a frame, from the Ethernet header. */
struct layout {
	unsigned int ip;	/* outer IP header */
	unsigned int l4;	/* after IPv4 options / IPv6 extension headers */
	unsigned int udp;	/* encapsulating UDP header, 0 if none */
	unsigned int xh;	/* ESP or AH header */
	unsigned int iv;
	unsigned int ct;	/* ESP ciphertext; AH: the payload */
	unsigned int ct_len;
	unsigned int icv;
	unsigned int icv_len;
	unsigned int end;
	unsigned int nh_off;	/* the byte naming ESP, AH or UDP */
};

/* Knobs a mutation turns before the packet is sealed. */
struct spec {
	u32 spi;
	u64 seq;
	unsigned int payload_len;	/* inner UDP payload */
	int pad_len;			/* -1: the least */
	int pad_len_field;		/* -1: pad_len */
	u8 pad_fill;			/* PAD_* */
	int nexthdr;			/* -1: what the mode needs */
	unsigned int tfc;		/* bytes after the inner packet */
	int inner_ip_len_delta;
	int inner_udp_len_delta;
	u8 inner_csum;			/* CSUM_* */
	unsigned int ct_extra;		/* unaligned ciphertext bytes */
	bool dummy;			/* random payload instead of a datagram */
	int esn_hi_delta;		/* ICV over other high sequence bits */
	bool wrong_key;
	u8 ip_opts[40];			/* IPv4 options */
	u8 ip_opts_len;
	u8 ext[512];			/* IPv6 extension headers before ESP/AH */
	unsigned int ext_len;
	unsigned int ext_last;		/* its last header's next header byte */
	u8 ext_nh;			/* the IPv6 header's next header */
	int ah_len_field;		/* -1: the real length */
	bool ah_full_icv;		/* AH carries the untruncated ICV */
	bool ah_pad_random;		/* the padding after it not zeros */
	u8 ah_reserved;
	u8 v4_tos, v4_ttl;
	u16 v4_frag;			/* flags and offset as sent (AH: mutable) */
	u16 v4_id;
	u8 v6_tclass;
	u32 v6_flow;
	u8 v6_hlim;
};

enum { PAD_RFC, PAD_RANDOM, PAD_ZERO };
enum { CSUM_OK, CSUM_ZERO, CSUM_BAD };

/* The marker at the start of every inner UDP payload. */
struct marker {
	u8 magic[8];		/* MARK_MAGIC */
	u32 run;
	u32 klass;
	u32 case_id;
	u32 len;		/* payload bytes the receiver must get */
	u64 pkt_id;
	u32 sum;		/* of the payload after the marker, len bytes */
	u32 reserved;
};	/* 40 bytes, no padding */

#define MARK_MAGIC	"ESPAHMUT"

/* One packet as sent. */
struct pkt {
	u64 id;
	u32 klass;
	u8 expect;
	u8 carrier;		/* CARRIER_* */
	const char *mutation;
	char detail[48];	/* e.g. the value a sweep used */
	u64 seq;
	unsigned int len;
	struct layout lay;
	u8 *frame;
	unsigned int expect_reasm;	/* fragment sets that must reassemble */
	unsigned int frames;		/* frames put on the wire */
	u32 nonesp_hash;		/* E_NONESP: what the encap socket gets */
	u64 replay_of;			/* a replay: the id its marker names */
	struct marker mk;		/* the marker inside, as built */
};

enum {
	CARRIER_WHOLE, CARRIER_RING, CARRIER_FRAG, CARRIER_FRAG_OVERLAP,
	CARRIER_FRAG_MISSING, CARRIER_FRAG_DUP, CARRIER_FRAG_TINY,
};

struct build_ctx {
	const struct mcase *c;
	struct sa_crypto *sc;
	struct sa_crypto *sc_wrong;	/* same transform, other keys */
	u8 src_mac[6], dst_mac[6];
	u32 run;
	bool intree;			/* the in-tree esp4/esp6/ah4/ah6 */
};

void spec_default(const struct build_ctx *b, struct spec *s, u64 seq);
struct rng;
int build_packet(const struct build_ctx *b, const struct spec *s,
		 struct pkt *p, struct rng *r);
void fix_outer(const struct build_ctx *b, struct pkt *p);
/* RFC 4302 3.3.3: the headers in front of AH as the ICV covers them. */
void ah_zero_mutable(int family, u8 *ip, unsigned int hdrs_len);
u16 csum_fold(u32 sum);
u32 csum_add(u32 sum, const u8 *data, unsigned int len);
void fix_ip4_csum(u8 *ip);
u32 payload_sum(u64 pkt_id, const u8 *data, unsigned int len);
u32 fnv1a(const u8 *data, unsigned int len);
unsigned int inner_addrs(const struct mcase *c, int outer, u8 *src, u8 *dst);

/* --------------------------------------------------------------- generator */

struct rng {
	u64 s;
};

void rng_seed(struct rng *r, u64 seed);
u32 rng_u32(void *r);
u32 rng_below(struct rng *r, u32 n);
bool rng_chance(struct rng *r, unsigned int percent);

struct gen;

struct gen *gen_new(const struct build_ctx *b, u64 seed, unsigned int flags);
void gen_free(struct gen *g);
/* Builds packet @id into @p (p->frame must hold FRAME_MAX bytes). */
int gen_next(struct gen *g, u64 id, struct pkt *p, const char *only_mut);
void mutation_list(void);
bool mutation_known(const char *name);

#define GEN_NO_FRAG	0x1
#define GEN_NO_RING	0x2

/* ------------------------------------------------------------------ wire */

struct wire;

struct wire *wire_open(bool verbose);
void wire_close(struct wire *w);
void wire_macs(const struct wire *w, u8 *src, u8 *dst);
int wire_send(struct wire *w, struct pkt *p, struct rng *r);
/* Checks that the receive side did not write into the TX ring's pages. */
int wire_ring_check(struct wire *w, char *why, size_t n);
int wire_set_gro(struct wire *w, bool on);
int wire_enter_rx(void);
int wire_enter_tx(void);
void wire_set_frag_ids(struct wire *w, u32 base);

/* -------------------------------------------------------------- counters */

#define MAX_CTRS	700

struct ctr {
	char name[48];
	u64 v;
};

struct snap {
	unsigned int n;
	struct ctr c[MAX_CTRS];
};

enum { F_SNMP, F_NETSTAT, F_SNMP6, F_XFRM, F_ESPAH, F_DEV, F_DEV_TX, F_NFILES };

struct counters {
	int fd[F_NFILES];
	u32 spi;		/* the case's SA, for its espah line */
};

void counters_open(struct counters *k, bool espah);
bool counters_have_espah(const struct counters *k);
void counters_snapshot(const struct counters *k, struct snap *s);
u64 snap_get(const struct snap *s, const char *name);
u64 snap_delta(const struct snap *b, const struct snap *a, const char *name);
/* Sum of what moved from @b to @a in the counters that end a packet. */
u64 snap_terminal(const struct snap *b, const struct snap *a);
u64 snap_prefix(const struct snap *b, const struct snap *a, const char *prefix);
/* "name +delta, ..." of what moved (@all: not only the terminal ones). */
void snap_moved(const struct snap *b, const struct snap *a, char *buf,
		size_t n, bool all);
void snap_accumulate(struct snap *run, const struct snap *b,
		     const struct snap *a);
void snap_print(const struct snap *run);
unsigned int counters_frag_queues(void);

/* ------------------------------------------------------------- accounting */

struct acct;

struct delivery {
	u64 delivered;		/* marker datagrams */
	u64 nonesp;		/* datagrams on the encap sockets */
	u64 bad;		/* what must never have been delivered */
	u64 by_klass[3];	/* AUTH, MUTA, FORG */
};

struct acct *acct_open(u32 run, u64 max_pkts, bool espah);
void acct_close(struct acct *a);
void acct_case_begin(struct acct *a, u32 case_id, u32 spi);
void acct_batch_begin(struct acct *a);
void acct_sent(struct acct *a, const struct pkt *p);
/* Reads what the sockets hold; returns how many it read. */
int acct_drain(struct acct *a);
/*
 * Waits until the counters account for every packet of the batch (or the
 * timeout passes), then checks. Returns 0 if balanced; else prints why.
 */
int acct_batch_end(struct acct *a, unsigned int timeout_ms, char *why,
		   size_t n);
void acct_totals(const struct acct *a, char *buf, size_t n);
void acct_run_counters(const struct acct *a);
int acct_frag_settle(struct acct *a, unsigned int timeout_ms);

/* --------------------------------------------------------------- helpers */

void hexdump(const char *title, const u8 *data, unsigned int len);
int selftest_vectors(bool verbose);
int selftest_esn(const struct mcase *cases, unsigned int n);
u64 now_ms(void);

extern bool verbose;

#endif /* ESPMUT_H */
