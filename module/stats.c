// SPDX-License-Identifier: GPL-2.0
/*
 * Drop and path counters of each SA (kept in its record, sa.h) and of each
 * namespace, and the two /proc/net files that show them. A namespace's
 * totals include SAs already deleted.
 */
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
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
	[ESPAH_RX_OVERLOAD]	= "rx_overload",
	[ESPAH_RX_HW_OFFLOAD]	= "rx_hw_offload",
	[ESPAH_TX_TOO_BIG]	= "tx_too_big",
	[ESPAH_TX_NOMEM]	= "tx_no_memory",
	[ESPAH_TX_CRYPTO]	= "tx_crypto_error",
	[ESPAH_TX_HDR_MISMATCH]	= "tx_header_mismatch",
	[ESPAH_TX_OVERLOAD]	= "tx_overload",
	[ESPAH_TX_HW_OFFLOAD]	= "tx_hw_offload",
};

static const char * const espah_path_names[ESPAH_PATH_MAX] = {
	[ESPAH_TX_INPLACE]	= "tx_in_place",
	[ESPAH_TX_OUT_OF_PLACE]	= "tx_out_of_place",
	[ESPAH_TX_NULL]		= "tx_null",
	[ESPAH_TX_HEAD_COPY]	= "tx_head_copy",
	[ESPAH_TX_LATE]		= "tx_late",
	[ESPAH_TX_GSO_SEGMENTS]	= "tx_gso_segments",
	[ESPAH_TX_ASYNC]	= "tx_async",
	[ESPAH_TX_PARALLEL]	= "tx_parallel",
	[ESPAH_TX_HELD]		= "tx_held",
	[ESPAH_TX_REQUEUED]	= "tx_requeued",
	[ESPAH_RX_INPLACE]	= "rx_in_place",
	[ESPAH_RX_OUT_OF_PLACE]	= "rx_out_of_place",
	[ESPAH_RX_NULL]		= "rx_null",
	[ESPAH_RX_HEAD_COPY]	= "rx_head_copy",
	[ESPAH_RX_GRO]		= "rx_gro",
	[ESPAH_RX_ASYNC]	= "rx_async",
	[ESPAH_RX_PARALLEL]	= "rx_parallel",
	[ESPAH_RX_HELD]		= "rx_held",
	[ESPAH_REQ_ALLOC]	= "req_alloc",
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

static void espah_net_count(const struct espah_sa *sa, unsigned int idx)
{
	struct espah_net *en = net_generic(read_pnet(&sa->net), espah_net_id);
	struct espah_counters __percpu *total;

	rcu_read_lock();
	total = READ_ONCE(en->total);
	if (total)
		this_cpu_inc(*((u64 __percpu *)total + idx));
	rcu_read_unlock();
}

/*
 * Counters are addressed as one u64 array: drops first, then paths, as
 * struct espah_counters lays them out.
 */
static void espah_sa_count(const struct espah_sa *sa, unsigned int idx)
{
	this_cpu_inc(*((u64 __percpu *)sa->counters + idx));
	espah_net_count(sa, idx);
}

void espah_sa_count_drop(const struct espah_sa *sa, enum espah_drop why)
{
	espah_sa_count(sa, offsetof(struct espah_counters, drops[why]) /
			   sizeof(u64));
}

void espah_sa_count_path(const struct espah_sa *sa, enum espah_path path)
{
	espah_sa_count(sa, offsetof(struct espah_counters, paths[path]) /
			   sizeof(u64));
}

void espah_stats_count(const struct xfrm_state *x, enum espah_drop why)
{
	const struct espah_sa *sa = espah_sa_find(x);

	if (sa)
		espah_sa_count_drop(sa, why);
}

void espah_stats_path(const struct xfrm_state *x, enum espah_path path)
{
	const struct espah_sa *sa = espah_sa_find(x);

	if (sa)
		espah_sa_count_path(sa, path);
}

static u64 espah_sum_one(struct espah_counters __percpu *pc, unsigned int idx)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += *((u64 *)per_cpu_ptr(pc, cpu) + idx);
	return sum;
}

/*
 * One counter of @x, summed over the CPUs: what /proc shows for the SA.
 * Exported for the KUnit suites, which find them with symbol_get() so
 * that they also load without espah.
 */
u64 espah_drop_count(const struct xfrm_state *x, enum espah_drop why)
{
	const struct espah_sa *sa = espah_sa_find(x);

	return sa ? espah_sum_one(sa->counters, why) : 0;
}
EXPORT_SYMBOL_GPL(espah_drop_count);

u64 espah_path_count(const struct xfrm_state *x, enum espah_path path)
{
	const struct espah_sa *sa = espah_sa_find(x);

	return sa ? espah_sum_one(sa->counters, ESPAH_DROP_MAX + path) : 0;
}
EXPORT_SYMBOL_GPL(espah_path_count);

/* What one /proc file shows: a range of the counter array. */
struct espah_view {
	const char * const *names;
	unsigned int first, n;
};

