// SPDX-License-Identifier: GPL-2.0
/*
 * espah_testcrypt: a test-only AEAD provider that makes the crypto API
 * misbehave on demand, for the ordering, backpressure and error tests.
 *
 * For each algorithm name in "algs" it registers an AEAD of that name
 * with the highest priority, so SAs created while the module is loaded
 * get it. It forwards to the synchronous implementation the kernel had
 * for the name, but:
 *   - every async_every-th request completes later, from a workqueue
 *     (after delay_us), so that requests after it overtake it unless the
 *     caller restores the order;
 *   - every fail_every-th request fails with -fail_errno (at once, or at
 *     completion when it was made asynchronous), so the caller's error
 *     paths run;
 *   - with busy_every, every busy_every-th asynchronous request first
 *     reports -EBUSY (backlogged) and later -EINPROGRESS, as a full
 *     crypto queue does for CRYPTO_TFM_REQ_MAY_BACKLOG.
 * The parameters can be changed at run time under
 * /sys/module/espah_testcrypt/parameters/. Counters of what happened are
 * printed there too (stat_*).
 *
 * Never load this outside a test guest: it makes crypto slow on purpose.
 */
#include <crypto/aead.h>
#include <crypto/internal/aead.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#define TC_MAX_ALGS	8
#define TC_PRIORITY	30000

static char *algs = "rfc4106(gcm(aes));rfc7539esp(chacha20,poly1305);"
		    "authenc(hmac(sha256),cbc(aes));"
		    "authencesn(hmac(sha256),cbc(aes))";
module_param(algs, charp, 0444);
MODULE_PARM_DESC(algs, "semicolon-separated AEAD names to take over");

static unsigned int async_every = 3;
module_param(async_every, uint, 0644);
MODULE_PARM_DESC(async_every, "every Nth request completes asynchronously (0: never)");

static unsigned int delay_us = 200;
module_param(delay_us, uint, 0644);
MODULE_PARM_DESC(delay_us, "how long an asynchronous request waits before it runs");

static unsigned int fail_every;
module_param(fail_every, uint, 0644);
MODULE_PARM_DESC(fail_every, "every Nth request fails (0: never)");

static int fail_errno = EIO;
module_param(fail_errno, int, 0644);
MODULE_PARM_DESC(fail_errno, "the errno (positive) failing requests report");

static unsigned int busy_every;
module_param(busy_every, uint, 0644);
MODULE_PARM_DESC(busy_every, "every Nth asynchronous request reports -EBUSY first (0: never)");

static atomic_t tc_seq = ATOMIC_INIT(0);
static atomic_t stat_async, stat_failed, stat_busy, stat_sync;
module_param_named(stat_async, stat_async.counter, int, 0444);
module_param_named(stat_failed, stat_failed.counter, int, 0444);
module_param_named(stat_busy, stat_busy.counter, int, 0444);
module_param_named(stat_sync, stat_sync.counter, int, 0444);

struct tc_alg {
	struct aead_alg alg;
	char child[CRYPTO_MAX_ALG_NAME];
	bool registered;
};

struct tc_ctx {
	struct crypto_aead *child;
};

struct tc_req {
	struct work_struct work;
	struct aead_request *req;
	bool encrypt;
	bool busy;
	int fail;
	/* last: its context follows */
	struct aead_request subreq;
};

static struct tc_alg tc_algs[TC_MAX_ALGS];
static unsigned int tc_nalgs;
static struct workqueue_struct *tc_wq;

static struct tc_alg *tc_alg_of(struct crypto_aead *tfm)
{
	return container_of(crypto_aead_alg(tfm), struct tc_alg, alg);
}

static int tc_init_tfm(struct crypto_aead *tfm)
{
	struct tc_ctx *ctx = crypto_aead_ctx(tfm);
	struct crypto_aead *child;

	/* the synchronous implementation: asynchrony is ours to make */
	child = crypto_alloc_aead(tc_alg_of(tfm)->child, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(child))
		return PTR_ERR(child);
	ctx->child = child;
	crypto_aead_set_reqsize(tfm, sizeof(struct tc_req) +
				crypto_aead_reqsize(child));
	return 0;
}

static void tc_exit_tfm(struct crypto_aead *tfm)
{
	struct tc_ctx *ctx = crypto_aead_ctx(tfm);

	crypto_free_aead(ctx->child);
}

static int tc_setkey(struct crypto_aead *tfm, const u8 *key,
		     unsigned int keylen)
{
	struct tc_ctx *ctx = crypto_aead_ctx(tfm);

	return crypto_aead_setkey(ctx->child, key, keylen);
}

static int tc_setauthsize(struct crypto_aead *tfm, unsigned int authsize)
{
	struct tc_ctx *ctx = crypto_aead_ctx(tfm);

	return crypto_aead_setauthsize(ctx->child, authsize);
}

static int tc_run_child(struct tc_req *r)
{
	if (r->fail)
		return r->fail;
	return r->encrypt ? crypto_aead_encrypt(&r->subreq) :
			    crypto_aead_decrypt(&r->subreq);
}

