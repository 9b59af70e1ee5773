// SPDX-License-Identifier: GPL-2.0
/*
 * Drop counters. Each SA gets a record in a hash table keyed by its
 * xfrm_state, because an ESP SA's xfrm_state::data must stay the bare AEAD
 * transform the xfrm core expects; the record carries what identifies the
 * SA to a reader (protocol, family, SPI, destination) so /proc never has
 * to touch a state that may be dying.
 */
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/rhashtable.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "stats.h"

static const char * const espah_drop_names[ESPAH_DROP_MAX] = {
	[ESPAH_RX_TRUNCATED]	= "rx_truncated",
	[ESPAH_RX_BAD_LENGTH]	= "rx_bad_length",
	[ESPAH_RX_BAD_HEADER]	= "rx_bad_header",
	[ESPAH_RX_ICV]		= "rx_icv_mismatch",
	[ESPAH_RX_BAD_PADDING]	= "rx_bad_padding",
	[ESPAH_RX_DUMMY]	= "rx_dummy",
	[ESPAH_RX_NOMEM]	= "rx_no_memory",
	[ESPAH_RX_CRYPTO]	= "rx_crypto_error",
	[ESPAH_RX_HDR_MISMATCH]	= "rx_header_mismatch",
	[ESPAH_TX_TOO_BIG]	= "tx_too_big",
	[ESPAH_TX_NOMEM]	= "tx_no_memory",
	[ESPAH_TX_CRYPTO]	= "tx_crypto_error",
	[ESPAH_TX_HDR_MISMATCH]	= "tx_header_mismatch",
};

struct espah_counters {
	u64 drops[ESPAH_DROP_MAX];
};

struct espah_sa_stats {
	struct rhash_head node;
	const struct xfrm_state *x;
	possible_net_t net;
	struct espah_counters __percpu *counters;
	xfrm_address_t daddr;
	__be32 spi;
	u16 family;
	u8 proto;
	struct rcu_head rcu;
};

struct espah_net {
	/*
	 * What the data path sees, under rcu_read_lock(): NULL once the
	 * namespace is going away. (sparse takes no __rcu on a __percpu.)
	 */
	struct espah_counters __percpu *total;
	/* What the namespace owns, freed after the data path let go. */
	struct espah_counters __percpu *owned;
};

static unsigned int espah_net_id __read_mostly;
static struct rhashtable espah_sa_table;

static const struct rhashtable_params espah_sa_params = {
	.key_len		= sizeof(const struct xfrm_state *),
	.key_offset		= offsetof(struct espah_sa_stats, x),
	.head_offset		= offsetof(struct espah_sa_stats, node),
	.automatic_shrinking	= true,
};

void espah_stats_count(const struct xfrm_state *x, enum espah_drop why)
{
	struct espah_net *en = net_generic(xs_net((struct xfrm_state *)x),
					   espah_net_id);
	struct espah_counters __percpu *total;
	struct espah_sa_stats *s;

	rcu_read_lock();
	total = READ_ONCE(en->total);
	if (total)
		this_cpu_inc(total->drops[why]);
	s = rhashtable_lookup(&espah_sa_table, &x, espah_sa_params);
	if (s)
		this_cpu_inc(s->counters->drops[why]);
	rcu_read_unlock();
}

/*
 * One drop counter of @x, summed over the CPUs: what /proc/net/espah shows
 * for the SA. Exported for the KUnit suites, which find it with
 * symbol_get() so that they also load without espah.
 */
u64 espah_drop_count(const struct xfrm_state *x, enum espah_drop why)
{
	struct espah_sa_stats *s;
	u64 sum = 0;
	int cpu;

	rcu_read_lock();
	s = rhashtable_lookup(&espah_sa_table, &x, espah_sa_params);
	if (s)
		for_each_possible_cpu(cpu)
			sum += per_cpu_ptr(s->counters, cpu)->drops[why];
	rcu_read_unlock();
	return sum;
}
EXPORT_SYMBOL_GPL(espah_drop_count);

int espah_stats_add_sa(struct xfrm_state *x)
{
	struct espah_sa_stats *s;
	int err;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->counters = alloc_percpu(struct espah_counters);
	if (!s->counters) {
		kfree(s);
		return -ENOMEM;
	}
	s->x = x;
	write_pnet(&s->net, xs_net(x));
	s->daddr = x->id.daddr;
	s->spi = x->id.spi;
	s->family = x->props.family;
	s->proto = x->id.proto;

	err = rhashtable_insert_fast(&espah_sa_table, &s->node, espah_sa_params);
	if (err) {
		free_percpu(s->counters);
		kfree(s);
	}
	return err;
}

static void espah_sa_stats_free(struct rcu_head *rcu)
{
	struct espah_sa_stats *s = container_of(rcu, struct espah_sa_stats, rcu);

	free_percpu(s->counters);
	kfree(s);
}

