// SPDX-License-Identifier: GPL-2.0
/*
 * ESP SA setup and teardown: everything that can be refused is refused
 * here, at `ip xfrm state add` time, with an extack message, so that the
 * data path only ever sees SAs it can serve.
 */
#include <crypto/aead.h>
#include <crypto/authenc.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/random.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/udp.h>
#include <net/esp.h>
#include <net/xfrm.h>

#include "esp.h"
#include "layout.h"

static int esp_check_config(struct xfrm_state *x,
			    struct netlink_ext_ack *extack)
{
	if (!x->aead && !x->ealg) {
		NL_SET_ERR_MSG(extack,
			       "espah: ESP needs an AEAD or an encryption algorithm");
		return -EINVAL;
	}
	if (x->aead && (x->ealg || x->aalg)) {
		NL_SET_ERR_MSG(extack,
			       "espah: an AEAD cannot be combined with enc or auth");
		return -EINVAL;
	}
	if (x->encap && x->encap->encap_type != UDP_ENCAP_ESPINUDP) {
		NL_SET_ERR_MSG(extack,
			       "espah: only UDP encapsulation (espinudp, RFC 3948) is supported");
		return -EOPNOTSUPP;
	}
	return espah_mode_check(x, extack);
}

static struct crypto_aead *esp_alloc_aead(const char *name,
					  struct netlink_ext_ack *extack)
{
	struct crypto_aead *aead = crypto_alloc_aead(name, 0, 0);

	if (PTR_ERR(aead) == -ENOMEM)
		NL_SET_ERR_MSG(extack,
			       "espah: out of memory for the ESP transform");
	else if (IS_ERR(aead))
		NL_SET_ERR_MSG(extack,
			       "espah: the kernel cannot provide this ESP transform (crypto module missing?)");
	return aead;
}

/*
 * The bare AEAD, without the IV generator template the kernel's algorithm
 * table names (x->geniv): espah makes IVs itself (esp_output.c), so that
 * encrypting out of place costs no extra copy of the packet.
 */
static struct crypto_aead *esp_setup_aead(struct xfrm_state *x,
					  struct netlink_ext_ack *extack)
{
	struct crypto_aead *aead;
	int err;

	aead = esp_alloc_aead(x->aead->alg_name, extack);
	if (IS_ERR(aead))
		return aead;

	err = crypto_aead_setkey(aead, x->aead->alg_key,
				 (x->aead->alg_key_len + 7) / 8);
	if (err) {
		NL_SET_ERR_MSG(extack, "espah: the AEAD rejected the key");
		goto fail;
	}
	err = crypto_aead_setauthsize(aead, x->aead->alg_icv_len / 8);
	if (err) {
		NL_SET_ERR_MSG(extack, "espah: the AEAD rejected the ICV length");
		goto fail;
	}
	return aead;
fail:
	crypto_free_aead(aead);
	return ERR_PTR(err);
}

static unsigned int esp_key_bytes(const struct xfrm_algo *alg)
{
	return alg ? (alg->alg_key_len + 7) / 8 : 0;
}

/*
 * authenc takes one key blob: an rtattr carrying the encryption key length,
 * then the authentication key, then the encryption key.
 */
static int esp_authenc_setkey(struct crypto_aead *aead,
			      const struct xfrm_state *x)
{
	unsigned int akeylen = x->aalg ? (x->aalg->alg_key_len + 7) / 8 : 0;
	unsigned int ekeylen = esp_key_bytes(x->ealg);
	struct crypto_authenc_key_param *param;
	unsigned int len;
	struct rtattr *rta;
	u8 *blob, *p;
	int err;

	len = RTA_SPACE(sizeof(*param)) + akeylen + ekeylen;
	blob = kmalloc(len, GFP_KERNEL);
	if (!blob)
		return -ENOMEM;

	rta = (struct rtattr *)blob;
	rta->rta_type = CRYPTO_AUTHENC_KEYA_PARAM;
	rta->rta_len = RTA_LENGTH(sizeof(*param));
	param = RTA_DATA(rta);
	param->enckeylen = cpu_to_be32(ekeylen);
	p = blob + RTA_SPACE(sizeof(*param));
	if (akeylen)
		memcpy(p, x->aalg->alg_key, akeylen);
	memcpy(p + akeylen, x->ealg->alg_key, ekeylen);

	err = crypto_aead_setkey(aead, blob, len);
	kfree_sensitive(blob);
	return err;
}

