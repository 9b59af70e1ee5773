// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of espah's failure paths (issue 11 item 3), on the debug
 * kernel's fault injection:
 *
 * - Every memory allocation input() and output() make fails in turn: the
 *   test task's fail-nth (what /proc/thread-self/fail-nth sets; failslab
 *   and fail_page_alloc honour it for GFP_ATOMIC allocations, the data
 *   path's) makes the Nth allocation fail, for N = 1, 2, ... until a packet
 *   goes through without reaching an Nth one. A failure that stops the
 *   packet must be one error return and one drop counted in exactly one
 *   of espah's counters (rx_no_memory / tx_no_memory, or rx/tx_crypto_error
 *   when the crypto layer's own allocation failed); a failure something
 *   absorbs (kmemleak's own metadata falls back to its pool) must leave
 *   the packet right and count nothing; the packet after the last point
 *   must come out right too. kmemleak and KASAN watch for the rest.
 *
 * - A test AEAD registered here, "espah_kunit_fail_aead", fails every
 *   request: synchronously (-EIO), or from a worker after returning
 *   -EINPROGRESS, as an asynchronous driver does. It provokes
 *   rx_crypto_error (sync and async) and tx_crypto_error (sync; an async
 *   output completion resumes into xfrm_output_resume(), which needs the
 *   xfrm route a KUnit skb does not have).
 *
 * Packets are made by the SA itself: the core's mode function and the
 * type's output() (pktgen_xfrm_outer_mode_output(), as the layout suite
 * does), then fed to input() of the SA's inbound twin. espah only: the
 * counters are espah's, so the in-tree stack skips these tests.
 */

#include <crypto/internal/aead.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/ip.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <linux/unaligned.h>
#include <linux/workqueue.h>
#include <net/ip.h>
#include <net/xfrm.h>

#include "espah.h"
#include "espah_kunit_util.h"

#define FAULTS_SPI		0x4641
#define FAULTS_PAYLOAD		200
#define FAULTS_HEADROOM		256
#define FAULTS_MAX_POINTS	200

static const u8 faults_a[4] = { 10, 13, 0, 1 }, faults_b[4] = { 10, 13, 0, 2 };
static const u8 faults_key[36] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
				   0xff, 0x10, 0x20, 0x30, 0x40, 0x50 };

enum faults_alg { FAULTS_GCM, FAULTS_AH, FAULTS_FAILING };

static void faults_need_espah(struct kunit *test)
{
	if (!espah_kunit_impl_is_espah())
		kunit_skip(test, "espah's drop counters");
#ifndef CONFIG_FAULT_INJECTION
	kunit_skip(test, "no CONFIG_FAULT_INJECTION in this kernel");
#endif
}

/* ------------------------------------------------------------ the test AEAD */

static struct workqueue_struct *faults_wq;
static bool faults_aead_async;
static DECLARE_COMPLETION(faults_aead_done);

struct faults_aead_req {
	struct work_struct work;
	struct aead_request *req;
};

static void faults_aead_complete(struct work_struct *work)
{
	struct faults_aead_req *r = container_of(work, struct faults_aead_req,
						 work);

	/* as cryptd completes: with bottom halves off */
	local_bh_disable();
	aead_request_complete(r->req, -EIO);
	local_bh_enable();
	complete(&faults_aead_done);
}

static int faults_aead_fail(struct aead_request *req)
{
	struct faults_aead_req *r = aead_request_ctx(req);

	if (!READ_ONCE(faults_aead_async))
		return -EIO;
	r->req = req;
	INIT_WORK(&r->work, faults_aead_complete);
	queue_work(faults_wq, &r->work);
	return -EINPROGRESS;
}

static int faults_aead_init(struct crypto_aead *tfm)
{
	crypto_aead_set_reqsize(tfm, sizeof(struct faults_aead_req));
	return 0;
}

static int faults_aead_setkey(struct crypto_aead *tfm, const u8 *key,
			      unsigned int len)
{
	return 0;
}

static int faults_aead_setauthsize(struct crypto_aead *tfm,
				   unsigned int authsize)
{
	return 0;
}

static struct aead_alg faults_aead_alg = {
	.setkey = faults_aead_setkey,
	.setauthsize = faults_aead_setauthsize,
	.encrypt = faults_aead_fail,
	.decrypt = faults_aead_fail,
	.init = faults_aead_init,
	.ivsize = 8,
	.maxauthsize = 16,
	.base = {
		.cra_name = "espah_kunit_fail_aead",
		.cra_driver_name = "espah_kunit_fail_aead-generic",
		.cra_priority = 100,
		.cra_flags = CRYPTO_ALG_ASYNC,
		.cra_blocksize = 1,
		.cra_module = THIS_MODULE,
	},
};

