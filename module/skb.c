// SPDX-License-Identifier: GPL-2.0
/*
 * skb helpers (skb.h).
 */
#include <linux/gfp.h>
#include <linux/interrupt.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>

#include "skb.h"

/* skb_to_sgvec() gives up on frag lists nested deeper than this. */
#define ESPAH_MAX_FRAG_DEPTH	24

static int espah_skb_nsg_depth(struct sk_buff *skb, unsigned int depth)
{
	struct sk_buff *frag;
	int n = 1 + skb_shinfo(skb)->nr_frags;
	int m;

	if (unlikely(depth > ESPAH_MAX_FRAG_DEPTH))
		return -EMSGSIZE;
	skb_walk_frags(skb, frag) {
		m = espah_skb_nsg_depth(frag, depth + 1);
		if (unlikely(m < 0))
			return m;
		n += m;
	}
	return n;
}

/*
 * Upper bound of the scatterlist entries skb_to_sgvec() fills for @skb:
 * one for the linear part, one per page fragment, and as much again for
 * every skb on the frag list; -EMSGSIZE if it nests too deep to map.
 */
int espah_skb_nsg(struct sk_buff *skb)
{
	return espah_skb_nsg_depth(skb, 0);
}

/*
 * espah's own page frag caches, per CPU and use. A cache cuts pieces from
 * a page and, once every piece was let go (no reference but its own
 * left), cuts from the same page again instead of asking the page
 * allocator for a new one, which on kernels with init_on_alloc (Debian's
 * default) clears every page it hands out: for output, whose pieces die
 * when the device sent them, that clearing was a copy's worth of work per
 * packet. The reuse test counts every reference, so a page a tap's clone
 * still holds is never handed out again.
 */
static DEFINE_PER_CPU(struct page_frag_cache, espah_frag_cache[ESPAH_FRESH_USES]);

static void *espah_frag_alloc(unsigned int len, enum espah_fresh_use use)
{
	void *va;

	/* the caches are guarded by disabling bottom halves */
	if (unlikely(in_hardirq() || irqs_disabled()))
		return netdev_alloc_frag(len);
	local_bh_disable();
	va = page_frag_alloc(this_cpu_ptr(&espah_frag_cache[use]), len,
			     GFP_ATOMIC);
	local_bh_enable();
	return va;
}

/* At unload, every packet done: the caches let go of their pages. */
void espah_fresh_exit(void)
{
	struct page_frag_cache *nc;
	int cpu, use;

	for_each_possible_cpu(cpu) {
		for (use = 0; use < ESPAH_FRESH_USES; use++) {
			nc = per_cpu_ptr(&espah_frag_cache[use], cpu);
			if (nc->va)
				__page_frag_cache_drain(virt_to_head_page(nc->va),
							nc->pagecnt_bias);
			nc->va = NULL;
		}
	}
}

/*
 * @len bytes of fresh memory in page-sized pieces from espah's page frag
 * cache for @use: nobody else holds these pages, so crypto may write them.
 */
int espah_fresh_alloc(struct espah_fresh *f, unsigned int len,
		      enum espah_fresh_use use)
{
	unsigned int chunk;
	void *va;

	f->nr = 0;
	f->len = len;
	while (len) {
		if (unlikely(f->nr == ESPAH_FRESH_MAX)) {
			espah_fresh_free(f, false);
			return -EMSGSIZE;
		}
		chunk = min_t(unsigned int, len, PAGE_SIZE);
		va = espah_frag_alloc(SKB_DATA_ALIGN(chunk), use);
		if (unlikely(!va)) {
			espah_fresh_free(f, false);
			return -ENOMEM;
		}
		f->frag[f->nr].page = virt_to_head_page(va);
		f->frag[f->nr].off = va - page_address(f->frag[f->nr].page);
		f->frag[f->nr].len = chunk;
		f->nr++;
		len -= chunk;
	}
	return 0;
}

/*
 * Gives the pages back. @wipe: they hold plaintext of a packet that failed
 * its integrity check, which must not linger in freed memory.
 */
void espah_fresh_free(struct espah_fresh *f, bool wipe)
{
	unsigned int i;

	for (i = 0; i < f->nr; i++) {
		if (wipe)
			memzero_explicit(page_address(f->frag[i].page) +
					 f->frag[i].off, f->frag[i].len);
		put_page(f->frag[i].page);
	}
	f->nr = 0;
}

/* Maps the first @len bytes of @f; returns the entries used. */
int espah_fresh_to_sg(const struct espah_fresh *f, struct scatterlist *sg,
		      unsigned int len)
{
	unsigned int i, n;

	for (i = 0; i < f->nr && len; i++) {
		n = min(len, f->frag[i].len);
		sg_set_page(&sg[i], f->frag[i].page, n, f->frag[i].off);
		len -= n;
	}
	return i;
}

/*
 * Appends @f, one piece, after @skb's page fragments; the caller made sure
 * there is a slot and no frag list. The page's reference passes to the
 * skb; truesize is left alone, as in espah_skb_replace_payload().
 */
void espah_skb_append_fresh(struct sk_buff *skb, struct espah_fresh *f)
{
	skb_fill_page_desc(skb, skb_shinfo(skb)->nr_frags, f->frag[0].page,
			   f->frag[0].off, f->frag[0].len);
	skb->len += f->frag[0].len;
	skb->data_len += f->frag[0].len;
	f->nr = 0;
}

/*
 * Lets go of @skb's page fragments and frag list as skb_release_data()
 * would: zerocopy senders are told their buffers are done with (espah has
 * read them), and fragments whose references a zerocopy owner manages
 * are not ours to put.
 */
static void espah_skb_release_frags(struct sk_buff *skb)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	bool managed = skb_zcopy_managed(skb);
	int i;

	if (skb_zcopy(skb))
		skb_zcopy_clear(skb, true);
	if (!managed)
		for (i = 0; i < shinfo->nr_frags; i++)
			skb_frag_unref(skb, i);
	shinfo->nr_frags = 0;
	if (skb_has_frag_list(skb)) {
		kfree_skb_list(shinfo->frag_list);
		shinfo->frag_list = NULL;
	}
}

/*
 * Makes @skb end @keep bytes after skb->data, in its head, and carry the
 * first @len bytes of @f after that instead of its old payload. The skb
 * must not be a clone (its shared info becomes ours to change) and @keep
 * must lie in the head. The pages' references pass to the skb. truesize
 * is left alone: it was charged to a socket, and the new payload is the
 * old one's size give or take a trailer.
 */
void espah_skb_replace_payload(struct sk_buff *skb, unsigned int keep,
			       struct espah_fresh *f, unsigned int len)
{
	unsigned int i, n;

	espah_skb_release_frags(skb);
	skb->data_len = 0;
	skb->len = keep;
	skb_set_tail_pointer(skb, keep);
	for (i = 0; i < f->nr; i++) {
		n = min(len, f->frag[i].len);
		if (n)
			skb_fill_page_desc(skb, skb_shinfo(skb)->nr_frags,
					   f->frag[i].page, f->frag[i].off, n);
		else
			put_page(f->frag[i].page);
		skb->len += n;
		skb->data_len += n;
		len -= n;
	}
	f->nr = 0;
}
