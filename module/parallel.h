/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crypto work of one SA spread over several CPUs: a job handed to another
 * CPU's worker runs there with bottom halves off, as it would have in a
 * softirq here. Order is order.c's business: a job only starts the crypto.
 */
#ifndef _ESPAH_PARALLEL_H
#define _ESPAH_PARALLEL_H

#include <linux/llist.h>
#include <linux/types.h>

/*
 * A job handed to a worker holds a reference on whatever it belongs to:
 * the worker calls put() once it is done with the job (after run(), or
 * when run() found the job already taken care of), so that the job's
 * memory outlives its place on the worker's list.
 */
struct espah_job {
	struct llist_node node;
	void (*run)(struct espah_job *job);
	void (*get)(struct espah_job *job);
	void (*put)(struct espah_job *job);
};

extern unsigned int espah_parallel;
extern unsigned int espah_parallel_min_len;
extern bool espah_parallel_single;

int espah_parallel_init(void);
void espah_parallel_exit(void);
bool espah_parallel_wanted(unsigned int len, unsigned int inflight);
bool espah_parallel_submit(struct espah_job *job);
void espah_parallel_defer(struct espah_job *job);

#endif /* _ESPAH_PARALLEL_H */