/* ------------------------------------------------------------ SAs, packets */

static void faults_drops_all(struct kunit *test, struct xfrm_state *x,
			     u64 *out)
{
	int i;

	for (i = 0; i < ESPAH_DROP_MAX; i++)
		out[i] = espah_kunit_drop_count(test, x, i);
}

static int faults_attach_failing(struct xfrm_state *x)
{
	struct xfrm_algo_aead *p;

	p = kzalloc(sizeof(*p) + 20, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	strscpy(p->alg_name, faults_aead_alg.base.cra_name, sizeof(p->alg_name));
	p->alg_key_len = 160;
	p->alg_icv_len = 128;
	memcpy(p->alg_key, faults_key, 20);
	x->aead = p;
	/* no IV generator: espah asks the crypto API for the name itself */
	x->geniv = NULL;
	return 0;
}

/* An initialised IPv4 transport-mode SA from @src to @dst. */
static struct xfrm_state *faults_state(struct kunit *test, enum faults_alg alg,
				       const u8 *src, const u8 *dst)
{
	const struct espah_kunit_sa_id id = {
		.proto = alg == FAULTS_AH ? IPPROTO_AH : IPPROTO_ESP,
		.family = 4, .mode = XFRM_MODE_TRANSPORT, .spi = FAULTS_SPI,
		.saddr = src, .daddr = dst,
	};
	const struct espah_kv_alg gcm = {
		.name = "rfc4106(gcm(aes))", .key = faults_key, .key_len = 20,
		.bits = 128,
	};
	const struct espah_kv_alg hmac = {
		.name = "hmac(sha256)", .key = faults_key, .key_len = 32,
		.bits = 128,
	};
	struct xfrm_state *x = espah_kunit_state_alloc(test, &id);
	int err;

	if (alg == FAULTS_GCM)
		err = espah_kunit_attach_aead(x, &gcm);
	else if (alg == FAULTS_AH)
		err = espah_kunit_attach_auth(x, &hmac, false);
	else
		err = faults_attach_failing(x);
	KUNIT_ASSERT_EQ(test, err, 0);
	err = xfrm_init_state(x);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "xfrm_init_state");
	return x;
}

/*
 * An IPv4 UDP packet as the stack hands it to the mode: the headers in
 * the linear part, the payload (with @frag) in a page fragment, so that
 * output() has to make the packet its own.
 */
static struct sk_buff *faults_inner_skb(struct kunit *test, bool frag)
{
	unsigned int hlen = sizeof(struct iphdr) + sizeof(struct udphdr);
	unsigned int len = hlen + FAULTS_PAYLOAD;
	struct sk_buff *skb;
	struct iphdr *iph;
	struct page *pg;

	skb = alloc_skb(FAULTS_HEADROOM + len + 64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_reserve(skb, FAULTS_HEADROOM);
	iph = skb_put_zero(skb, frag ? hlen : len);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, sizeof(*iph));
	memset(skb->cb, 0, sizeof(skb->cb));
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->protocol = IPPROTO_UDP;
	iph->tot_len = htons(len);
	memcpy(&iph->saddr, faults_a, 4);
	memcpy(&iph->daddr, faults_b, 4);
	iph->check = ip_fast_csum((u8 *)iph, iph->ihl);
	skb->protocol = htons(ETH_P_IP);
	IPCB(skb)->flags |= IPSKB_XFRM_TUNNEL_SIZE;
	if (frag) {
		pg = alloc_page(GFP_KERNEL);
		if (!pg) {
			kfree_skb(skb);
			KUNIT_ASSERT_NOT_NULL(test, pg);
		}
		memset(page_address(pg), 0x5a, FAULTS_PAYLOAD);
		skb_add_rx_frag(skb, 0, pg, 0, FAULTS_PAYLOAD, PAGE_SIZE);
	}
	return skb;
}

/* The mode's part of output, as xfrm_output() does it before the type's. */
static struct sk_buff *faults_tx_skb(struct kunit *test, struct xfrm_state *x,
				     bool frag)
{
	struct sk_buff *skb = faults_inner_skb(test, frag);
	int err = pktgen_xfrm_outer_mode_output(x, skb);

	if (err) {
		kfree_skb(skb);
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "the core's mode output");
	}
	XFRM_SKB_CB(skb)->seq.output.low = 1;
	XFRM_SKB_CB(skb)->seq.output.hi = 0;
	return skb;
}