void espah_stats_del_sa(struct xfrm_state *x)
{
	struct espah_sa_stats *s;

	rcu_read_lock();
	s = rhashtable_lookup(&espah_sa_table, &x, espah_sa_params);
	if (s && !rhashtable_remove_fast(&espah_sa_table, &s->node,
					 espah_sa_params))
		call_rcu(&s->rcu, espah_sa_stats_free);
	rcu_read_unlock();
}

static void espah_sum(struct espah_counters __percpu *pc, u64 *sum)
{
	int cpu, i;

	memset(sum, 0, sizeof(u64) * ESPAH_DROP_MAX);
	for_each_possible_cpu(cpu)
		for (i = 0; i < ESPAH_DROP_MAX; i++)
			sum[i] += per_cpu_ptr(pc, cpu)->drops[i];
}

static void espah_show_counts(struct seq_file *seq,
			      struct espah_counters __percpu *pc)
{
	u64 sum[ESPAH_DROP_MAX];
	int i;

	espah_sum(pc, sum);
	for (i = 0; i < ESPAH_DROP_MAX; i++)
		seq_printf(seq, " %llu", sum[i]);
	seq_putc(seq, '\n');
}

static void espah_show_sa(struct seq_file *seq, const struct espah_sa_stats *s)
{
	seq_printf(seq, "%s %s 0x%08x ", s->proto == IPPROTO_ESP ? "esp" : "ah",
		   s->family == AF_INET6 ? "ipv6" : "ipv4", ntohl(s->spi));
	if (s->family == AF_INET6)
		seq_printf(seq, "%pI6c", &s->daddr.in6);
	else
		seq_printf(seq, "%pI4", &s->daddr.a4);
	espah_show_counts(seq, s->counters);
}

/*
 * One header line naming the columns, one line per SA of this namespace,
 * then a "total" line for the namespace (SAs already gone included).
 */
static int espah_proc_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct espah_net *en = net_generic(net, espah_net_id);
	struct espah_counters __percpu *total;
	struct rhashtable_iter iter;
	struct espah_sa_stats *s;
	int i;

	seq_puts(seq, "proto family spi daddr");
	for (i = 0; i < ESPAH_DROP_MAX; i++)
		seq_printf(seq, " %s", espah_drop_names[i]);
	seq_putc(seq, '\n');

	rhashtable_walk_enter(&espah_sa_table, &iter);
	rhashtable_walk_start(&iter);
	while ((s = rhashtable_walk_next(&iter))) {
		if (IS_ERR(s))
			continue;
		if (net_eq(read_pnet(&s->net), net))
			espah_show_sa(seq, s);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);

	seq_puts(seq, "total - - -");
	rcu_read_lock();
	total = READ_ONCE(en->total);
	if (total)
		espah_show_counts(seq, total);
	rcu_read_unlock();
	return 0;
}

static int __net_init espah_net_init(struct net *net)
{
	struct espah_net *en = net_generic(net, espah_net_id);
	struct espah_counters __percpu *total;

	total = alloc_percpu(struct espah_counters);
	if (!total)
		return -ENOMEM;
	if (!proc_create_net_single("espah", 0444, net->proc_net,
				    espah_proc_show, NULL)) {
		free_percpu(total);
		return -ENOMEM;
	}
	en->owned = total;
	WRITE_ONCE(en->total, total);
	return 0;
}

/* Packets of the namespace's SAs may still be in flight: wait for them. */
static void __net_exit espah_net_exit_batch(struct list_head *net_list)
{
	struct espah_net *en;
	struct net *net;

	list_for_each_entry(net, net_list, exit_list) {
		remove_proc_entry("espah", net->proc_net);
		en = net_generic(net, espah_net_id);
		WRITE_ONCE(en->total, NULL);
	}
	synchronize_rcu();
	list_for_each_entry(net, net_list, exit_list) {
		en = net_generic(net, espah_net_id);
		free_percpu(en->owned);
	}
}

static struct pernet_operations espah_net_ops = {
	.init	= espah_net_init,
	.exit_batch = espah_net_exit_batch,
	.id	= &espah_net_id,
	.size	= sizeof(struct espah_net),
};

int espah_stats_init(void)
{
	int err;

	err = rhashtable_init(&espah_sa_table, &espah_sa_params);
	if (err)
		return err;
	err = register_pernet_subsys(&espah_net_ops);
	if (err)
		rhashtable_destroy(&espah_sa_table);
	return err;
}

/* Every SA is gone by now: each held a reference on the module. */
void espah_stats_exit(void)
{
	unregister_pernet_subsys(&espah_net_ops);
	rcu_barrier();
	rhashtable_destroy(&espah_sa_table);
}
