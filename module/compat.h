/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels espah builds for (Debian 6.1, Debian 6.12
 * and the project's test kernel). Kbuild probes the headers and defines the
 * ESPAH_HAVE_* macros; nothing else in the tree tests kernel versions.
 */
#ifndef _ESPAH_COMPAT_H
#define _ESPAH_COMPAT_H

#include <linux/crypto.h>

/*
 * Crypto completion callbacks take the request's data pointer since 6.3;
 * before that they took the request itself. ESPAH_CRYPTO_DONE(fn) names a
 * callback with the signature this kernel wants that forwards to
 * fn(void *data, int err).
 */
#ifdef ESPAH_HAVE_CRYPTO_CB_DATA
#define ESPAH_CRYPTO_DONE(fn)						\
static void fn##_cb(void *data, int err)				\
{									\
	fn(data, err);							\
}
#else
#define ESPAH_CRYPTO_DONE(fn)						\
static void fn##_cb(struct crypto_async_request *req, int err)		\
{									\
	fn(req->data, err);						\
}
#endif

/*
 * Hash transforms used to have an alignment mask for the result buffer;
 * newer kernels dropped it (results may be written anywhere). Use it only
 * where <crypto/hash.h> is included.
 */
#ifdef ESPAH_HAVE_AHASH_ALIGNMASK
#define espah_ahash_alignmask(tfm)	crypto_ahash_alignmask(tfm)
#else
struct crypto_ahash;
static inline unsigned int espah_ahash_alignmask(struct crypto_ahash *tfm)
{
	return 0;
}
#endif

#ifdef ESPAH_HAVE_CRYPTO_UTILS_H
#include <crypto/utils.h>
#else
#include <crypto/algapi.h>
#endif

#endif /* _ESPAH_COMPAT_H */