/* One packet made by @x's output(), as bytes from the IP header on. */
static u8 *faults_make_packet(struct kunit *test, struct xfrm_state *x,
			      unsigned int *len)
{
	struct sk_buff *skb = faults_tx_skb(test, x, false);
	u8 *pkt;
	int err;

	err = x->type->output(x, skb);
	if (err) {
		kfree_skb(skb);
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "output() of the packet to decrypt");
	}
	*len = skb->len;
	pkt = kunit_kmalloc(test, skb->len, GFP_KERNEL);
	if (!pkt || skb_copy_bits(skb, 0, pkt, skb->len)) {
		kfree_skb(skb);
		KUNIT_ASSERT_TRUE_MSG(test, false, "cannot copy the packet");
	}
	/* the IP layer's part, after the transform */
	((struct iphdr *)pkt)->tot_len = htons(skb->len);
	kfree_skb(skb);
	return pkt;
}

/*
 * The received packet as input() gets it, with all but the first 8 bytes
 * of the ESP/AH part in a page fragment (input() has to make it its own).
 */
static struct sk_buff *faults_rx_skb(struct kunit *test, struct xfrm_state *x,
				     const u8 *pkt, unsigned int len)
{
	unsigned int hoff = sizeof(struct iphdr), lin = 8;
	struct sk_buff *skb;
	struct page *pg;

	skb = espah_kunit_rx_skb(test, x, pkt, hoff, lin, 1, 0);
	pg = alloc_page(GFP_KERNEL);
	if (!pg) {
		kfree_skb(skb);
		KUNIT_ASSERT_NOT_NULL(test, pg);
	}
	memcpy(page_address(pg), pkt + hoff + lin, len - hoff - lin);
	skb_add_rx_frag(skb, 0, pg, 0, len - hoff - lin, PAGE_SIZE);
	return skb;
}

/* ------------------------------------------------------------ fail-nth sweeps */

