// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU request slots (req_cache.h).
 *
 * Taking a slot (llist_del_first) must not race with another taker of the
 * same list: takers only use their own CPU's list, with bottom halves off
 * so that a softirq on this CPU cannot take in the middle. Giving back
 * (llist_add) is safe from any context and any CPU.
 */
#include <linux/bottom_half.h>
#include <linux/llist.h>
#include <linux/percpu.h>
#include <linux/slab.h>

#include "req_cache.h"

struct espah_req_cpu_cache {
	struct llist_head free;
	atomic_t count;
};

static DEFINE_PER_CPU(struct espah_req_cpu_cache, espah_req_caches);

/*
 * A slot of at least @len bytes; *@from says where it came from, to be
 * passed back to espah_req_cache_put(): this CPU's list, or the slab (the
 * list was empty, or @len is larger than a slot).
 */
void *espah_req_cache_get(unsigned int len, int *from)
{
	struct espah_req_cpu_cache *c;
	struct llist_node *n;

	*from = ESPAH_REQ_FROM_SLAB;
	if (unlikely(len > ESPAH_REQ_SLOT))
		return kmalloc(len, GFP_ATOMIC);
	local_bh_disable();
	c = this_cpu_ptr(&espah_req_caches);
	n = llist_del_first(&c->free);
	if (n) {
		atomic_dec(&c->count);
		*from = smp_processor_id();
	}
	local_bh_enable();
	return n ?: kmalloc(ESPAH_REQ_SLOT, GFP_ATOMIC);
}

void espah_req_cache_put(void *p, unsigned int len, int from)
{
	struct espah_req_cpu_cache *c;

	if (unlikely(len > ESPAH_REQ_SLOT)) {
		kfree(p);
		return;
	}
	c = from == ESPAH_REQ_FROM_SLAB ? raw_cpu_ptr(&espah_req_caches) :
					  per_cpu_ptr(&espah_req_caches, from);
	if (atomic_inc_return(&c->count) > ESPAH_REQ_CACHE_MAX) {
		atomic_dec(&c->count);
		kfree(p);
		return;
	}
	llist_add(p, &c->free);
}

static void espah_req_cache_drain(int cpu)
{
	struct espah_req_cpu_cache *c = per_cpu_ptr(&espah_req_caches, cpu);
	struct llist_node *n, *next;

	llist_for_each_safe(n, next, llist_del_all(&c->free))
		kfree_sensitive(n);
	atomic_set(&c->count, 0);
}

/* Warm caches: the first packets need not wait for the slab either. */
int espah_req_cache_init(void)
{
	int cpu, i;
	void *p;

	for_each_possible_cpu(cpu) {
		struct espah_req_cpu_cache *c = per_cpu_ptr(&espah_req_caches,
							    cpu);

		init_llist_head(&c->free);
		for (i = 0; i < ESPAH_REQ_CACHE_PREFILL; i++) {
			p = kmalloc(ESPAH_REQ_SLOT, GFP_KERNEL);
			if (!p)
				goto fail;
			llist_add(p, &c->free);
			atomic_inc(&c->count);
		}
	}
	return 0;
fail:
	espah_req_cache_exit();
	return -ENOMEM;
}

/* Every packet is done by now: each SA held a module reference. */
void espah_req_cache_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		espah_req_cache_drain(cpu);
}
