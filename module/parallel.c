// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU crypto workers (parallel.h). Jobs go round-robin over the
 * online CPUs; a job whose turn falls on the CPU it comes from runs
 * inline. Each worker drains its list in the order jobs arrived. Jobs
 * deferred (espah_parallel_defer()) stay on their CPU, for a tasklet.
 */
#include <linux/bottom_half.h>
#include <linux/cpumask.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/workqueue.h>

#include "order.h"
#include "parallel.h"

unsigned int espah_parallel = 8;
module_param_named(parallel, espah_parallel, uint, 0644);
MODULE_PARM_DESC(parallel,
		 "CPUs that share one SA's crypto (0 or 1: off, each packet's crypto runs where it arrives; default 8)");

unsigned int espah_parallel_min_len = 1024;
module_param_named(parallel_min_len, espah_parallel_min_len, uint, 0644);
MODULE_PARM_DESC(parallel_min_len,
		 "packets shorter than this stay on their CPU (default 1024: small packets pay no hand-over latency)");

/*
 * A GSO packet's segments come back to the CPU that waits for the batch.
 * A single packet handed to another CPU is released there, and virtual
 * devices (veth, loopback) queue what each CPU sends on that CPU's
 * backlog: the receiver then sees packets of one flow out of order.
 */
bool espah_parallel_single;
module_param_named(parallel_single, espah_parallel_single, bool, 0644);
MODULE_PARM_DESC(parallel_single,
		 "hand single packets (not only GSO segments) to other CPUs too; on veth and loopback the receiver may then see them out of order (default 0)");

struct espah_worker {
	struct llist_head jobs;
	struct work_struct work;
};

/* Jobs deferred on their own CPU until bottom halves run again. */
struct espah_deferred {
	struct llist_head jobs;
	struct tasklet_struct tasklet;
};

static DEFINE_PER_CPU(struct espah_worker, espah_workers);
static DEFINE_PER_CPU(struct espah_deferred, espah_deferred);
static struct workqueue_struct *espah_wq;
static atomic_t espah_rotor = ATOMIC_INIT(0);

static void espah_worker_run(struct work_struct *work)
{
	struct espah_worker *w = container_of(work, struct espah_worker, work);
	struct llist_node *list = llist_reverse_order(llist_del_all(&w->jobs));
	struct espah_job *job, *next;

	llist_for_each_entry_safe(job, next, list, node) {
		local_bh_disable();
		job->run(job);
		job->put(job);
		local_bh_enable();
		cond_resched();
	}
}

static void espah_deferred_run(struct tasklet_struct *t)
{
	struct espah_deferred *d = from_tasklet(d, t, tasklet);
	struct llist_node *list = llist_reverse_order(llist_del_all(&d->jobs));
	struct espah_job *job, *next;

	llist_for_each_entry_safe(job, next, list, node) {
		job->run(job);
		job->put(job);
	}
}

/*
 * Runs @job on this CPU once bottom halves are enabled again, outside
 * whatever the caller is inside of. The transmit validation of a device
 * with a qdisc may hold the qdisc's busylock: a packet sent on from there
 * would take it again and deadlock, so what would release packets there
 * comes here instead. Called with bottom halves off.
 */
void espah_parallel_defer(struct espah_job *job)
{
	struct espah_deferred *d = this_cpu_ptr(&espah_deferred);

	job->get(job);
	llist_add(&job->node, &d->jobs);
	tasklet_schedule(&d->tasklet);
}

/*
 * Small packets stay inline, and so does everything once half of the
 * SA's in-flight allowance is used: handing over would only add to a
 * queue that is already long.
 */
bool espah_parallel_wanted(unsigned int len, unsigned int inflight)
{
	return READ_ONCE(espah_parallel) > 1 && num_online_cpus() > 1 &&
	       len >= READ_ONCE(espah_parallel_min_len) &&
	       inflight < READ_ONCE(espah_max_inflight) / 2;
}

static int espah_pick_cpu(void)
{
	unsigned int n = min_t(unsigned int, READ_ONCE(espah_parallel),
			       num_online_cpus());
	unsigned int i = (unsigned int)atomic_inc_return(&espah_rotor) % n;

	return cpumask_nth(i, cpu_online_mask);
}

/*
 * Hands @job to a worker; false when it is this CPU's turn (or no other
 * CPU is up): the caller runs it inline.
 */
bool espah_parallel_submit(struct espah_job *job)
{
	struct espah_worker *w;
	int cpu = espah_pick_cpu();

	if (cpu >= nr_cpu_ids || cpu == raw_smp_processor_id())
		return false;
	w = per_cpu_ptr(&espah_workers, cpu);
	job->get(job);
	llist_add(&job->node, &w->jobs);
	queue_work_on(cpu, espah_wq, &w->work);
	return true;
}

int espah_parallel_init(void)
{
	int cpu;

	espah_wq = alloc_workqueue("espah_crypt", WQ_HIGHPRI | WQ_MEM_RECLAIM,
				   0);
	if (!espah_wq)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct espah_worker *w = per_cpu_ptr(&espah_workers, cpu);
		struct espah_deferred *d;

		init_llist_head(&w->jobs);
		INIT_WORK(&w->work, espah_worker_run);
		d = per_cpu_ptr(&espah_deferred, cpu);
		init_llist_head(&d->jobs);
		tasklet_setup(&d->tasklet, espah_deferred_run);
	}
	return 0;
}

/* No SA is left, so no job is: flush anything still winding down. */
void espah_parallel_exit(void)
{
	int cpu;

	destroy_workqueue(espah_wq);
	for_each_possible_cpu(cpu)
		tasklet_kill(&per_cpu_ptr(&espah_deferred, cpu)->tasklet);
}