#ifdef CONFIG_FAULT_INJECTION
static void faults_arm(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

/* Disarms; whether the armed failure happened. */
static bool faults_disarm(void)
{
	bool injected = READ_ONCE(current->fail_nth) == 0;

	WRITE_ONCE(current->fail_nth, 0);
	return injected;
}
#else
static void faults_arm(unsigned int n) { }
static bool faults_disarm(void) { return false; }
#endif

/*
 * After a failure at point @n that returned @ret: exactly one counter rose,
 * by one, and it is @nomem, or @crypto for a failure inside the crypto
 * layer (which returns its own errno).
 */
static void faults_expect_one_drop(struct kunit *test, struct xfrm_state *x,
				   const u64 *before, unsigned int n, int ret,
				   enum espah_drop nomem, enum espah_drop crypto)
{
	u64 after[ESPAH_DROP_MAX];
	int i, rose = -1, nrose = 0;

	faults_drops_all(test, x, after);
	for (i = 0; i < ESPAH_DROP_MAX; i++) {
		if (after[i] == before[i])
			continue;
		nrose++;
		rose = i;
		KUNIT_EXPECT_EQ_MSG(test, after[i], before[i] + 1,
				    "failure %u: counter %d rose by more than one", n, i);
	}
	KUNIT_EXPECT_EQ_MSG(test, nrose, 1,
			    "failure %u (returned %d): %d counters rose, want exactly one",
			    n, ret, nrose);
	KUNIT_EXPECT_TRUE_MSG(test, rose == nomem || rose == crypto,
			      "failure %u (returned %d) counted as reason %d, want %d or %d",
			      n, ret, rose, nomem, crypto);
	KUNIT_EXPECT_LT_MSG(test, ret, 0, "failure %u returned %d", n, ret);
	KUNIT_EXPECT_NE_MSG(test, ret, -EINPROGRESS, "failure %u", n);
	if (rose == crypto)
		kunit_info(test, "failure %u: inside the crypto layer, counted as crypto error (%d)",
			   n, ret);
}

/* A failure something below absorbed: the packet is right, nothing counted. */
static void faults_expect_absorbed(struct kunit *test, struct xfrm_state *x,
				   const u64 *before, unsigned int n, int ret,
				   int want)
{
	u64 after[ESPAH_DROP_MAX];
	int i;

	faults_drops_all(test, x, after);
	for (i = 0; i < ESPAH_DROP_MAX; i++)
		KUNIT_EXPECT_EQ_MSG(test, after[i], before[i],
				    "failure %u went through (%d) but counter %d rose",
				    n, ret, i);
	KUNIT_EXPECT_EQ_MSG(test, ret, want, "failure %u absorbed below", n);
}

static void faults_report(struct kunit *test, const char *what, unsigned int n,
			  unsigned int dropped)
{
	/*
	 * Paths whose requests come from the per-CPU caches allocate nothing
	 * per packet: no failure reaches espah there, and that is the point.
	 */
	if (!dropped)
		kunit_info(test, "%s: no allocation of espah's on this path failed",
			   what);
	KUNIT_EXPECT_LE(test, n, (unsigned int)FAULTS_MAX_POINTS);
	kunit_info(test, "%s: %u allocation failures injected, %u dropped the packet (each counted once), %u absorbed below",
		   what, n - 1, dropped, n - 1 - dropped);
}

static void faults_rx_sweep(struct kunit *test, enum faults_alg alg, int want)
{
	struct xfrm_state *out, *in;
	u64 before[ESPAH_DROP_MAX];
	unsigned int len, n, dropped = 0;
	struct sk_buff *skb;
	bool injected;
	u8 *pkt;
	int ret;

	faults_need_espah(test);
	out = faults_state(test, alg, faults_a, faults_b);
	in = faults_state(test, alg, faults_a, faults_b);
	pkt = faults_make_packet(test, out, &len);

	for (n = 1; n <= FAULTS_MAX_POINTS; n++) {
		skb = faults_rx_skb(test, in, pkt, len);
		faults_drops_all(test, in, before);
		faults_arm(n);
		ret = espah_kunit_input(test, in, skb);
		injected = faults_disarm();
		if (ret == -EINPROGRESS)
			return;
		kfree_skb(skb);
		if (!injected) {
			KUNIT_EXPECT_EQ_MSG(test, ret, want,
					    "the packet after the last failure point");
			break;
		}
		if (ret == want) {
			faults_expect_absorbed(test, in, before, n, ret, want);
			continue;
		}
		dropped++;
		faults_expect_one_drop(test, in, before, n, ret, ESPAH_RX_NOMEM,
				       ESPAH_RX_CRYPTO);
	}
	faults_report(test, "input()", n, dropped);
}

static void faults_tx_sweep(struct kunit *test, enum faults_alg alg)
{
	u64 before[ESPAH_DROP_MAX];
	unsigned int n, dropped = 0;
	struct sk_buff *skb;
	struct xfrm_state *x;
	bool injected;
	int ret;

	faults_need_espah(test);
	x = faults_state(test, alg, faults_a, faults_b);
	for (n = 1; n <= FAULTS_MAX_POINTS; n++) {
		skb = faults_tx_skb(test, x, true);
		faults_drops_all(test, x, before);
		faults_arm(n);
		ret = x->type->output(x, skb);
		injected = faults_disarm();
		if (ret == -EINPROGRESS)
			kunit_skip(test, "output went asynchronous");
		kfree_skb(skb);
		if (!injected) {
			KUNIT_EXPECT_EQ_MSG(test, ret, 0,
					    "the packet after the last failure point");
			break;
		}
		if (!ret) {
			faults_expect_absorbed(test, x, before, n, ret, 0);
			continue;
		}
		dropped++;
		faults_expect_one_drop(test, x, before, n, ret, ESPAH_TX_NOMEM,
				       ESPAH_TX_CRYPTO);
	}
	faults_report(test, "output()", n, dropped);
}

static void faults_esp_input_nomem(struct kunit *test)
{
	faults_rx_sweep(test, FAULTS_GCM, IPPROTO_UDP);
}

static void faults_esp_output_nomem(struct kunit *test)
{
	faults_tx_sweep(test, FAULTS_GCM);
}

static void faults_ah_input_nomem(struct kunit *test)
{
	faults_rx_sweep(test, FAULTS_AH, IPPROTO_UDP);
}

static void faults_ah_output_nomem(struct kunit *test)
{
	faults_tx_sweep(test, FAULTS_AH);
}

/* ------------------------------------------------------------ crypto errors */

/* A packet for the failing AEAD: header, 8-byte IV, 16 bytes, 16-byte ICV. */
static struct sk_buff *faults_failing_rx_skb(struct kunit *test,
					     struct xfrm_state *x)
{
	u8 pkt[20 + 8 + 8 + 16 + 16] = { 0x45, 0, 0, sizeof(pkt), 0, 0, 0, 0,
					 64, IPPROTO_ESP, 0, 0 };

	memcpy(pkt + 12, faults_a, 4);
	memcpy(pkt + 16, faults_b, 4);
	put_unaligned_be32(FAULTS_SPI, pkt + 20);
	put_unaligned_be32(1, pkt + 24);
	return espah_kunit_rx_skb(test, x, pkt, 20, sizeof(pkt) - 20, 1, 0);
}

/* An SA of the failing AEAD, which fails now synchronously or not. */
static struct xfrm_state *faults_failing_state(struct kunit *test, bool async)
{
	faults_need_espah(test);
	WRITE_ONCE(faults_aead_async, async);
	reinit_completion(&faults_aead_done);
	return faults_state(test, FAULTS_FAILING, faults_a, faults_b);
}

/* The one drop a crypto failure makes: @why, and no ICV mismatch. */
static void faults_expect_crypto_drop(struct kunit *test, struct xfrm_state *x,
				      enum espah_drop why)
{
	KUNIT_EXPECT_EQ(test, espah_kunit_drop_count(test, x, why), 1);
	KUNIT_EXPECT_EQ(test, espah_kunit_drop_count(test, x, ESPAH_RX_ICV), 0);
}

static void faults_rx_crypto_error_sync(struct kunit *test)
{
	struct xfrm_state *x = faults_failing_state(test, false);
	struct sk_buff *skb = faults_failing_rx_skb(test, x);
	int ret = espah_kunit_input(test, x, skb);

	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, ret, -EIO);
	faults_expect_crypto_drop(test, x, ESPAH_RX_CRYPTO);
}

