// SPDX-License-Identifier: GPL-2.0
/*
 * ESP sealing and AH ICVs with OpenSSL's libcrypto (linked statically):
 * an implementation the kernel's crypto API did not write, so a receiver
 * that accepts these packets agrees with an independent one.
 *
 * Layouts (what is authenticated, in which order):
 * - AEAD (RFC 4106 GCM, 4309 CCM, 7634 ChaCha20-Poly1305): nonce = salt
 *   (the key's last 4, CCM 3, bytes) || IV; AAD = SPI || sequence number,
 *   with ESN SPI || high bits || low bits (RFC 4106 5).
 * - GMAC (RFC 4543): nothing encrypted; AAD = SPI || sequence || IV ||
 *   payload.
 * - encryption + MAC (RFC 4303 3.3.2): MAC over SPI || sequence || IV ||
 *   ciphertext, with ESN the high bits appended (2.2.1), truncated.
 *   CTR (RFC 3686): counter block = nonce (the key's last 4 bytes) || IV
 *   || 1.
 * - AH: the MAC of what the caller prepared, then the ESN high bits.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "espmut.h"

#define AES_BLK	16

struct seg {
	const u8 *p;
	unsigned int len;
};

struct sa_crypto {
	const struct xform *xf;
	bool esn;
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *cctx;
	u8 key[64];
	unsigned int keylen;		/* without salt or nonce */
	u8 salt[4];
	unsigned int saltlen;
	EVP_MAC *mac;
	EVP_MAC_CTX *mctx;
	OSSL_PARAM mparams[2];
	u8 auth_key[64];
	/* AES-XCBC-MAC-96 (RFC 3566): AES-ECB keyed with K1, and K2, K3 */
	EVP_CIPHER_CTX *xcbc;
	u8 k2[AES_BLK], k3[AES_BLK];
};

/* AES with a 128, 192 or 256-bit key: @k is 0, 1 or 2. */
static const EVP_CIPHER *aes_cipher(enum xf_cipher c, unsigned int keylen)
{
	static const EVP_CIPHER *(*const gcm[])(void) = {
		EVP_aes_128_gcm, EVP_aes_192_gcm, EVP_aes_256_gcm };
	static const EVP_CIPHER *(*const ccm[])(void) = {
		EVP_aes_128_ccm, EVP_aes_192_ccm, EVP_aes_256_ccm };
	static const EVP_CIPHER *(*const cbc[])(void) = {
		EVP_aes_128_cbc, EVP_aes_192_cbc, EVP_aes_256_cbc };
	static const EVP_CIPHER *(*const ctr[])(void) = {
		EVP_aes_128_ctr, EVP_aes_192_ctr, EVP_aes_256_ctr };
	unsigned int k = (keylen - 16) / 8;

	if (c == C_3DES)
		return EVP_des_ede3_cbc();
	if (c == C_CHACHA)
		return EVP_chacha20_poly1305();
	if (keylen != 16 && keylen != 24 && keylen != 32)
		return NULL;
	switch (c) {
	case C_GCM:
	case C_GMAC:
		return gcm[k]();
	case C_CCM:
		return ccm[k]();
	case C_CBC_AES:
		return cbc[k]();
	case C_CTR_AES:
		return ctr[k]();
	default:
		return NULL;
	}
}

static unsigned int salt_len(enum xf_cipher c)
{
	switch (c) {
	case C_GCM:
	case C_GMAC:
	case C_CHACHA:
	case C_CTR_AES:
		return 4;
	case C_CCM:
		return 3;
	default:
		return 0;
	}
}

static int aes_ecb_block(EVP_CIPHER_CTX *ctx, const u8 *in, u8 *out)
{
	int n;

	return EVP_EncryptUpdate(ctx, out, &n, in, AES_BLK) == 1 &&
	       n == AES_BLK ? 0 : -1;
}

