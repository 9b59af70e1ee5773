// SPDX-License-Identifier: GPL-2.0
/*
 * The builder's crypto against the project's published known-answer
 * vectors (kunit/esp_vectors.h, kunit/ah_vectors.h, generated from
 * /work/shared/vectors): every ESP vector whose algorithms OpenSSL has
 * is opened (ICV checked, plaintext compared) and sealed again to the
 * same bytes; every AH vector's ICV is recomputed over the headers
 * zeroed the way build.c zeroes them. So a packet the receiver refuses
 * is refused for the mutation, not for a mistake in the mutator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "espmut.h"

/* The vector headers' kernel-side include, replaced by what they need. */
#define ESPAH_KUNIT_UTIL_H
struct espah_kv_alg {
	const char *name;
	const u8 *key;
	unsigned int key_len;
	unsigned int bits;
};

struct espah_kv_encap {
	u16 type;
	u16 sport;
	u16 dport;
};

#include "../../../kunit/esp_vectors.h"
#include "../../../kunit/ah_vectors.h"

struct alg_map {
	const char *name;
	int id;
	u8 block;	/* cipher: padding alignment; MAC: output bytes */
};

static const struct alg_map ciphers[] = {
	{ "rfc4106(gcm(aes))", C_GCM, 4 },
	{ "rfc4309(ccm(aes))", C_CCM, 4 },
	{ "rfc7539esp(chacha20,poly1305)", C_CHACHA, 4 },
	{ "rfc4543(gcm(aes))", C_GMAC, 4 },
	{ "cbc(aes)", C_CBC_AES, 16 },
	{ "rfc3686(ctr(aes))", C_CTR_AES, 4 },
	{ "cbc(des3_ede)", C_3DES, 8 },
	{ "ecb(cipher_null)", C_NULL, 4 },
};

static const struct alg_map macs[] = {
	{ "digest_null", M_NONE, 0 }, { "hmac(md5)", M_HMAC_MD5, 16 },
	{ "hmac(sha1)", M_HMAC_SHA1, 20 },
	{ "hmac(sha256)", M_HMAC_SHA256, 32 },
	{ "hmac(sha384)", M_HMAC_SHA384, 48 },
	{ "hmac(sha512)", M_HMAC_SHA512, 64 },
	{ "xcbc(aes)", M_XCBC, 16 }, { "cmac(aes)", M_CMAC, 16 },
};

