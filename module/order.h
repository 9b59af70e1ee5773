/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packets of an SA leave espah in the order they entered it, whatever
 * mix of synchronous, asynchronous and parallel crypto handled them.
 *
 * Each direction of an SA has a queue of the packets in flight. A packet
 * joins it before its crypto starts; when its crypto is done it is marked
 * so, and whoever finds the head of the queue done releases it and every
 * done packet behind it, in order, while later completions just leave
 * their mark (one releaser at a time). A packet that completes
 * synchronously while alone in the queue skips all that: the caller goes
 * on with it as if there were no queue.
 */
#ifndef _ESPAH_ORDER_H
#define _ESPAH_ORDER_H

#include <linux/list.h>
#include <linux/spinlock.h>

enum espah_dir {
	ESPAH_TX,
	ESPAH_RX,
};

struct espah_order {
	/* guards the queue, the tickets and the counters */
	spinlock_t lock;
	struct list_head queue;
	unsigned int len;
	bool releasing;
	/* entry tickets: the order packets entered in */
	u64 next_ticket;
	u64 last_released;
	/* packets released before one that entered earlier: must stay 0 */
	u64 reordered;
	/*
	 * the highest sequence number that entered, and how many entered
	 * with a lower one (reordered before they reached espah)
	 */
	u64 max_seq;
	u64 arrived_late;
};

struct espah_order_entry;
typedef void (*espah_release_t)(struct espah_order_entry *e);

struct espah_order_entry {
	struct list_head node;
	espah_release_t release;
	/* the packet's 64-bit sequence number, set before it enters */
	u64 seq;
	u64 ticket;
	bool done;
	/* Released behind an earlier packet rather than when it was done. */
	bool held;
};

extern unsigned int espah_max_inflight;

void espah_order_init(struct espah_order *o);
bool espah_order_idle(struct espah_order *o);
bool espah_order_enter(struct espah_order *o, struct espah_order_entry *e,
		       espah_release_t release);
bool espah_order_try_leave(struct espah_order *o, struct espah_order_entry *e);
bool espah_order_done(struct espah_order *o, struct espah_order_entry *e,
		      bool caller_waits);

#endif /* _ESPAH_ORDER_H */
