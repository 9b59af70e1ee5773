// SPDX-License-Identifier: GPL-2.0
/*
 * The per-SA, per-direction release queue (order.h).
 */
#include <linux/module.h>

#include "order.h"

/*
 * Bounds the packets of one SA and direction in flight: asynchronous
 * crypto queues without limit once it may backlog, so the bound is ours.
 */
unsigned int espah_max_inflight = 1024;
module_param_named(max_inflight, espah_max_inflight, uint, 0644);
MODULE_PARM_DESC(max_inflight,
		 "packets of one SA and direction in flight at most (default 1024); more are dropped and counted as rx/tx_overload");

void espah_order_init(struct espah_order *o)
{
	spin_lock_init(&o->lock);
	INIT_LIST_HEAD(&o->queue);
	o->len = 0;
	o->releasing = false;
	o->next_ticket = 1;
	o->last_released = 0;
	o->reordered = 0;
	o->max_seq = 0;
	o->arrived_late = 0;
}

bool espah_order_idle(struct espah_order *o)
{
	bool idle;

	spin_lock_bh(&o->lock);
	idle = list_empty(&o->queue);
	spin_unlock_bh(&o->lock);
	return idle;
}

/*
 * Joins @e to the tail of the queue before its crypto starts. False when
 * the SA has too many packets in flight: the caller drops the packet.
 */
bool espah_order_enter(struct espah_order *o, struct espah_order_entry *e,
		       espah_release_t release)
{
	bool ok;

	e->release = release;
	e->done = false;
	e->held = false;
	spin_lock_bh(&o->lock);
	ok = o->len < READ_ONCE(espah_max_inflight);
	if (ok) {
		list_add_tail(&e->node, &o->queue);
		o->len++;
		e->ticket = o->next_ticket++;
		if (e->seq < o->max_seq)
			o->arrived_late++;
		else
			o->max_seq = e->seq;
	}
	spin_unlock_bh(&o->lock);
	return ok;
}

/* Called under the lock for every packet that leaves the queue. */
static void espah_order_account(struct espah_order *o,
				const struct espah_order_entry *e)
{
	if (e->ticket < o->last_released)
		o->reordered++;
	else
		o->last_released = e->ticket;
}

static struct espah_order_entry *espah_order_pop_done(struct espah_order *o)
{
	struct espah_order_entry *e;

	e = list_first_entry_or_null(&o->queue, struct espah_order_entry,
				     node);
	if (!e || !e->done)
		return NULL;
	list_del(&e->node);
	o->len--;
	espah_order_account(o, e);
	return e;
}

/*
 * Releases done packets from the head, in order, until the head is not
 * done; called with the lock held and o->releasing set, returns with the
 * lock held. The callbacks run unlocked: they send packets on.
 */
static void espah_order_release_head(struct espah_order *o)
{
	struct espah_order_entry *e;

	while ((e = espah_order_pop_done(o))) {
		spin_unlock_bh(&o->lock);
		e->release(e);
		spin_lock_bh(&o->lock);
	}
}

/*
 * Alone, and nobody is still handing on a packet released before: @e
 * leaves the queue and the caller goes on with it. Called locked.
 */
static bool espah_order_leave_alone(struct espah_order *o,
				    struct espah_order_entry *e)
{
	if (!list_is_singular(&o->queue) || o->releasing)
		return false;
	list_del(&e->node);
	o->len--;
	espah_order_account(o, e);
	return true;
}

/*
 * @e's crypto completed inside the caller's call: true if @e could leave
 * the queue (see espah_order_done()); false leaves @e where it is, not
 * done, for the caller to call espah_order_done() later from where
 * releasing packets is safe.
 */
bool espah_order_try_leave(struct espah_order *o, struct espah_order_entry *e)
{
	bool left;

	spin_lock_bh(&o->lock);
	left = espah_order_leave_alone(o, e);
	spin_unlock_bh(&o->lock);
	return left;
}

/*
 * Marks @e's crypto done. With @caller_waits (the crypto completed inside
 * the caller's own call), @e alone in the queue and no release under way
 * (an earlier packet may still be on its way up or out), returns true: @e
 * has left the queue and the caller goes on with it. Otherwise @e's release
 * callback runs, now or once the packets before it are released, and
 * this returns false.
 */
bool espah_order_done(struct espah_order *o, struct espah_order_entry *e,
		      bool caller_waits)
{
	spin_lock_bh(&o->lock);
	if (caller_waits && espah_order_leave_alone(o, e)) {
		spin_unlock_bh(&o->lock);
		return true;
	}
	e->done = true;
	e->held = !list_is_first(&e->node, &o->queue);
	if (!o->releasing) {
		o->releasing = true;
		espah_order_release_head(o);
		o->releasing = false;
	}
	spin_unlock_bh(&o->lock);
	return false;
}