/*
 * The kernel's algorithm table says how long the untruncated ICV is; if
 * the transform disagrees the SA would interoperate with nobody.
 */
static int esp_authenc_setauthsize(struct crypto_aead *aead,
				   const struct xfrm_state *x,
				   struct netlink_ext_ack *extack)
{
	struct xfrm_algo_desc *desc;

	if (!x->aalg)
		return 0;
	desc = xfrm_aalg_get_byname(x->aalg->alg_name, 0);
	if (!desc || desc->uinfo.auth.icv_fullbits / 8 !=
		     crypto_aead_authsize(aead)) {
		NL_SET_ERR_MSG(extack,
			       "espah: authentication algorithm has an unexpected ICV size");
		return -EINVAL;
	}
	/* RFC 4303 2.8: the ICV is a whole number of octets. */
	if (x->aalg->alg_trunc_len % 8 ||
	    crypto_aead_setauthsize(aead, x->aalg->alg_trunc_len / 8)) {
		NL_SET_ERR_MSG(extack, "espah: unsupported ICV truncation");
		return -EINVAL;
	}
	return 0;
}

static struct crypto_aead *esp_setup_authenc(struct xfrm_state *x,
					     struct netlink_ext_ack *extack)
{
	const char *tmpl = x->props.flags & XFRM_STATE_ESN ?
			   "authencesn" : "authenc";
	char name[CRYPTO_MAX_ALG_NAME];
	struct crypto_aead *aead;
	int err;

	if (snprintf(name, sizeof(name), "%s(%s,%s)", tmpl,
		     x->aalg ? x->aalg->alg_name : "digest_null",
		     x->ealg->alg_name) >= sizeof(name)) {
		NL_SET_ERR_MSG(extack, "espah: algorithm name is too long");
		return ERR_PTR(-ENAMETOOLONG);
	}
	aead = esp_alloc_aead(name, extack);
	if (IS_ERR(aead))
		return aead;

	err = esp_authenc_setauthsize(aead, x, extack);
	if (err)
		goto fail;
	err = esp_authenc_setkey(aead, x);
	if (err) {
		NL_SET_ERR_MSG(extack, "espah: the transform rejected the keys");
		goto fail;
	}
	return aead;
fail:
	crypto_free_aead(aead);
	return ERR_PTR(err);
}

/* What the mode makes room for in front of the payload. */
static unsigned int esp_header_len(const struct xfrm_state *x)
{
	return esp_encap_len(x) + esp_hdr_len(x) + espah_mode_room(x);
}

/*
 * How output makes IVs (esp_output.c): the algorithm table's "seqiv"
 * marks counter modes, which need unique IVs; everything else with an IV
 * gets unpredictable ones.
 */
static void esp_init_iv(struct espah_sa *sa, const struct xfrm_state *x,
			unsigned int ivlen)
{
	if (!ivlen)
		sa->iv_kind = ESP_IV_NONE;
	else if (x->geniv && !strcmp(x->geniv, "seqiv") && ivlen >= 8)
		sa->iv_kind = ESP_IV_COUNTER;
	else
		sa->iv_kind = ESP_IV_RANDOM;
	get_random_bytes(&sa->iv_salt, sizeof(sa->iv_salt));
}

/*
 * ESP-NULL without integrity: encryption "ecb(cipher_null)" and no
 * authentication, or "digest_null". Nothing is secret and nothing is
 * checked, so there is nothing to compute: the data path neither calls
 * the transform nor copies the payload. The transform stays, for the
 * packets that path cannot take (esp_output.c).
 */
static bool esp_is_null(const struct xfrm_state *x, struct crypto_aead *aead)
{
	return x->ealg && !strcmp(x->ealg->alg_name, "ecb(cipher_null)") &&
	       (!x->aalg || !strcmp(x->aalg->alg_name, "digest_null")) &&
	       !crypto_aead_ivsize(aead) && !crypto_aead_authsize(aead);
}