static const struct espah_view espah_drop_view = {
	espah_drop_names, 0, ESPAH_DROP_MAX
};

static const struct espah_view espah_path_view = {
	espah_path_names, ESPAH_DROP_MAX, ESPAH_PATH_MAX
};

/* what the release queues know, appended to the paths file */
#define ESPAH_GAUGES	6

struct espah_show {
	struct seq_file *seq;
	const struct espah_view *view;
	struct net *net;
	/* the namespace's queue figures, summed for the total line */
	u64 gauges[ESPAH_GAUGES];
};

/*
 * The paths file ends with what the release queues (order.c) know, per
 * direction: the packets of the SA in flight now (a gauge: crypto running,
 * or done and waiting for an earlier packet); packets released before one
 * that entered espah earlier (espah's own reordering: always 0); packets
 * that entered with a lower sequence number than one before them
 * (reordered before espah saw them).
 */
static const char espah_gauge_names[] =
	" tx_queued rx_queued tx_reordered rx_reordered tx_arrived_late rx_arrived_late";

static void espah_show_gauges(struct espah_show *s, const u64 *g)
{
	unsigned int i;

	if (s->view == &espah_path_view)
		for (i = 0; i < ESPAH_GAUGES; i++)
			seq_printf(s->seq, " %llu", g[i]);
	seq_putc(s->seq, '\n');
}

static void espah_show_counts(struct espah_show *s,
			      struct espah_counters __percpu *pc)
{
	unsigned int i;

	for (i = 0; i < s->view->n; i++)
		seq_printf(s->seq, " %llu", espah_sum_one(pc, s->view->first + i));
}

static void espah_show_sa(const struct espah_sa *sa, void *arg)
{
	struct espah_show *s = arg;
	u64 g[ESPAH_GAUGES] = {
		READ_ONCE(sa->order[ESPAH_TX].len),
		READ_ONCE(sa->order[ESPAH_RX].len),
		READ_ONCE(sa->order[ESPAH_TX].reordered),
		READ_ONCE(sa->order[ESPAH_RX].reordered),
		READ_ONCE(sa->order[ESPAH_TX].arrived_late),
		READ_ONCE(sa->order[ESPAH_RX].arrived_late),
	};
	unsigned int i;

	if (!net_eq(read_pnet(&sa->net), s->net))
		return;
	seq_printf(s->seq, "%s %s 0x%08x ",
		   sa->proto == IPPROTO_ESP ? "esp" : "ah",
		   sa->family == AF_INET6 ? "ipv6" : "ipv4", ntohl(sa->spi));
	if (sa->family == AF_INET6)
		seq_printf(s->seq, "%pI6c", &sa->daddr.in6);
	else
		seq_printf(s->seq, "%pI4", &sa->daddr.a4);
	espah_show_counts(s, sa->counters);
	espah_show_gauges(s, g);
	for (i = 0; i < ARRAY_SIZE(g); i++)
		s->gauges[i] += g[i];
}

/*
 * One header line naming the columns, one line per SA of this namespace,
 * then a "total" line for the namespace (SAs already gone included).
 */
static int espah_proc_show(struct seq_file *seq, void *v)
{
	struct espah_show s = {
		.seq = seq, .view = pde_data(file_inode(seq->file)),
		.net = seq_file_single_net(seq),
	};
	struct espah_net *en = net_generic(s.net, espah_net_id);
	struct espah_counters __percpu *total;
	unsigned int i;

	seq_puts(seq, "proto family spi daddr");
	for (i = 0; i < s.view->n; i++)
		seq_printf(seq, " %s", s.view->names[i]);
	if (s.view == &espah_path_view)
		seq_puts(seq, espah_gauge_names);
	seq_putc(seq, '\n');

	espah_sa_walk(espah_show_sa, &s);

	seq_puts(seq, "total - - -");
	rcu_read_lock();
	total = READ_ONCE(en->total);
	if (total)
		espah_show_counts(&s, total);
	rcu_read_unlock();
	espah_show_gauges(&s, s.gauges);
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
				    espah_proc_show, (void *)&espah_drop_view))
		goto fail;
	if (!proc_create_net_single("espah_paths", 0444, net->proc_net,
				    espah_proc_show, (void *)&espah_path_view)) {
		remove_proc_entry("espah", net->proc_net);
		goto fail;
	}
	en->owned = total;
	WRITE_ONCE(en->total, total);
	return 0;
fail:
	free_percpu(total);
	return -ENOMEM;
}

/* Packets of the namespace's SAs may still be in flight: wait for them. */
static void __net_exit espah_net_exit_batch(struct list_head *net_list)
{
	struct espah_net *en;
	struct net *net;

	list_for_each_entry(net, net_list, exit_list) {
		remove_proc_entry("espah_paths", net->proc_net);
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
	return register_pernet_subsys(&espah_net_ops);
}

void espah_stats_exit(void)
{
	unregister_pernet_subsys(&espah_net_ops);
}