/* K1 keys the ECB context; K2 and K3 are XORed into the last block. */
static int xcbc_init(struct sa_crypto *sc)
{
	u8 k1[AES_BLK], c[AES_BLK];
	EVP_CIPHER_CTX *k;
	int err = -1;

	k = EVP_CIPHER_CTX_new();
	sc->xcbc = EVP_CIPHER_CTX_new();
	if (!k || !sc->xcbc ||
	    !EVP_EncryptInit_ex(k, EVP_aes_128_ecb(), NULL, sc->auth_key, NULL))
		goto out;
	EVP_CIPHER_CTX_set_padding(k, 0);
	memset(c, 1, sizeof(c));
	if (aes_ecb_block(k, c, k1))
		goto out;
	memset(c, 2, sizeof(c));
	if (aes_ecb_block(k, c, sc->k2))
		goto out;
	memset(c, 3, sizeof(c));
	if (aes_ecb_block(k, c, sc->k3))
		goto out;
	if (!EVP_EncryptInit_ex(sc->xcbc, EVP_aes_128_ecb(), NULL, k1, NULL))
		goto out;
	EVP_CIPHER_CTX_set_padding(sc->xcbc, 0);
	err = 0;
out:
	EVP_CIPHER_CTX_free(k);
	return err;
}

/* RFC 3566 over the segments; the last block takes K2 if full, else K3. */
static int xcbc_mac(struct sa_crypto *sc, const struct seg *s, unsigned int n,
		    u8 *out)
{
	u8 e[AES_BLK] = { 0 }, buf[AES_BLK];
	unsigned int have = 0, i, j, k;
	const u8 *kx;

	for (i = 0; i < n; i++) {
		for (j = 0; j < s[i].len; j++) {
			if (have == AES_BLK) {
				for (k = 0; k < AES_BLK; k++)
					buf[k] ^= e[k];
				if (aes_ecb_block(sc->xcbc, buf, e))
					return -1;
				have = 0;
			}
			buf[have++] = s[i].p[j];
		}
	}
	if (have == AES_BLK) {
		kx = sc->k2;
	} else {
		buf[have++] = 0x80;
		memset(buf + have, 0, AES_BLK - have);
		kx = sc->k3;
	}
	for (k = 0; k < AES_BLK; k++)
		buf[k] ^= e[k] ^ kx[k];
	return aes_ecb_block(sc->xcbc, buf, out);
}

static const char *hmac_digest(enum xf_mac m)
{
	switch (m) {
	case M_HMAC_MD5:
		return "MD5";
	case M_HMAC_SHA1:
		return "SHA1";
	case M_HMAC_SHA256:
		return "SHA256";
	case M_HMAC_SHA384:
		return "SHA384";
	case M_HMAC_SHA512:
		return "SHA512";
	default:
		return NULL;
	}
}

static int mac_init(struct sa_crypto *sc)
{
	const struct xform *xf = sc->xf;

	if (xf->mac == M_NONE)
		return 0;
	if (xf->mac == M_XCBC)
		return xcbc_init(sc);
	if (xf->mac == M_CMAC) {
		sc->mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
		sc->mparams[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
								  "AES-128-CBC", 0);
	} else {
		sc->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		sc->mparams[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
								  (char *)hmac_digest(xf->mac), 0);
	}
	sc->mparams[1] = OSSL_PARAM_construct_end();
	if (!sc->mac)
		return -1;
	sc->mctx = EVP_MAC_CTX_new(sc->mac);
	return sc->mctx ? 0 : -1;
}

static int mac_segs(struct sa_crypto *sc, const struct seg *s, unsigned int n,
		    u8 *out)
{
	size_t outl = 0;
	unsigned int i;

	if (sc->xf->mac == M_XCBC)
		return xcbc_mac(sc, s, n, out);
	if (!EVP_MAC_init(sc->mctx, sc->auth_key, sc->xf->auth_keylen,
			  sc->mparams))
		return -1;
	for (i = 0; i < n; i++)
		if (s[i].len && !EVP_MAC_update(sc->mctx, s[i].p, s[i].len))
			return -1;
	if (!EVP_MAC_final(sc->mctx, out, &outl, 64))
		return -1;
	return outl == sc->xf->icv_full ? 0 : -1;
}