static void tc_work(struct work_struct *work)
{
	struct tc_req *r = container_of(work, struct tc_req, work);
	struct aead_request *req = r->req;
	int err;

	if (delay_us)
		usleep_range(delay_us, delay_us + 50);
	local_bh_disable();
	if (r->busy)
		aead_request_complete(req, -EINPROGRESS);
	err = tc_run_child(r);
	aead_request_complete(req, err);
	local_bh_enable();
}

static bool tc_every(unsigned int every, int n)
{
	return every && n % every == 0;
}

static int tc_crypt(struct aead_request *req, bool encrypt)
{
	struct tc_ctx *ctx = crypto_aead_ctx(crypto_aead_reqtfm(req));
	struct tc_req *r = aead_request_ctx(req);
	int n = atomic_inc_return(&tc_seq);

	r->req = req;
	r->encrypt = encrypt;
	r->busy = false;
	r->fail = 0;
	if (tc_every(READ_ONCE(fail_every), n)) {
		atomic_inc(&stat_failed);
		r->fail = -READ_ONCE(fail_errno);
	}
	aead_request_set_tfm(&r->subreq, ctx->child);
	aead_request_set_callback(&r->subreq, 0, NULL, NULL);
	aead_request_set_crypt(&r->subreq, req->src, req->dst, req->cryptlen,
			       req->iv);
	aead_request_set_ad(&r->subreq, req->assoclen);

	if (!tc_every(READ_ONCE(async_every), n)) {
		atomic_inc(&stat_sync);
		return tc_run_child(r);
	}
	atomic_inc(&stat_async);
	INIT_WORK(&r->work, tc_work);
	if ((req->base.flags & CRYPTO_TFM_REQ_MAY_BACKLOG) &&
	    tc_every(READ_ONCE(busy_every), atomic_read(&stat_async))) {
		atomic_inc(&stat_busy);
		r->busy = true;
	}
	queue_work(tc_wq, &r->work);
	return r->busy ? -EBUSY : -EINPROGRESS;
}

static int tc_encrypt(struct aead_request *req)
{
	return tc_crypt(req, true);
}

static int tc_decrypt(struct aead_request *req)
{
	return tc_crypt(req, false);
}

/* Takes over @name, forwarding to what the kernel had for it. */
static int tc_register(const char *name)
{
	struct tc_alg *a = &tc_algs[tc_nalgs];
	struct crypto_aead *probe;
	int err;

	probe = crypto_alloc_aead(name, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(probe)) {
		pr_warn("espah_testcrypt: %s not available (%ld), skipped\n",
			name, PTR_ERR(probe));
		return 0;
	}
	strscpy(a->child, crypto_aead_driver_name(probe), sizeof(a->child));
	a->alg = (struct aead_alg) {
		.setkey		= tc_setkey,
		.setauthsize	= tc_setauthsize,
		.encrypt	= tc_encrypt,
		.decrypt	= tc_decrypt,
		.init		= tc_init_tfm,
		.exit		= tc_exit_tfm,
		.ivsize		= crypto_aead_ivsize(probe),
		.maxauthsize	= crypto_aead_maxauthsize(probe),
		.base = {
			.cra_flags	= CRYPTO_ALG_ASYNC,
			.cra_blocksize	= crypto_aead_blocksize(probe),
			.cra_ctxsize	= sizeof(struct tc_ctx),
			.cra_priority	= TC_PRIORITY,
			.cra_module	= THIS_MODULE,
		},
	};
	crypto_free_aead(probe);
	strscpy(a->alg.base.cra_name, name, sizeof(a->alg.base.cra_name));
	snprintf(a->alg.base.cra_driver_name,
		 sizeof(a->alg.base.cra_driver_name), "espahtest-%u", tc_nalgs);
	err = crypto_register_aead(&a->alg);
	if (err)
		return err;
	a->registered = true;
	tc_nalgs++;
	pr_info("espah_testcrypt: %s -> %s (async every %u, fail every %u)\n",
		name, a->child, async_every, fail_every);
	return 0;
}

static void tc_unregister_all(void)
{
	while (tc_nalgs--)
		if (tc_algs[tc_nalgs].registered)
			crypto_unregister_aead(&tc_algs[tc_nalgs].alg);
	tc_nalgs = 0;
}

static int __init tc_init(void)
{
	char *copy, *p, *name;
	int err = 0;

	tc_wq = alloc_workqueue("espah_testcrypt", WQ_UNBOUND, 0);
	if (!tc_wq)
		return -ENOMEM;
	copy = kstrdup(algs, GFP_KERNEL);
	if (!copy) {
		destroy_workqueue(tc_wq);
		return -ENOMEM;
	}
	p = copy;
	while ((name = strsep(&p, ";")) && tc_nalgs < TC_MAX_ALGS) {
		if (!*name)
			continue;
		err = tc_register(name);
		if (err)
			break;
	}
	kfree(copy);
	if (err) {
		tc_unregister_all();
		destroy_workqueue(tc_wq);
	}
	return err;
}

static void __exit tc_exit(void)
{
	tc_unregister_all();
	destroy_workqueue(tc_wq);
}

module_init(tc_init);
module_exit(tc_exit);
MODULE_DESCRIPTION("espah test helper: AEADs that go asynchronous or fail on demand");
MODULE_LICENSE("GPL");