static bool espah_late_async;
module_param_named(late_async, espah_late_async, bool, 0644);
MODULE_PARM_DESC(late_async,
		 "SAs whose AEAD is asynchronous may encrypt at device transmit too (default 0: they encrypt before the qdisc; for tests)");

/*
 * An AEAD that may complete later. A SIMD wrapper (crypto/simd.c) of an
 * internal "__" driver is flagged so but completes inline whenever the
 * FPU is usable, which it is in softirq: it counts as synchronous.
 */
static bool esp_aead_async(struct crypto_aead *aead)
{
	const struct crypto_alg *alg = &crypto_aead_alg(aead)->base;
	char internal[CRYPTO_MAX_ALG_NAME];

	if (!(alg->cra_flags & CRYPTO_ALG_ASYNC))
		return false;
	/*
	 * A template instance (authenc(...) over a SIMD cipher) has no
	 * internal twin, and asking for "__authenc(...)" is not free: the
	 * lookup fails into a crypto manager probe for a template named
	 * "__authenc", a kernel thread and a modprobe, on every SA added.
	 */
	if (strchr(alg->cra_driver_name, '('))
		return true;
	if (snprintf(internal, sizeof(internal), "__%s",
		     alg->cra_driver_name) >= sizeof(internal))
		return true;
	return !crypto_has_alg(internal,
			       CRYPTO_ALG_TYPE_AEAD | CRYPTO_ALG_INTERNAL,
			       CRYPTO_ALG_TYPE_MASK | CRYPTO_ALG_INTERNAL |
			       CRYPTO_NOLOAD);
}

/*
 * Some SAs keep off the late path (encryption at device transmit); without
 * a type_offload the core hands their packets to esp_output(), before the
 * qdisc:
 * - TFC padding fills a packet up to the route's MTU, which the early
 *   path knows (the SA's bundle) and the late path does not.
 * - Asynchronous crypto: on a device without a qdisc the core reports a
 *   packet the transmit validation did not finish at once as lost
 *   (ENOMEM), though espah sends it when its crypto is done: the sender
 *   sends it again, and a TCP connection whose every packet completes
 *   asynchronously never advances.
 */
static void esp_keep_early(struct xfrm_state *x, struct crypto_aead *aead)
{
	if (x->type_offload != &espah_esp_type_offload)
		return;
	if (!x->tfcpad &&
	    (READ_ONCE(espah_late_async) || !esp_aead_async(aead)))
		return;
	module_put(x->type_offload->owner);
	x->type_offload = NULL;
}

int esp_init_state(struct xfrm_state *x, struct espah_sa *sa,
		   struct netlink_ext_ack *extack)
{
	struct crypto_aead *aead;
	int err;

	err = esp_check_config(x, extack);
	if (err)
		return err;

	aead = x->aead ? esp_setup_aead(x, extack) :
			 esp_setup_authenc(x, extack);
	if (IS_ERR(aead))
		return PTR_ERR(aead);
	if (crypto_aead_ivsize(aead) > ESP_IV_MAX) {
		NL_SET_ERR_MSG(extack, "espah: the transform's IV is longer than ESP_IV_MAX");
		crypto_free_aead(aead);
		return -EINVAL;
	}

	x->data = aead;
	esp_keep_early(x, aead);
	esp_init_iv(sa, x, crypto_aead_ivsize(aead));
	sa->esp_null = esp_is_null(x, aead);
	esp_req_layout(sa, aead);
	x->props.header_len = esp_header_len(x);
	/* Pad to a block, the pad length and next header bytes, the ICV. */
	x->props.trailer_len = esp_padalign(x) + 1 + esp_icvlen(x);
	return 0;
}

void esp_destroy_state(struct xfrm_state *x)
{
	if (!x->data)
		return;
	/* crypto_free_aead() wipes the transform context, keys included. */
	crypto_free_aead(esp_aead(x));
	x->data = NULL;
}
