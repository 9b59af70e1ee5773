// SPDX-License-Identifier: GPL-2.0
/*
 * The transform families the mutator covers, as "ip xfrm state" names
 * them, with what their packets look like on the wire.
 */
#include <string.h>

#include "espmut.h"

/* AEADs: 8-byte IV, padding to 4, the whole tag on the wire. */
#define AEAD(n, a, ch, kl, icv)						\
	{ .name = n, .kind = XF_AEAD, .cipher = ch, .alg = a,		\
	  .enc_keylen = kl, .icv_len = icv, .iv_len = 8, .align = 4,	\
	  .block = 1 }

/* @al: padding alignment, the block size and at least 4 (RFC 4303 2.4) */
#define ENCAUTH(n, e, ch, ekl, iv, blk, al, a, m, akl, icv, full)	\
	{ .name = n, .kind = XF_AUTHENC, .cipher = ch, .mac = m,	\
	  .alg = e, .auth_alg = a, .enc_keylen = ekl,			\
	  .auth_keylen = akl, .icv_len = icv, .icv_full = full,	\
	  .iv_len = iv, .align = al, .block = blk }

#define AH(n, a, m, akl, icv, full)					\
	{ .name = n, .kind = XF_AH, .mac = m, .auth_alg = a,		\
	  .auth_keylen = akl, .icv_len = icv, .icv_full = full }

const struct xform xforms[] = {
	AEAD("gcm128", "rfc4106(gcm(aes))", C_GCM, 20, 16),
	AEAD("gcm256-icv8", "rfc4106(gcm(aes))", C_GCM, 36, 8),
	AEAD("gcm128-icv12", "rfc4106(gcm(aes))", C_GCM, 20, 12),
	AEAD("ccm128", "rfc4309(ccm(aes))", C_CCM, 19, 16),
	AEAD("ccm256-icv8", "rfc4309(ccm(aes))", C_CCM, 35, 8),
	AEAD("chacha20poly1305", "rfc7539esp(chacha20,poly1305)", C_CHACHA,
	     36, 16),
	AEAD("gmac128", "rfc4543(gcm(aes))", C_GMAC, 20, 16),
	ENCAUTH("cbc-aes128-sha1", "cbc(aes)", C_CBC_AES, 16, 16, 16, 16,
		"hmac(sha1)", M_HMAC_SHA1, 20, 12, 20),
	ENCAUTH("cbc-aes256-sha256", "cbc(aes)", C_CBC_AES, 32, 16, 16, 16,
		"hmac(sha256)", M_HMAC_SHA256, 32, 16, 32),
	ENCAUTH("cbc-aes128-sha512", "cbc(aes)", C_CBC_AES, 16, 16, 16, 16,
		"hmac(sha512)", M_HMAC_SHA512, 64, 32, 64),
	ENCAUTH("ctr-aes128-sha256", "rfc3686(ctr(aes))", C_CTR_AES, 20, 8, 1, 4,
		"hmac(sha256)", M_HMAC_SHA256, 32, 16, 32),
	ENCAUTH("ctr-aes256-sha1", "rfc3686(ctr(aes))", C_CTR_AES, 36, 8, 1, 4,
		"hmac(sha1)", M_HMAC_SHA1, 20, 12, 20),
	ENCAUTH("null-sha256", "ecb(cipher_null)", C_NULL, 0, 0, 1, 4,
		"hmac(sha256)", M_HMAC_SHA256, 32, 16, 32),
	ENCAUTH("3des-sha1", "cbc(des3_ede)", C_3DES, 24, 8, 8, 8,
		"hmac(sha1)", M_HMAC_SHA1, 20, 12, 20),
	ENCAUTH("cbc-aes128-xcbc", "cbc(aes)", C_CBC_AES, 16, 16, 16, 16,
		"xcbc(aes)", M_XCBC, 16, 12, 16),
	AH("ah-sha256", "hmac(sha256)", M_HMAC_SHA256, 32, 16, 32),
	AH("ah-sha1", "hmac(sha1)", M_HMAC_SHA1, 20, 12, 20),
	AH("ah-xcbc", "xcbc(aes)", M_XCBC, 16, 12, 16),
	AH("ah-cmac", "cmac(aes)", M_CMAC, 16, 12, 16),
	AH("ah-sha512", "hmac(sha512)", M_HMAC_SHA512, 64, 32, 64),
};

const unsigned int n_xforms = ARRAY_SIZE(xforms);

const struct xform *xform_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < n_xforms; i++)
		if (!strcmp(xforms[i].name, name))
			return &xforms[i];
	return NULL;
}