struct sa_crypto *sa_crypto_new(const struct mcase *c, const u8 *enc_key,
				const u8 *auth_key)
{
	const struct xform *xf = c->xf;
	struct sa_crypto *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->xf = xf;
	sc->esn = c->esn;
	sc->saltlen = salt_len(xf->cipher);
	sc->keylen = xf->enc_keylen - sc->saltlen;
	memcpy(sc->key, enc_key, sc->keylen);
	memcpy(sc->salt, enc_key + sc->keylen, sc->saltlen);
	memcpy(sc->auth_key, auth_key, xf->auth_keylen);
	if (xf->kind != XF_AH && xf->cipher != C_NULL) {
		sc->cipher = aes_cipher(xf->cipher, sc->keylen);
		sc->cctx = EVP_CIPHER_CTX_new();
		if (!sc->cipher || !sc->cctx)
			goto fail;
	}
	if (mac_init(sc))
		goto fail;
	return sc;
fail:
	fprintf(stderr, "espmut: OpenSSL cannot set up %s\n", xf->name);
	sa_crypto_free(sc);
	return NULL;
}

void sa_crypto_free(struct sa_crypto *sc)
{
	if (!sc)
		return;
	EVP_CIPHER_CTX_free(sc->cctx);
	EVP_CIPHER_CTX_free(sc->xcbc);
	EVP_MAC_CTX_free(sc->mctx);
	EVP_MAC_free(sc->mac);
	free(sc);
}

/* SPI || [high bits] || low bits: the AEADs' associated data. */
static unsigned int esp_aad(const struct sa_crypto *sc, const u8 *esph,
			    u32 seq_hi, u8 *aad)
{
	u32 hi = htonl(seq_hi);

	memcpy(aad, esph, 4);
	if (!sc->esn) {
		memcpy(aad + 4, esph + 4, 4);
		return 8;
	}
	memcpy(aad + 4, &hi, 4);
	memcpy(aad + 8, esph + 4, 4);
	return 12;
}

static void aead_nonce(const struct sa_crypto *sc, const u8 *iv, u8 *nonce)
{
	memcpy(nonce, sc->salt, sc->saltlen);
	memcpy(nonce + sc->saltlen, iv, 8);
}

/* The ctrl names differ per mode only in their old spellings. */
static int aead_setup(struct sa_crypto *sc, const u8 *nonce, bool enc,
		      const u8 *tag, unsigned int ct_len)
{
	EVP_CIPHER_CTX *ctx = sc->cctx;
	unsigned int nlen = sc->saltlen + 8;
	unsigned int tlen = sc->xf->icv_len;
	int n;

	if (!EVP_CipherInit_ex(ctx, sc->cipher, NULL, NULL, NULL, enc) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, nlen, NULL))
		return -1;
	if (sc->xf->cipher == C_CCM &&
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, tlen,
				 enc ? NULL : (void *)tag))
		return -1;
	if (!EVP_CipherInit_ex(ctx, NULL, NULL, sc->key, nonce, enc))
		return -1;
	if (sc->xf->cipher == C_CCM &&
	    !EVP_CipherUpdate(ctx, NULL, &n, NULL, ct_len))
		return -1;
	return 0;
}

static int aead_crypt(struct sa_crypto *sc, const u8 *esph, u32 seq_hi,
		      const u8 *iv, u8 *ct, unsigned int ct_len, u8 *icv,
		      bool enc)
{
	EVP_CIPHER_CTX *ctx = sc->cctx;
	bool gmac = sc->xf->cipher == C_GMAC;
	u8 aad[12], nonce[12], tmp[16];
	unsigned int aadlen;
	int n;

	aadlen = esp_aad(sc, esph, seq_hi, aad);
	aead_nonce(sc, iv, nonce);
	if (aead_setup(sc, nonce, enc, icv, gmac ? 0 : ct_len))
		return -1;
	if (!EVP_CipherUpdate(ctx, NULL, &n, aad, aadlen))
		return -1;
	if (gmac) {
		if (!EVP_CipherUpdate(ctx, NULL, &n, iv, 8) ||
		    (ct_len && !EVP_CipherUpdate(ctx, NULL, &n, ct, ct_len)))
			return -1;
	} else if (ct_len && !EVP_CipherUpdate(ctx, ct, &n, ct, ct_len)) {
		return -1;
	}
	if (!enc && sc->xf->cipher != C_CCM &&
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, sc->xf->icv_len,
				 (void *)icv))
		return -1;
	if (sc->xf->cipher == C_CCM && !enc)
		return 0;	/* CCM verified in the update */
	if (EVP_CipherFinal_ex(ctx, tmp, &n) != 1)
		return -1;
	if (enc && !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					sc->xf->icv_len, icv))
		return -1;
	return 0;
}

