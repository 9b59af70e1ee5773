/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the generator: its state and the mutations, which mutate.c
 * lists and applies.
 *
 * mutate.c      - the generator: random numbers, sequence numbers, the
 *                 carriers, the table of mutations, gen_next()
 * mut_payload.c - what the ICV covers, changed before it is computed:
 *                 the ESP trailer, the inner packet, keys, the AH header
 * mut_headers.c - the outer IP headers (options, extension headers,
 *                 lengths), the bytes after sealing, UDP encapsulation
 */
#ifndef ESPMUT_MUTATE_H
#define ESPMUT_MUTATE_H

#include "espmut.h"

/* What a case offers; a mutation needs all of .need and none of .avoid. */
enum {
	F_ESP = 1 << 0, F_AH = 1 << 1, F_ENCAP = 1 << 2, F_V4 = 1 << 3,
	F_V6 = 1 << 4, F_TUNNEL = 1 << 5, F_TRANSPORT = 1 << 6,
	F_BEET = 1 << 7, F_ESN = 1 << 8, F_BLOCK = 1 << 9,
	F_NOENCAP = 1 << 10, F_FRAG = 1 << 11,
};

#define SAVED_MAX	8
#define GAPS_MAX	64
#define PENDING_MAX	4
#define SMALL_PAYLOAD	(sizeof(struct marker))

struct saved {
	u64 id, seq;
	unsigned int len;
	struct layout lay;
	u8 frame[2048];
};

struct probe {
	u64 seq;
	u8 expect;
	const char *why;
};

struct gen {
	const struct build_ctx *b;
	struct rng r;
	unsigned int feat;
	unsigned int flags;
	u64 issued;		/* highest sequence number used */
	u64 acc_top;		/* highest that must have been accepted */
	u64 gaps[GAPS_MAX];	/* skipped numbers, never sent */
	unsigned int ngaps;
	struct probe pending[PENDING_MAX];
	unsigned int npending;
	struct saved saved[SAVED_MAX];
	unsigned int nsaved;
	unsigned int sweep[64];
	unsigned int frag_seq;
	/* where a pre mutation left something the post half changes */
	unsigned int mutable_off, mutable_len;
};

struct mutation {
	const char *name;
	unsigned int weight;
	unsigned int need, avoid;
	void (*pre)(struct gen *g, struct spec *s, struct pkt *p);
	void (*post)(struct gen *g, struct spec *s, struct pkt *p);
	/*
	 * Leaves the IP, UDP and AH headers as valid ones: the packet may
	 * come in IP fragments whatever must become of it, and reassembles
	 * (a frag list: the transform's error paths on one).
	 */
	bool fragok;
};

/* mutate.c */
unsigned int sweep(struct gen *g, unsigned int slot, unsigned int n);
void forge(struct pkt *p, const char *fmt, ...);
void muta(struct pkt *p, u8 expect);
unsigned int max_payload(const struct gen *g);

/* mut_payload.c */
void m_pad_extra(struct gen *g, struct spec *s, struct pkt *p);
void m_pad_field(struct gen *g, struct spec *s, struct pkt *p);
void m_pad_bytes(struct gen *g, struct spec *s, struct pkt *p);
void m_nexthdr(struct gen *g, struct spec *s, struct pkt *p);
void m_dummy(struct gen *g, struct spec *s, struct pkt *p);
void m_tfc(struct gen *g, struct spec *s, struct pkt *p);
void m_ct_unaligned(struct gen *g, struct spec *s, struct pkt *p);
void m_inner_udp_len(struct gen *g, struct spec *s, struct pkt *p);
void m_inner_ip_len(struct gen *g, struct spec *s, struct pkt *p);
void m_inner_csum(struct gen *g, struct spec *s, struct pkt *p);
void m_wrong_key(struct gen *g, struct spec *s, struct pkt *p);
void m_ah_len(struct gen *g, struct spec *s, struct pkt *p);
void m_ah_full_icv(struct gen *g, struct spec *s, struct pkt *p);
void m_ah_pad(struct gen *g, struct spec *s, struct pkt *p);
void m_ah_reserved(struct gen *g, struct spec *s, struct pkt *p);

/* mut_headers.c */
void m_ip4_options(struct gen *g, struct spec *s, struct pkt *p);
void m_ip4_options_bad(struct gen *g, struct spec *s, struct pkt *p);
void m_ip6_exthdrs(struct gen *g, struct spec *s, struct pkt *p);
void m_ip6_exthdrs_post(struct gen *g, struct spec *s, struct pkt *p);
void m_ip6_exthdrs_bad(struct gen *g, struct spec *s, struct pkt *p);
void m_outer_fields(struct gen *g, struct spec *s, struct pkt *p);
void m_trunc(struct gen *g, struct spec *s, struct pkt *p);
void m_trunc_post(struct gen *g, struct spec *s, struct pkt *p);
void m_flip_icv(struct gen *g, struct spec *s, struct pkt *p);
void m_flip_body(struct gen *g, struct spec *s, struct pkt *p);
void m_spi(struct gen *g, struct spec *s, struct pkt *p);
void m_spi_post(struct gen *g, struct spec *s, struct pkt *p);
void m_ip_len(struct gen *g, struct spec *s, struct pkt *p);
void m_ip_ihl(struct gen *g, struct spec *s, struct pkt *p);
void m_ip_csum(struct gen *g, struct spec *s, struct pkt *p);
void m_ip_version(struct gen *g, struct spec *s, struct pkt *p);
void m_ip_proto(struct gen *g, struct spec *s, struct pkt *p);
void m_outer_benign(struct gen *g, struct spec *s, struct pkt *p);
void m_trailer(struct gen *g, struct spec *s, struct pkt *p);
void encap_fate(struct gen *g, struct pkt *p);
void m_udp_len(struct gen *g, struct spec *s, struct pkt *p);
void m_udp_csum(struct gen *g, struct spec *s, struct pkt *p);
void m_udp_sport(struct gen *g, struct spec *s, struct pkt *p);
void m_udp_dport(struct gen *g, struct spec *s, struct pkt *p);
void m_nonesp_marker(struct gen *g, struct spec *s, struct pkt *p);
void m_keepalive(struct gen *g, struct spec *s, struct pkt *p);
void m_ike_short(struct gen *g, struct spec *s, struct pkt *p);
void m_encap_mismatch(struct gen *g, struct spec *s, struct pkt *p);

#endif /* ESPMUT_MUTATE_H */