/*
 * The completion resumes into xfrm_input(), which takes the skb (and drops
 * it: the KUnit state is not a valid inserted one) and the device
 * reference xfrm_input() holds across asynchronous input().
 */
static void faults_rx_crypto_error_async(struct kunit *test)
{
	struct xfrm_state *x = faults_failing_state(test, true);
	struct sk_buff *skb = faults_failing_rx_skb(test, x);
	int ret;

	dev_hold(skb->dev);
	ret = x->type->input(x, skb);
	if (ret != -EINPROGRESS) {
		dev_put(skb->dev);
		kfree_skb(skb);
		KUNIT_FAIL(test, "input() returned %d, want -EINPROGRESS", ret);
		return;
	}
	KUNIT_ASSERT_TRUE_MSG(test,
			      wait_for_completion_timeout(&faults_aead_done, 10 * HZ),
			      "the asynchronous completion never ran");
	faults_expect_crypto_drop(test, x, ESPAH_RX_CRYPTO);
}

static void faults_tx_crypto_error_sync(struct kunit *test)
{
	struct xfrm_state *x = faults_failing_state(test, false);
	struct sk_buff *skb = faults_tx_skb(test, x, false);
	int ret = x->type->output(x, skb);

	kfree_skb(skb);
	KUNIT_EXPECT_EQ(test, ret, -EIO);
	faults_expect_crypto_drop(test, x, ESPAH_TX_CRYPTO);
}

static int faults_suite_init(struct kunit_suite *suite)
{
	int err;

	faults_wq = alloc_workqueue("espah_kunit_faults", 0, 0);
	if (!faults_wq)
		return -ENOMEM;
	err = crypto_register_aead(&faults_aead_alg);
	if (err)
		destroy_workqueue(faults_wq);
	return err;
}

static void faults_suite_exit(struct kunit_suite *suite)
{
	/* the states' transforms go with the states, freed by the xfrm GC */
	xfrm_flush_gc();
	flush_workqueue(faults_wq);
	crypto_unregister_aead(&faults_aead_alg);
	destroy_workqueue(faults_wq);
}

static struct kunit_case espah_faults_cases[] = {
	KUNIT_CASE(faults_esp_input_nomem),
	KUNIT_CASE(faults_esp_output_nomem),
	KUNIT_CASE(faults_ah_input_nomem),
	KUNIT_CASE(faults_ah_output_nomem),
	KUNIT_CASE(faults_rx_crypto_error_sync),
	KUNIT_CASE(faults_rx_crypto_error_async),
	KUNIT_CASE(faults_tx_crypto_error_sync),
	{}
};

static struct kunit_suite espah_faults_suite = {
	.name = "espah_faults",
	.suite_init = faults_suite_init,
	.suite_exit = faults_suite_exit,
	.test_cases = espah_faults_cases,
};

kunit_test_suite(espah_faults_suite);