static int block_crypt(struct sa_crypto *sc, const u8 *iv, u8 *ct,
		       unsigned int len, bool enc)
{
	EVP_CIPHER_CTX *ctx = sc->cctx;
	u8 ivbuf[16];
	int n, m;

	if (sc->xf->cipher == C_NULL || !len)
		return 0;
	if (sc->xf->cipher == C_CTR_AES) {
		memcpy(ivbuf, sc->salt, 4);
		memcpy(ivbuf + 4, iv, 8);
		memcpy(ivbuf + 12, "\0\0\0\1", 4);
	} else {
		memcpy(ivbuf, iv, sc->xf->iv_len);
	}
	if (!EVP_CipherInit_ex(ctx, sc->cipher, NULL, sc->key, ivbuf, enc))
		return -1;
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	if (!EVP_CipherUpdate(ctx, ct, &n, ct, len) ||
	    !EVP_CipherFinal_ex(ctx, ct + n, &m))
		return -1;
	return n + m == (int)len ? 0 : -1;
}

/* RFC 4303 2.2.1: the high bits follow the payload in the ICV only. */
static int esp_mac(struct sa_crypto *sc, const u8 *esph, u32 seq_hi,
		   const u8 *iv, const u8 *ct, unsigned int ct_len, u8 *icv)
{
	u32 hi = htonl(seq_hi);
	struct seg s[4] = {
		{ esph, ESP_HLEN }, { iv, sc->xf->iv_len }, { ct, ct_len },
		{ (const u8 *)&hi, sc->esn ? 4 : 0 },
	};
	u8 full[64];

	if (sc->xf->mac == M_NONE)	/* digest_null: no ICV */
		return 0;
	if (mac_segs(sc, s, ARRAY_SIZE(s), full))
		return -1;
	memcpy(icv, full, sc->xf->icv_len);
	return 0;
}

int esp_seal(struct sa_crypto *sc, const u8 *esph, u32 seq_hi,
	     const u8 *iv, u8 *ct, unsigned int ct_len, u8 *icv)
{
	if (sc->xf->kind == XF_AEAD)
		return aead_crypt(sc, esph, seq_hi, iv, ct, ct_len, icv, true);
	/*
	 * A ciphertext that is no whole number of blocks (a mutation) is
	 * sent with its unaligned tail as it is.
	 */
	if (block_crypt(sc, iv, ct, ct_len - ct_len % sc->xf->block, true))
		return -1;
	return esp_mac(sc, esph, seq_hi, iv, ct, ct_len, icv);
}

int esp_open(struct sa_crypto *sc, const u8 *esph, u32 seq_hi,
	     const u8 *iv, u8 *ct, unsigned int ct_len, const u8 *icv)
{
	u8 want[64];

	if (sc->xf->kind == XF_AEAD)
		return aead_crypt(sc, esph, seq_hi, iv, ct, ct_len, (u8 *)icv,
				  false);
	if (esp_mac(sc, esph, seq_hi, iv, ct, ct_len, want) ||
	    memcmp(want, icv, sc->xf->icv_len))
		return -1;
	return block_crypt(sc, iv, ct, ct_len, false);
}

int ah_mac(struct sa_crypto *sc, const u8 *data, unsigned int len,
	   bool esn, u32 seq_hi, u8 *icv)
{
	u32 hi = htonl(seq_hi);
	struct seg s[2] = { { data, len }, { (const u8 *)&hi, esn ? 4 : 0 } };

	return mac_segs(sc, s, ARRAY_SIZE(s), icv);
}