static const struct alg_map *lookup(const struct alg_map *m, unsigned int n,
				    const char *name)
{
	unsigned int i;

	for (i = 0; name && i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}

/* The transform a vector describes, or false if OpenSSL lacks a part. */
static bool esp_xform(const struct espah_esp_vector *v, struct xform *xf)
{
	const struct alg_map *c, *m = NULL;

	memset(xf, 0, sizeof(*xf));
	xf->name = v->id;
	if (v->aead.name) {
		c = lookup(ciphers, ARRAY_SIZE(ciphers), v->aead.name);
		xf->kind = XF_AEAD;
		xf->enc_keylen = v->aead.key_len;
	} else {
		c = lookup(ciphers, ARRAY_SIZE(ciphers), v->enc.name);
		m = lookup(macs, ARRAY_SIZE(macs), v->auth.name ? v->auth.name :
			   "digest_null");
		if (!m)
			return false;
		xf->kind = XF_AUTHENC;
		xf->mac = m->id;
		xf->enc_keylen = v->enc.key_len;
		xf->auth_keylen = v->auth.key_len;
		xf->icv_full = m->block;
	}
	if (!c)
		return false;
	xf->cipher = c->id;
	xf->align = c->block;
	xf->block = c->id == C_CBC_AES ? 16 : c->id == C_3DES ? 8 : 1;
	xf->icv_len = v->icv_bits / 8;
	if (xf->kind == XF_AEAD)
		xf->icv_full = xf->icv_len;
	xf->iv_len = v->iv_len;
	return true;
}

static int esp_vector(const struct espah_esp_vector *v)
{
	static u8 buf[70000];
	struct xform xf;
	struct mcase c = { 0 };
	struct sa_crypto *sc;
	unsigned int ivl = v->iv_len, icvl = v->icv_bits / 8, ct_len;
	u8 *esph, *ct, icv[64];
	int err = -1;

	if (!v->plaintext_packet || !esp_xform(v, &xf))
		return 1;
	c.xf = &xf;
	c.esn = v->esn;
	sc = sa_crypto_new(&c, v->aead.name ? v->aead.key : v->enc.key,
			   v->auth.key);
	if (!sc)
		return 1;
	memcpy(buf, v->expected_packet, v->expected_len);
	esph = buf + v->hdr_off;
	ct = esph + ESP_HLEN + ivl;
	ct_len = v->expected_len - v->hdr_off - ESP_HLEN - ivl - icvl;
	if (esp_open(sc, esph, v->seq_hi, esph + ESP_HLEN, ct, ct_len,
		     ct + ct_len)) {
		printf("# vector %s: the ICV did not verify\n", v->id);
		goto out;
	}
	if (memcmp(ct, v->plaintext_packet + v->payload_off, v->payload_len) ||
	    ct[ct_len - 1] != v->next_header || ct[ct_len - 2] != v->pad_len) {
		printf("# vector %s: decrypted to other bytes\n", v->id);
		goto out;
	}
	if (esp_seal(sc, esph, v->seq_hi, esph + ESP_HLEN, ct, ct_len, icv) ||
	    memcmp(buf, v->expected_packet, v->expected_len - icvl) ||
	    memcmp(icv, v->expected_packet + v->expected_len - icvl, icvl)) {
		printf("# vector %s: sealing again gave other bytes\n", v->id);
		goto out;
	}
	err = 0;
out:
	sa_crypto_free(sc);
	return err;
}

static int ah_vector(const struct espah_ah_vector *v)
{
	static u8 buf[70000];
	const struct alg_map *m = lookup(macs, ARRAY_SIZE(macs), v->auth.name);
	struct xform xf = { .name = v->id, .kind = XF_AH };
	struct mcase c = { .xf = &xf, .esn = v->esn };
	unsigned int icvl = v->icv_bits / 8, at = v->hdr_off + AH_HLEN;
	struct sa_crypto *sc;
	u8 mac[64];
	int err = -1;

	if (!v->plaintext_packet || !m || m->id == M_NONE)
		return 1;
	xf.mac = m->id;
	xf.auth_keylen = v->auth.key_len;
	xf.icv_len = icvl;
	xf.icv_full = m->block;
	sc = sa_crypto_new(&c, NULL, v->auth.key);
	if (!sc)
		return 1;
	memcpy(buf, v->expected_packet, v->expected_len);
	memset(buf + at, 0, icvl);
	ah_zero_mutable(v->family, buf, v->hdr_off);
	if (ah_mac(sc, buf, v->expected_len, v->esn, v->seq_hi, mac) ||
	    memcmp(mac, v->expected_packet + at, icvl))
		printf("# vector %s: AH ICV differs\n", v->id);
	else
		err = 0;
	sa_crypto_free(sc);
	return err;
}

int selftest_vectors(bool verbose_)
{
	unsigned int i, ok = 0, skip = 0, bad = 0;
	int r;

	for (i = 0; i < ARRAY_SIZE(espah_esp_vectors); i++) {
		r = esp_vector(&espah_esp_vectors[i]);
		ok += !r;
		skip += r > 0;
		bad += r < 0;
	}
	for (i = 0; i < ARRAY_SIZE(espah_ah_vectors); i++) {
		r = ah_vector(&espah_ah_vectors[i]);
		ok += !r;
		skip += r > 0;
		bad += r < 0;
	}
	printf("# vectors: %u reproduced, %u failed, %u skipped\n", ok, bad, skip);
	if (skip)
		printf("# (skipped: algorithms OpenSSL lacks: DES, Blowfish, CAST)\n");
	return bad;
}
