// SPDX-License-Identifier: GPL-2.0
/*
 * Per-SA records (sa.h): a hash table keyed by the xfrm_state's address.
 */
#include <linux/percpu.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>

#include "sa.h"

static struct rhashtable espah_sa_table;

static const struct rhashtable_params espah_sa_params = {
	.key_len		= sizeof(const struct xfrm_state *),
	.key_offset		= offsetof(struct espah_sa, x),
	.head_offset		= offsetof(struct espah_sa, node),
	.automatic_shrinking	= true,
};

struct espah_sa *espah_sa_find(const struct xfrm_state *x)
{
	struct espah_sa *sa;

	rcu_read_lock();
	sa = rhashtable_lookup(&espah_sa_table, &x, espah_sa_params);
	rcu_read_unlock();
	return sa;
}

struct espah_sa *espah_sa_add(struct xfrm_state *x)
{
	struct espah_sa *sa;
	int err;

	sa = kzalloc(sizeof(*sa), GFP_KERNEL);
	if (!sa)
		return ERR_PTR(-ENOMEM);
	sa->counters = alloc_percpu(struct espah_counters);
	if (!sa->counters) {
		kfree(sa);
		return ERR_PTR(-ENOMEM);
	}
	sa->x = x;
	write_pnet(&sa->net, xs_net(x));
	sa->daddr = x->id.daddr;
	sa->spi = x->id.spi;
	sa->family = x->props.family;
	sa->proto = x->id.proto;
	espah_order_init(&sa->order[ESPAH_TX]);
	espah_order_init(&sa->order[ESPAH_RX]);

	err = rhashtable_insert_fast(&espah_sa_table, &sa->node,
				     espah_sa_params);
	if (err) {
		free_percpu(sa->counters);
		kfree(sa);
		return ERR_PTR(err);
	}
	return sa;
}

static void espah_sa_free(struct rcu_head *rcu)
{
	struct espah_sa *sa = container_of(rcu, struct espah_sa, rcu);

	free_percpu(sa->counters);
	kfree_sensitive(sa);
}

/* The core destroys a state only once no packet holds it any more. */
void espah_sa_del(struct xfrm_state *x)
{
	struct espah_sa *sa;

	rcu_read_lock();
	sa = rhashtable_lookup(&espah_sa_table, &x, espah_sa_params);
	if (sa && !rhashtable_remove_fast(&espah_sa_table, &sa->node,
					  espah_sa_params)) {
		WARN_ON_ONCE(!espah_order_idle(&sa->order[ESPAH_TX]) ||
			     !espah_order_idle(&sa->order[ESPAH_RX]));
		call_rcu(&sa->rcu, espah_sa_free);
	}
	rcu_read_unlock();
}

void espah_sa_walk(void (*fn)(const struct espah_sa *sa, void *arg),
		   void *arg)
{
	struct rhashtable_iter iter;
	struct espah_sa *sa;

	rhashtable_walk_enter(&espah_sa_table, &iter);
	rhashtable_walk_start(&iter);
	while ((sa = rhashtable_walk_next(&iter))) {
		if (!IS_ERR(sa))
			fn(sa, arg);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}

int espah_sa_init(void)
{
	return rhashtable_init(&espah_sa_table, &espah_sa_params);
}

/* Every SA is gone by now: each held a reference on the module. */
void espah_sa_exit(void)
{
	rcu_barrier();
	rhashtable_destroy(&espah_sa_table);
}
